"""Public pages in English, Spanish and Welsh: the browser's Accept-Language by default, a switch
that remembers the choice in a ``lang`` cookie (posting the reference back, never in a URL, on
pages that answer a POST), English for anything else and for every staff page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from retention.engine.authority import Person
from retention.requests import approval, filing, workflow
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.integration.engine_helpers import ingest, review_due
from tests.web import csrf_token, post_form
from tests.web.conftest import SignedIn
from tests.web.test_public import REF, file

HTML_LANG = re.compile(r'<html lang="([a-z]{2})">')

# A phrase of each public page in each language: (path, en, es, cy).
PAGES = [
    (
        "/",
        "Ask for your booking photo to be removed",
        "Pida que se elimine su foto de fichaje policial",
        "Gofyn i’ch llun dalfa gael ei ddileu",  # noqa: RUF001 (Welsh apostrophe)
    ),
    (
        "/request",
        "Make a removal request",
        "Hacer una solicitud de eliminación",
        "Gwneud cais i ddileu",
    ),
    ("/status", "Check your request", "Consultar su solicitud", "Gwirio eich cais"),
    (
        "/verify",
        "Check a deletion certificate",
        "Comprobar un certificado de eliminación",
        "Gwirio tystysgrif dileu",
    ),
]
LANGS = {"en": 1, "es": 2, "cy": 3}


def _lang(html: str) -> str:
    match = HTML_LANG.search(html)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize("lang", ["en", "es", "cy"])
@pytest.mark.parametrize("page", PAGES, ids=[p[0] for p in PAGES])
def test_every_public_page_speaks_the_browser_language(
    client: FlaskClient, page: tuple[str, str, str, str], lang: str
) -> None:
    response = client.get(page[0], headers={"Accept-Language": lang})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _lang(html) == lang
    assert page[LANGS[lang]] in html
    for other, column in LANGS.items():
        if other != lang:
            assert page[column] not in html
    # The switch names each language in itself, and links only to this page.
    for code, name in (("en", "English"), ("es", "Español"), ("cy", "Cymraeg")):
        assert f'lang="{code}">{name}<' in html
    assert {"Accept-Language", "Cookie"} <= set(response.vary)
    assert "Set-Cookie" not in response.headers or "lang=" not in response.headers["Set-Cookie"]


def test_form_labels_hints_and_errors_are_translated(client: FlaskClient) -> None:
    page = client.get("/request", headers={"Accept-Language": "es"})
    html = page.get_data(as_text=True)
    assert "Su nombre completo, tal como era en el momento del arresto" in html
    assert "Año, mes y día, por ejemplo 1990-03-27." in html
    assert "Inglaterra y Gales" in html
    assert "Me declararon no culpable" in html
    empty = client.post(
        "/request",
        data={"csrf_token": csrf_token(page.data), "name": "", "contact": ""},
        headers={"Accept-Language": "cy"},
    )
    assert empty.status_code == 400
    text = empty.get_data(as_text=True)
    assert _lang(text) == "cy"
    assert "<title>Gwall: Gwneud cais i ddileu" in text
    assert "Mae problem" in text
    assert "Rhowch eich enw llawn." in text
    assert "Dewiswch o leiaf un rheswm." in text
    assert "Enter your full name." not in text


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("cy-GB,cy;q=0.9,en-GB;q=0.8", "cy"),
        ("es-MX,es;q=0.9", "es"),
        ("es-US", "es"),
        ("en-US,en;q=0.9,es;q=0.8", "en"),
        ("fr-FR,de;q=0.8", "en"),  # none we have: English
        ("en;q=0.5,cy;q=0.9", "cy"),  # quality, not order, decides
        ("", "en"),
    ],
)
def test_accept_language_picks_the_best_language_we_have(
    client: FlaskClient, header: str, expected: str
) -> None:
    html = client.get("/", headers={"Accept-Language": header}).get_data(as_text=True)
    assert _lang(html) == expected


def test_the_switch_sets_a_cookie_that_beats_the_browser(client: FlaskClient) -> None:
    switched = client.get("/request?lang=cy", headers={"Accept-Language": "es"})
    assert _lang(switched.get_data(as_text=True)) == "cy"
    cookie = switched.headers["Set-Cookie"]
    assert cookie.startswith("lang=cy;")
    attributes = {p.strip().split("=")[0].lower() for p in cookie.split(";")[1:]}
    assert {"httponly", "path", "max-age", "samesite"} <= attributes
    assert "SameSite=Lax" in cookie
    # Later pages, with the browser still saying Spanish: Welsh, no new cookie.
    later = client.get("/status", headers={"Accept-Language": "es"})
    assert _lang(later.get_data(as_text=True)) == "cy"
    assert "Set-Cookie" not in later.headers
    # Back to English with the switch; a language we do not have changes nothing.
    back = client.get("/?lang=en", headers={"Accept-Language": "cy"})
    assert _lang(back.get_data(as_text=True)) == "en"
    assert back.headers["Set-Cookie"].startswith("lang=en;")
    odd = client.get("/?lang=fr", headers={"Accept-Language": "cy"})
    assert _lang(odd.get_data(as_text=True)) == "en"
    assert "Set-Cookie" not in odd.headers


def test_a_forged_cookie_value_falls_back_to_the_browser(client: FlaskClient) -> None:
    client.set_cookie("lang", "<script>")
    html = client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert _lang(html) == "es"
    assert "<script>" not in html.split("</head>")[0]


def test_the_receipt_switch_posts_the_reference_back_and_keeps_it_out_of_urls(
    client: FlaskClient, services: Services
) -> None:
    status, page = file(client, jurisdiction="US-CA", grounds=["acquitted", "under_18"])
    assert status == 200
    reference = REF.search(page).group(1)  # type: ignore[union-attr]
    # The switch on the receipt is a form: the reference is in its body, in no link or action.
    for url in re.findall(r'(?:href|action)="([^"]*)"', page):
        assert reference not in url
        assert reference.lower() not in url.lower()
    assert 'action="/request/receipt/page"' in page
    assert 'name="lang" value="es"' in page
    spanish = client.post(
        "/request/receipt/page",
        data={"csrf_token": csrf_token(page), "reference": reference, "lang": "es"},
    )
    assert spanish.status_code == 200
    text = spanish.get_data(as_text=True)
    assert _lang(text) == "es"
    assert REF.search(text).group(1) == reference  # type: ignore[union-attr]
    assert "Recibimos su solicitud" in text
    assert "Me declararon no culpable" in text
    assert "Tenía menos de 18 años cuando me tomaron la foto" in text
    assert "Nuestra meta es responder a más tardar el" in text  # California: a service target
    assert spanish.headers["Cache-Control"] == "no-store"
    assert spanish.headers["Set-Cookie"].startswith("lang=es;")
    # The downloadable receipt follows the cookie.
    receipt = client.post(
        "/request/receipt", data={"csrf_token": csrf_token(text), "reference": reference}
    )
    body = receipt.get_data(as_text=True)
    assert body.startswith("Solicitud de eliminación — comprobante")
    assert f"Su referencia privada: {reference}" in body
    # A reference that does not exist: the same 404 as the receipt download.
    missing = client.post(
        "/request/receipt/page",
        data={"csrf_token": csrf_token(text), "reference": "AAAAA-BBBBB-CCCCC-DDDDD"},
    )
    assert missing.status_code == 404


def test_status_and_certificate_pages_in_welsh(
    tmp_path: Path, client: FlaskClient, services: Services
) -> None:
    ids = ingest(services, tmp_path, [review_due("GB-7")])
    _, page = file(client, booking_number="GB-7")
    reference = REF.search(page).group(1)  # type: ignore[union-attr]
    with services.sessions() as db, db.begin():
        req = filing.by_reference(db, reference)
        assert req is not None
        workflow.match(db, services.keyring, req.id, ids["GB-7"], actor="clerk:ann", now=FIXED_NOW)
        approval.approve(
            db, services.keyring, req.id, actor="clerk:ann", reasons="Deleted.", now=FIXED_NOW
        )
        approval.confirm(
            db,
            services.keyring,
            req.id,
            supervisor=Person("supervisor:bo", "supervisor"),
            reason="Acquittal checked",
            now=FIXED_NOW,
        )
    shown = post_form(client, "/status", {"reference": reference, "lang": "cy"})
    text = shown.get_data(as_text=True)
    assert _lang(text) == "cy"
    assert "<h1>Eich cais</h1>" in text
    assert 'data-state="completed">Wedi’i gwblhau<' in text  # noqa: RUF001
    assert "Tystysgrifau dileu" in text
    # The status page's switch posts the reference to /status.
    assert 'action="/status"' in text
    assert 'name="lang" value="en"' in text
    for url in re.findall(r'(?:href|action)="([^"]*)"', text):
        assert reference not in url
    cert_id = re.search(r'name="certificate" value="(\w+)"', text).group(1)  # type: ignore[union-attr]
    cert_page = client.post(
        "/status/certificate/page",
        data={"csrf_token": csrf_token(text), "reference": reference, "certificate": cert_id},
    )
    words = cert_page.get_data(as_text=True)
    assert _lang(words) == "cy"
    assert "Cyhoeddwyd y dystysgrif hon ar gyfer eich cais." in words
    assert "Beth a ddinistriwyd" in words
    assert "1 ffotograff" in words
    assert "Cymeradwywyd cais i ddileu, a chadarnhaodd ail berson hynny." in words
    # The certificate file itself is the signed JSON, in no language.
    download = client.post(
        "/status/certificate",
        data={"csrf_token": csrf_token(text), "reference": reference, "certificate": cert_id},
    )
    doc = json.loads(download.data)
    # /verify in Spanish says it is valid and issued for this request.
    form = client.get("/verify?lang=es")
    checked = client.post(
        "/verify",
        data={
            "csrf_token": csrf_token(form.data),
            "pasted": json.dumps(doc),
            "reference": reference,
        },
    )
    verdict = checked.get_data(as_text=True)
    assert _lang(verdict) == "es"
    assert "Este certificado es válido" in verdict
    assert "Se emitió para su solicitud." in verdict
    digest = doc["certificate"]["requester_reference_sha256"]
    doc["certificate"]["requester_reference_sha256"] = digest[:-1] + (
        "0" if digest[-1] != "0" else "1"
    )
    bad = client.post(
        "/verify", data={"csrf_token": csrf_token(form.data), "pasted": json.dumps(doc)}
    ).get_data(as_text=True)
    assert 'data-valid="false"' in bad
    assert "Este certificado no es válido" in bad
    assert "<title>No válido: Comprobar un certificado de eliminación" in bad


def test_staff_pages_stay_english(app: Flask, signed_in: SignedIn) -> None:
    anonymous = app.test_client()
    anonymous.set_cookie("lang", "cy")
    login = anonymous.get("/staff/login", headers={"Accept-Language": "cy"})
    html = login.get_data(as_text=True)
    assert _lang(html) == "en"
    assert "Skip to main content" in html
    assert "Cymraeg" not in html  # no switch on staff pages
    clerk = signed_in("clerk")
    clerk.set_cookie("lang", "es")
    dashboard = clerk.get("/staff/", headers={"Accept-Language": "es"}, follow_redirects=True)
    text = dashboard.get_data(as_text=True)
    assert _lang(text) == "en"
    assert "Saltar al contenido principal" not in text
    # A staff page also never gets the public pages' language cookie.
    assert "lang=" not in (clerk.get("/staff/?lang=cy").headers.get("Set-Cookie") or "")


def test_a_public_error_page_follows_the_language(app: Flask, client: FlaskClient) -> None:
    form = client.get("/request")
    missing = client.post(
        "/request/receipt/page",
        data={"csrf_token": csrf_token(form.data), "reference": "AAAAA-BBBBB-CCCCC-DDDDD"},
        headers={"Accept-Language": "cy"},
    )
    assert missing.status_code == 404
    html = missing.get_data(as_text=True)
    assert _lang(html) == "cy"
    assert "Heb ddod o hyd i’r dudalen" in html  # noqa: RUF001 (Welsh apostrophe)
    assert "Yn ôl i’r ffurflen gais" in html  # noqa: RUF001
    assert "Gwall 404" in html
    expired = client.post("/status", data={"reference": "x"}, headers={"Accept-Language": "es"})
    assert expired.status_code == 400
    assert "No se aceptó la solicitud" in expired.get_data(as_text=True)
    # A staff path's error stays English.
    staff = app.test_client().get("/staff/nowhere", headers={"Accept-Language": "es"})
    assert staff.status_code == 404
    assert _lang(staff.get_data(as_text=True)) == "en"
    assert "Page not found" in staff.get_data(as_text=True)
