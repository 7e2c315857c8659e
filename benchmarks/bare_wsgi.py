"""What `make bench` serves: the app, and under /bare/ a Flask app with one view
and nothing else (no session, no access rule, no template, no database), in the
same gunicorn workers. The floor page against it says what the app's own stack
costs every request: the server-side session, the access check, the layout, the
audit and security headers."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from wsgi import app as union_app

bare = Flask("bare")


@bare.get("/")
def up() -> str:
    return "The bare app is up."


app = DispatcherMiddleware(union_app, {"/bare": bare})
