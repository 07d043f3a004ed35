"""Web tests (Flask test client) and the helpers they share.

CSRF stays on in tests exactly as in production: a test that posts a form first fetches the
page that carries it and sends back the token it contains (``post_form``). Also shared: ``html``
(a response's text), ``audit_rows`` (the audit chain, oldest first) and ``walk_pages``
(follow a paginated list's "Next page" links to the end). Fixtures are in ``conftest.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from retention.db.models import AuditEntry
from retention.services import Services

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
# The "Next page" link of a paginated staff list.
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


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


def html(response: TestResponse) -> str:
    """The response body as text."""
    return str(response.get_data(as_text=True))


def audit_rows(services: Services) -> list[AuditEntry]:
    """Every audit entry, oldest first."""
    with services.readers() as db:
        return list(db.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())


def walk_pages(client: FlaskClient, url: str, row_id: re.Pattern[str]) -> list[str]:
    """Follow "Next page" links from ``url`` to the end; the ids ``row_id`` finds, in the order
    shown."""
    seen: list[str] = []
    pages = 0
    while url:
        page = client.get(url)
        assert page.status_code == 200, url
        text = html(page)
        seen += row_id.findall(text)
        found = NEXT.search(text)
        url = found.group(1).replace("&amp;", "&") if found else ""
        pages += 1
        assert pages < 50
    return seen
