"""Entry point for gunicorn and the flask command: `app` is the configured app."""

from union import create_app

app = create_app()
