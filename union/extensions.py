"""Unbound extension instances; create_app binds them to an app."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
migrate = Migrate()
babel = Babel()
