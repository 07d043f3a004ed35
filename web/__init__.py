"""Web layer: the only package that knows HTTP.

``create_app(settings)`` builds the Flask app; ``gunicorn "web:create_app()"`` reads the
settings from the environment. Nothing is built at import time.
"""

from web.app import create_app

__all__ = ["create_app"]
