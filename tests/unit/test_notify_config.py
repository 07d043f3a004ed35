"""The SMTP setting, what counts as an e-mail address, and what the e-mails say (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from retention.errors import ConfigError
from retention.notify import contacts, messages
from retention.notify.smtp import SmtpConfig
from retention.settings import Settings


def _settings(url: str | None, **more: object) -> Settings:
    return Settings(
        data_dir=Path("/nonexistent"), smtp_url=url, smtp_from="r@agency.example"
    ).with_overrides(**more)


def test_no_smtp_url_means_no_email() -> None:
    assert SmtpConfig.from_settings(_settings(None)) is None


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "user", "password"),
    [
        ("smtp://relay.local", "smtp", "relay.local", 25, None, None),
        ("smtp://127.0.0.1:2525", "smtp", "127.0.0.1", 2525, None, None),
        ("smtp+starttls://mail.example", "smtp+starttls", "mail.example", 587, None, None),
        ("smtps://u%40x:p%3Aw@mail.example", "smtps", "mail.example", 465, "u@x", "p:w"),
        ("SMTPS://mail.example:10465/", "smtps", "mail.example", 10465, None, None),
    ],
    ids=["plain-default-port", "plain-port", "starttls-587", "smtps-login-quoted", "upper-slash"],
)
def test_smtp_urls_are_parsed(
    url: str, scheme: str, host: str, port: int, user: str | None, password: str | None
) -> None:
    cfg = SmtpConfig.from_settings(_settings(url))
    assert cfg is not None
    assert (cfg.scheme, cfg.host, cfg.port, cfg.user, cfg.password) == (
        scheme,
        host,
        port,
        user,
        password,
    )


def test_separate_login_settings_win_over_the_url() -> None:
    cfg = SmtpConfig.from_settings(
        _settings("smtps://a:b@mail.example", smtp_user="mailer", smtp_password="long-secret")
    )
    assert cfg is not None
    assert (cfg.user, cfg.password) == ("mailer", "long-secret")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example", "scheme must be smtp, smtp.starttls or smtps"),
        ("smtp://", "no host"),
        ("smtp://mail.example:99999", "port must be a number"),
        ("smtp://mail.example:25/inbox?x=1", "only scheme, login, host and port"),
        ("smtp://user:pw@mail.example", "password in clear"),
        ("smtps://user@mail.example", "needs both a user and a password"),
    ],
)
def test_a_bad_smtp_url_is_refused_naming_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        SmtpConfig.from_settings(_settings(url))
    assert "pw" not in str(err.value).replace("password", "")


def test_the_sender_must_be_an_address() -> None:
    with pytest.raises(ConfigError, match="MUGSHOT_SMTP_FROM"):
        SmtpConfig.from_settings(_settings("smtp://relay", smtp_from="Records Unit"))


def test_passwords_never_show_in_a_repr() -> None:
    settings = _settings("smtps://u:hunter2-url@mail.example", smtp_password="hunter2-own")
    cfg = SmtpConfig.from_settings(settings)
    for shown in (repr(settings), repr(cfg)):
        assert "hunter2" not in shown


def test_settings_read_the_smtp_variables() -> None:
    settings = Settings.from_env(
        {
            "MUGSHOT_SMTP_URL": "smtp+starttls://mail.example:587",
            "MUGSHOT_SMTP_USER": "mailer",
            "MUGSHOT_SMTP_PASSWORD": "pw-123456",
            "MUGSHOT_SMTP_FROM": "Records <records@agency.example>",
            "MUGSHOT_SMTP_TIMEOUT_SECONDS": "12",
            "MUGSHOT_SMTP_CA_FILE": "/etc/ssl/agency-ca.pem",
            "MUGSHOT_PUBLIC_URL": "https://requests.agency.example",
            "MUGSHOT_NOTIFY_INTERVAL_SECONDS": "30",
        },
        data_dir="/nonexistent",
    )
    assert settings.smtp_url == "smtp+starttls://mail.example:587"
    assert (settings.smtp_user, settings.smtp_password) == ("mailer", "pw-123456")
    assert settings.smtp_from == "Records <records@agency.example>"
    assert (settings.smtp_timeout_seconds, settings.notify_interval_seconds) == (12, 30)
    assert settings.smtp_ca_file == Path("/etc/ssl/agency-ca.pem")
    assert settings.public_url == "https://requests.agency.example"
    assert Settings.from_env({}, data_dir="/nonexistent").smtp_url is None


@pytest.mark.parametrize(
    ("contact", "address"),
    [
        ("ana@example.org", "ana@example.org"),
        ("  ana.b+req@mail.example.co.uk ", "ana.b+req@mail.example.co.uk"),
        ("+44 20 7946 0000", None),
        ("1 High Street, Leeds", None),
        ("Ana <ana@example.org>", None),
        ("ana@example.org, boss@example.org", None),
        ("ana@example.org\r\nBcc: x@evil.example", None),
        ("ana@localhost", None),
        ("ana..b@example.org", None),
        ("ana@-example.org", None),
        ("anä@example.org", None),
        ("a" * 250 + "@example.org", None),
    ],
    ids=[
        "plain",
        "spaces-trimmed",
        "phone",
        "postal",
        "display-name",
        "two-addresses",
        "header-injection",
        "no-dot-domain",
        "double-dot",
        "hyphen-label",
        "non-ascii",
        "too-long",
    ],
)
def test_only_a_plain_single_email_address_is_emailed(contact: str, address: str | None) -> None:
    assert contacts.email_address(contact) == address


def test_sealed_contacts_open_only_for_their_own_request() -> None:
    from retention.errors import IntegrityError
    from retention.keys import crypto

    key = crypto.new_data_key()
    sealed = contacts.seal(key, "ana@example.org", request_id="a" * 32)
    assert sealed is not None
    assert b"ana@example.org" not in sealed
    assert contacts.open_sealed(key, sealed, request_id="a" * 32) == "ana@example.org"
    with pytest.raises(IntegrityError):
        contacts.open_sealed(key, sealed, request_id="b" * 32)
    assert contacts.seal(key, "+44 20 7946 0000", request_id="a" * 32) is None


@pytest.mark.parametrize("event", sorted(messages.EVENTS))
def test_every_message_says_what_changed_and_where_to_look(event: str) -> None:
    settings = _settings("smtp://relay", public_url="https://requests.agency.example/")
    text = messages.body(event, settings)
    assert messages.EVENTS[event].what_changed in text
    assert "https://requests.agency.example/status" in text
    assert "never put the reference" in text
    assert "{" not in text
    plain = messages.body(event, _settings("smtp://relay"))
    assert '"Check your request" page' in plain


def test_a_message_id_is_fixed_per_outbox_row() -> None:
    settings = _settings("smtp://relay", smtp_from="Records <records@agency.example>")
    first = messages.message_id("0" * 31 + "1", settings)
    assert first == messages.message_id("0" * 31 + "1", settings)
    assert first.endswith("@agency.example>")
    assert first != messages.message_id("0" * 31 + "2", settings)
