"""Languages of the public pages: English, Spanish, Welsh (Flask-Babel); staff pages stay English.

Layer: ``web.i18n``, beside ``web.security`` and ``web.services``: the factory calls ``init_app``;
the public blueprints mark their words with ``gettext``/``lazy_gettext`` and the templates with
``{% trans %}``/``_()``.

The language of a public page is, in order: a ``lang`` value sent with the request (the language
switch: a ``?lang=`` link on pages reached by GET, a ``lang`` button posted with the form on pages
that are the answer to a POST), then the ``lang`` cookie that the switch sets, then the browser's
``Accept-Language``, then English. The choice depends on nothing but the request itself, so it
cannot tell anyone who is in the database, and the switch never carries the reference in a URL.
Every public response says ``Vary: Accept-Language, Cookie`` so that a cache never serves one
language for another.

Translations live in ``web/translations/<lang>/LC_MESSAGES/messages.po``; the compiled ``.mo``
files beside them are committed (a clean checkout installs and runs without a build step), and
a test fails when a ``.mo`` no longer matches its ``.po``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, request
from flask_babel import Babel

LANGUAGES: dict[str, str] = {"en": "English", "es": "Español", "cy": "Cymraeg"}
DEFAULT_LANGUAGE = "en"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# The blueprints whose pages are translated; everything else (staff pages, the transparency
# report, which is not translated yet) is English.
PUBLIC_BLUEPRINTS = frozenset({"public", "verify"})


def _is_public() -> bool:
    return request.blueprint in PUBLIC_BLUEPRINTS


def _chosen() -> str | None:
    """A language asked for by the switch on this request, if it is one we have: ``?lang=`` on
    a GET, or a ``lang`` field of a POST's form once the view has read it (never parsed here, so
    an over-size body stays the view's and the 413 handler's business)."""
    value = request.args.get(COOKIE, "") if request.method == "GET" else ""
    if request.method == "POST" and "form" in request.__dict__:
        value = request.form.get(COOKIE, "")
    return value if value in LANGUAGES else None


def select_language() -> str:
    """The language of this response (see the module docstring)."""
    if not _is_public():
        return DEFAULT_LANGUAGE
    chosen = _chosen()
    if chosen:
        return chosen
    cookie = request.cookies.get(COOKIE, "")
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LANGUAGE)


def _remember(response: Response) -> Response:
    """Keep the switch's choice in the ``lang`` cookie; say the page varies by language."""
    if not _is_public():
        return response
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    chosen = _chosen()
    if chosen and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE,
            chosen,
            max_age=COOKIE_MAX_AGE,
            path="/",
            secure=bool(current_app.config.get("MUGSHOT_COOKIE_SECURE")),
            httponly=True,
            samesite="Lax",
        )
    return response


def _context() -> dict[str, Any]:
    return {
        "current_language": select_language() if request else DEFAULT_LANGUAGE,
        "languages": LANGUAGES,
    }


def init_app(app: Flask) -> None:
    """Install Flask-Babel with the selector, the cookie and the template context."""
    # ``{% trans %}`` blocks collapse their whitespace, so a paragraph wrapped over several
    # template lines is one message.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    Babel(app, locale_selector=select_language)
    app.after_request(_remember)
    app.context_processor(_context)
