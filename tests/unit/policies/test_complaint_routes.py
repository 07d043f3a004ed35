"""Complaint and appeal routes: every jurisdiction's refusal names a way forward (GDPR Art 12(4),
DPA 2018 s.48, LED Art 16(4)), and a bad ``[[complaint]]`` table fails load naming the field."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from policies import PackError, bundled_pack, compile_pack, complaint_routes
from policies.registry import routes_of
from policies.vocabulary import Jurisdiction, RouteKind

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("jurisdiction", [j.value for j in Jurisdiction])
def test_every_jurisdiction_offers_its_own_review_and_a_court(jurisdiction: str) -> None:
    routes = complaint_routes(jurisdiction)
    names = [r.name for r in routes]
    assert names[0] == "Ask us to look again"
    assert any(r.kind is RouteKind.APPEAL and "court" in r.name.lower() for r in routes)
    assert all(r.how and r.basis for r in routes)
    assert all(r.url is None or r.url.startswith("https://") for r in routes)


def test_england_and_wales_refusal_names_the_ico_dpa_2018_s48_s165() -> None:
    ico = [r for r in complaint_routes("GB-ENG") if r.kind is RouteKind.COMPLAINT]
    assert [r.url for r in ico] == ["https://ico.org.uk/make-a-complaint/"]
    assert "s.165" in ico[0].basis


def test_eu_refusal_names_the_data_protection_authority_gdpr_art_12_4_and_77() -> None:
    (dpa,) = [r for r in complaint_routes("EU") if r.kind is RouteKind.COMPLAINT]
    assert "data protection authority" in dpa.name
    assert "Art 77" in dpa.basis
    assert "Art 52" in dpa.basis


def test_an_unknown_jurisdiction_gets_the_default_packs_generic_routes() -> None:
    assert complaint_routes("FR-XX") == bundled_pack("default").complaint_routes


def _minimal() -> dict[str, object]:
    return tomllib.loads((FIXTURES / "good_minimal.toml").read_text())


def test_a_pack_without_routes_borrows_the_default_routes() -> None:
    pack = compile_pack(_minimal(), "minimal.toml")
    assert pack.complaint_routes == ()
    assert routes_of(pack) == bundled_pack("default").complaint_routes


def test_a_bad_complaint_table_fails_naming_each_field() -> None:
    doc = _minimal()
    doc["complaint"] = [
        {"kind": "grumble", "name": "x", "how": "y", "basis": "z", "url": "http://plain"},
        {"kind": "appeal", "name": "", "colour": "red"},
    ]
    with pytest.raises(PackError) as caught:
        compile_pack(doc, "routes.toml")
    fields = {p.field for p in caught.value.problems}
    assert {
        "complaint[0].kind",
        "complaint[0].url",
        "complaint[1].name",
        "complaint[1].how",
        "complaint[1].basis",
        "complaint[1].colour",
    } <= fields
