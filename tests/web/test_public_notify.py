"""The public form says whether the service sends e-mail (issue 13: "unset means no e-mail")."""

from __future__ import annotations

import dataclasses

from retention.services import Services
from tests.web.conftest import FakeClock
from web import create_app

SENDS = "If it is an e-mail address, we e-mail you when your request changes"
SILENT = "We do not send e-mails: check your request here with your reference."


def _form(services: Services, clock: FakeClock) -> str:
    app = create_app(services.settings, services=services, clock=clock, config={"TESTING": True})
    page = app.test_client().get("/request")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_without_a_mail_server_the_form_says_no_email_is_sent(
    services: Services, clock: FakeClock
) -> None:
    html = _form(services, clock)
    assert SILENT in html
    assert SENDS not in html


def test_with_a_mail_server_the_form_says_what_the_emails_hold(
    services: Services, clock: FakeClock
) -> None:
    mail = dataclasses.replace(
        services, settings=services.settings.with_overrides(smtp_url="smtp://127.0.0.1:2525")
    )
    html = _form(mail, clock)
    assert SENDS in html
    assert "never your reference, your name or our decision" in html
    assert SILENT not in html
