"""Web tests (Flask test client) and the helpers they share.

CSRF stays on in tests exactly as in production: a test that posts a form first fetches the
page that carries it and sends back the token it contains (``post_form``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str | bytes) -> str:
    """The CSRF token embedded in a rendered page (fails loudly if the page has none)."""
    text = html.decode() if isinstance(html, bytes) else html
    match = _TOKEN.search(text)
    assert match is not None, "page has no csrf_token field"
    return match.group(1)


def post_form(
    client: FlaskClient,
    form_url: str,
    data: Mapping[str, Any],
    *,
    action: str | None = None,
    **kwargs: Any,
) -> TestResponse:
    """GET ``form_url``, take its CSRF token, POST ``data`` to ``action`` (default: same URL)."""
    page = client.get(form_url)
    assert page.status_code == 200, f"GET {form_url} returned {page.status_code}"
    payload = {"csrf_token": csrf_token(page.data), **data}
    return client.post(action or form_url, data=payload, **kwargs)
