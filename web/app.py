"""The application factory: ``create_app(settings)`` builds one Flask app and everything it needs.

Layer: ``web.app``, the top of ``web`` (the only package that knows HTTP) below ``web.cli``: it
imports every blueprint and registers it; no blueprint imports it (they read the app's services
and clock from ``web.services`` through ``current_app``), and only ``web/__init__.py`` re-exports
``create_app``. Nothing is created at import time: no app, engine, limiter or CSRF object lives
at module level, so ``gunicorn "web:create_app()"`` builds one app per worker, tests build one
per test, and ``mugshot serve`` passes its own settings.

Web-only settings (not in ``retention.settings`` because the core never needs them) are read from
the environment here, once, in ``web_config_from_env``:

- ``MUGSHOT_RATELIMIT_STORAGE`` — Flask-Limiter storage URI (default ``memory://``: per process;
  use ``redis://...`` or ``memcached://...`` when several workers must share the counts);
- ``MUGSHOT_COOKIE_SECURE`` — set (``1``/``true``) when served over HTTPS: the session cookie
  gets ``Secure`` and the ``__Host-`` prefix, and responses carry HSTS;
- ``MUGSHOT_SESSION_IDLE_MINUTES`` — idle timeout of a staff session (default 15);
- ``MUGSHOT_PUBLIC_RATE_LIMIT`` — the per-address limit of the public pages (default
  ``20 per minute`` for submissions, ``30 per minute`` for status look-ups), e.g. for a load test;
- ``MUGSHOT_PUBLIC_OPERATOR`` — who runs the public site (the agency's name), named in the "who
  we are and how we use what you send" notice; ``MUGSHOT_PUBLIC_NOTICE`` replaces that notice's
  text entirely.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask

from retention.accounts.users import DEFAULT_LOCKOUT
from retention.errors import ConfigError
from retention.services import Services, open_services
from retention.settings import Settings
from web import api, auth, i18n, metrics, public, security, transparency, verify
from web.services import Clock, MugshotExtension, utcnow
from web.staff import audit, dashboard, holds, policy, records, requests, reviews, users

SESSION_KEY_INFO = b"mugshot flask session"
# Form fields plus one image or evidence file (uploads are validated again by the core).
FORM_OVERHEAD_BYTES = 1024 * 1024

DEFAULT_CONFIG: Mapping[str, Any] = {
    # Endpoint a successful sign-in lands on (the dashboard replaces this when it exists).
    "MUGSHOT_STAFF_HOME": "staff_dashboard.index",
    "MUGSHOT_SESSION_IDLE": dt.timedelta(minutes=15),
    # A session ends after this long however active it is.
    "MUGSHOT_SESSION_MAX_AGE": dt.timedelta(hours=12),
    # Between the password and the code.
    "MUGSHOT_LOGIN_PENDING": dt.timedelta(minutes=5),
    "MUGSHOT_LOCKOUT": DEFAULT_LOCKOUT,
    # Named limits for views marked with ``web.security.rate_limited(name)``.
    "MUGSHOT_RATE_LIMITS": {
        "login": "10 per minute",
        "totp": "10 per minute",
        # Public pages, per address: generous enough for a shared library computer, tight
        # enough to stop scripted guessing of references.
        "public_submit": "20 per minute",
        "public_status": "30 per minute",
    },
    "RATELIMIT_STORAGE_URI": "memory://",
    "MUGSHOT_COOKIE_SECURE": False,
    "MUGSHOT_PUBLIC_OPERATOR": "",
    "MUGSHOT_PUBLIC_NOTICE": "",
}


def _flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in {"1", "true", "yes", "on"}


def web_config_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The web settings from ``MUGSHOT_*`` environment variables (see the module docstring)."""
    env = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    storage = env.get("MUGSHOT_RATELIMIT_STORAGE", "").strip()
    if storage:
        config["RATELIMIT_STORAGE_URI"] = storage
    if "MUGSHOT_COOKIE_SECURE" in env:
        config["MUGSHOT_COOKIE_SECURE"] = _flag(env["MUGSHOT_COOKIE_SECURE"])
    public_limit = env.get("MUGSHOT_PUBLIC_RATE_LIMIT", "").strip()
    if public_limit:
        limits = dict(DEFAULT_CONFIG["MUGSHOT_RATE_LIMITS"])
        limits.update(public_submit=public_limit, public_status=public_limit)
        config["MUGSHOT_RATE_LIMITS"] = limits
    for name in ("MUGSHOT_PUBLIC_OPERATOR", "MUGSHOT_PUBLIC_NOTICE"):
        if env.get(name, "").strip():
            config[name] = env[name].strip()
    idle = env.get("MUGSHOT_SESSION_IDLE_MINUTES", "").strip()
    if idle:
        if not idle.isdigit() or int(idle) <= 0:
            raise ConfigError(f"MUGSHOT_SESSION_IDLE_MINUTES must be a whole number, got {idle!r}")
        config["MUGSHOT_SESSION_IDLE"] = dt.timedelta(minutes=int(idle))
    return config


def derive_secret_key(session_key: bytes) -> bytes:
    """Flask's cookie-signing key: the keyring's session key, domain-separated by HKDF."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SESSION_KEY_INFO).derive(
        session_key
    )


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    clock: Clock | None = None,
    config: Mapping[str, Any] | None = None,
) -> Flask:
    """Build the web app.

    ``settings`` defaults to ``Settings.from_env()``; ``services`` (engine, sessions, store,
    keyring) are opened from the settings unless passed in (tests pass theirs); ``clock``
    defaults to the system's UTC clock; ``config`` overrides Flask config last (tests use it,
    e.g. ``{"TESTING": True}``).
    """
    if settings is None:
        settings = services.settings if services is not None else Settings.from_env()
    if services is None:
        services = open_services(settings)

    app = Flask("web")
    app.request_class = public.UploadRequest
    app.config.update(DEFAULT_CONFIG)
    app.config.update(web_config_from_env())
    app.config["SECRET_KEY"] = derive_secret_key(services.keyring.session_key)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_image_bytes + FORM_OVERHEAD_BYTES
    app.config["MUGSHOT_EMAIL_NOTIFICATIONS"] = bool(services.settings.smtp_url)
    if config:
        app.config.update(config)
    app.extensions["mugshot"] = MugshotExtension(services=services, clock=clock or utcnow)

    security.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(transparency.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(verify.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(api.bp)
    # The staff blueprints, in the order of the navigation.
    for feature in (dashboard, requests, reviews, records, holds, audit, policy, users):
        app.register_blueprint(feature.bp)
    security.csrf_exempt(app, api.bp)
    # Other feature blueprints register here, before the rate limits are bound to views.
    security.apply_rate_limits(app)
    return app
