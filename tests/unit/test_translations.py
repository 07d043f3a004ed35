"""The Spanish and Welsh catalogs of the public pages are complete and in sync: every string
marked in the sources (extracted as ``pybabel extract -F babel.cfg`` does) has a translation in
each ``.po``, with the same placeholders and markup, and each committed ``.mo`` is exactly what its
``.po`` compiles to (so a clean checkout serves the current translations)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "web" / "translations"
LANGUAGES = ("es", "cy")
# Placeholders and tags must come through a translation unchanged.
TOKENS = re.compile(r"%\(\w+\)s|<[^>]+>")


def _marked() -> set[str]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords={"_": None, "gettext": None, "_l": None, "lazy_gettext": None},
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def _po(lang: str) -> dict[str, str]:
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str)}


def test_the_sources_mark_the_public_words() -> None:
    marked = _marked()
    assert len(marked) > 150
    assert "Make a removal request" in marked  # a template
    assert "Enter your full name." in marked  # a form message in web/public.py
    assert "Paste the certificate" in marked  # web/verify.py


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_marked_string_has_a_translation(lang: str) -> None:
    translations = _po(lang)
    missing = sorted(_marked() - set(translations))
    assert not missing, f"{lang}: not in messages.po: {missing}"
    for source, translated in translations.items():
        assert translated.strip(), f"{lang}: {source!r} is not translated"
        assert sorted(TOKENS.findall(source)) == sorted(TOKENS.findall(translated)), (
            f"{lang}: placeholders or markup differ in {source!r}"
        )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_committed_mo_is_compiled_from_the_po(lang: str) -> None:
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as f:
        catalog = read_po(f)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    with (folder / "messages.mo").open("rb") as f:
        committed = read_mo(f)
    expected = read_mo(compiled)
    assert {m.id: m.string for m in committed if m.id} == {
        m.id: m.string for m in expected if m.id
    }, f"web/translations/{lang}: run pybabel compile -d web/translations (README: Languages)"
