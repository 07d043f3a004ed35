"""Cross-cutting protection for every response: CSRF, rate limits, headers, cookies, errors.

Layer: ``web.security``. ``init_app(app)`` wires it all into one app; nothing here exists before a
``create_app`` call. Other blueprints need only two things from this module:

- forms include ``<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">`` — every
  POST/PUT/PATCH/DELETE without a valid token is refused with 400. A token-authenticated API
  blueprint is exempted in ``create_app`` with ``csrf_exempt(app, api.bp)`` (the blueprint
  object: Flask-WTF reads a string as a view's dotted path, not a blueprint name);
- ``@rate_limited("name", default="10 per minute")`` on a view applies
  ``app.config["MUGSHOT_RATE_LIMITS"]["name"]`` (else ``default``) per client address, to POSTs
  only unless ``methods`` says otherwise, once ``apply_rate_limits`` runs at the end of
  ``create_app``. The bucket is per view.

The Content-Security-Policy forbids inline script and style: templates use classes from
``static/style.css`` and never a ``style=`` attribute, ``<style>`` or ``<script>`` block. Images
come from this site only; a view that embeds a decrypted photo as a ``data:`` URI sets
``INLINE_IMAGES_CONTENT_SECURITY_POLICY`` on that one response (headers a view sets win).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Blueprint, Flask, Response, current_app, g, render_template, request
from flask.typing import RouteCallable
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from retention.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])

_CSP_REST = "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
CONTENT_SECURITY_POLICY = (
    f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; {_CSP_REST}"
)
# Only for a response that embeds a photo it decrypted for a stated reason, as a ``data:`` URI
# (``web.staff.photos``): no other page has a reason to show an image that is not a file here.
INLINE_IMAGES_CONTENT_SECURITY_POLICY = (
    f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; {_CSP_REST}"
)
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), "
    "gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"

_RATE_LIMIT_MARK = "_mugshot_rate_limit"

# Plain wording for each error page: no exception text, ids or personal data ever reach it.
# Marked for translation: a public page's errors follow its language (web.i18n); staff pages'
# are English.
ERROR_PAGES: dict[int, tuple[Any, Any]] = {
    400: (
        _l("Request not accepted"),
        _l(
            "The form could not be accepted. It may have expired: go back, reload the page and "
            "try again."
        ),
    ),
    403: (_l("Not allowed"), _l("Your account's role does not allow this page or action.")),
    404: (_l("Page not found"), _l("There is no page at this address.")),
    405: (_l("Not allowed"), _l("This page does not accept that kind of request.")),
    413: (
        _l("Upload too large"),
        _l("The file or form sent was larger than this service accepts."),
    ),
    429: (
        _l("Too many attempts"),
        _l(
            "Too many requests came from your address in a short time. Wait a minute and try again."
        ),
    ),
    500: (
        _l("Something went wrong"),
        _l(
            "The service could not complete this request. Nothing was changed by the failed "
            "step. Try again; if it keeps happening, tell the system administrator the time."
        ),
    ),
}


def rate_limited(
    name: str, *, default: str | None = None, methods: tuple[str, ...] = ("POST",)
) -> Callable[[F], F]:
    """Mark a view for the named rate limit (bound per app by ``apply_rate_limits``)."""

    def mark(view: F) -> F:
        setattr(view, _RATE_LIMIT_MARK, (name, default, methods))
        return view

    return mark


def csrf_exempt(app: Flask, blueprint: Blueprint) -> None:
    """Exempt a token-authenticated blueprint (the booking-system API) from CSRF checks."""
    csrf = app.extensions["csrf"]
    assert isinstance(csrf, CSRFProtect)
    csrf.exempt(blueprint)


def init_app(app: Flask) -> None:
    """CSRF protection, the rate limiter, cookie settings, headers and error pages."""
    secure = bool(app.config["MUGSHOT_COOKIE_SECURE"])
    app.config.update(
        SESSION_COOKIE_NAME="__Host-mugshot_session" if secure else "mugshot_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_PATH="/",
        # Never off in production: tests post real tokens taken from the rendered forms.
        WTF_CSRF_SSL_STRICT=secure,
    )
    CSRFProtect(app)  # stores itself in app.extensions["csrf"]
    # Per app, never module level: each app (and each test) gets its own counters.
    Limiter(
        get_remote_address,
        app=app,
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        strategy="fixed-window",
        key_prefix="mugshot",
    )
    app.after_request(_security_headers)
    for code in ERROR_PAGES:
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, _error_page)


def limiter(app: Flask) -> Limiter:
    """The app's Flask-Limiter instance."""
    found = app.extensions["limiter"]
    # Flask-Limiter keeps a set of instances per app; we register exactly one.
    instance = next(iter(found)) if isinstance(found, set) else found
    assert isinstance(instance, Limiter)
    return instance


def apply_rate_limits(app: Flask) -> None:
    """Bind every ``@rate_limited`` view to its configured limit (call after all blueprints)."""
    limits: dict[str, str] = app.config["MUGSHOT_RATE_LIMITS"]
    ext = limiter(app)
    for endpoint, view in list(app.view_functions.items()):
        mark = getattr(view, _RATE_LIMIT_MARK, None)
        if mark is None:
            continue
        name, default, methods = mark
        value = limits.get(name, default)
        if value is None:
            raise ConfigError(
                f"view {endpoint} is rate limited as {name!r}, but MUGSHOT_RATE_LIMITS has no "
                "such entry and the view gives no default"
            )
        bound = ext.limit(value, methods=list(methods))(view)
        app.view_functions[endpoint] = cast(RouteCallable, bound)


def _security_headers(response: Response) -> Response:
    for header, value in SECURITY_HEADERS.items():
        response.headers.setdefault(header, value)
    if request.endpoint != "static":
        # Staff pages show case data; public pages show request status. Neither may be cached.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    if current_app.config["MUGSHOT_COOKIE_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _error_page(error: Exception) -> tuple[str, int]:
    code = error.code if isinstance(error, HTTPException) and error.code else 500
    title, message = ERROR_PAGES.get(code, ERROR_PAGES[500])
    if code >= 500:
        # The failure may be the database itself: render without looking up the signed-in user.
        g.setdefault("staff_user", None)
    return render_template("errors/error.html", code=code, title=title, message=message), code
