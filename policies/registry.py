"""The bundled rule packs and which one governs a record by default.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). Bundled packs are
read from ``policies/packs/*.toml`` (package data) and compiled once per process.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from policies.errors import UnknownPackError
from policies.loader import load_pack
from policies.pack import ComplaintRoute, Pack
from policies.vocabulary import Jurisdiction

PACKS_DIR = Path(__file__).resolve().parent / "packs"
DEFAULT_PACK_ID = "default"


def bundled_pack_paths() -> dict[str, Path]:
    """Bundled pack files by pack id (the file stem is the pack id)."""
    return {path.stem: path for path in sorted(PACKS_DIR.glob("*.toml"))}


@cache
def bundled_pack(pack_id: str) -> Pack:
    """The bundled pack ``pack_id``, loaded and validated once per process."""
    path = bundled_pack_paths().get(pack_id)
    if path is None:
        known = ", ".join(bundled_pack_paths())
        raise UnknownPackError(f"no bundled rule pack {pack_id!r} (bundled: {known})")
    return load_pack(path)


def bundled_packs() -> tuple[Pack, ...]:
    """Every bundled pack, in id order."""
    return tuple(bundled_pack(pack_id) for pack_id in bundled_pack_paths())


@cache
def _by_jurisdiction() -> dict[Jurisdiction, str]:
    table: dict[Jurisdiction, str] = {}
    for pack in bundled_packs():
        for jurisdiction in pack.jurisdictions:
            table.setdefault(jurisdiction, pack.id)
    return table


def pack_for_jurisdiction(jurisdiction: Jurisdiction | str) -> Pack:
    """The bundled pack that governs a record in ``jurisdiction`` by default; the conservative
    ``default`` pack (everything to review) where no pack names the jurisdiction."""
    try:
        key = Jurisdiction(jurisdiction)
    except ValueError:
        return bundled_pack(DEFAULT_PACK_ID)
    return bundled_pack(_by_jurisdiction().get(key, DEFAULT_PACK_ID))


def complaint_routes(jurisdiction: Jurisdiction | str) -> tuple[ComplaintRoute, ...]:
    """Where a person refused in ``jurisdiction`` can complain or appeal, in the order a refusal
    page shows them: the routes of the bundled pack that governs the jurisdiction, or the
    ``default`` pack's generic routes (the agency itself and the courts) where no pack names the
    jurisdiction or the pack lists none. Never empty: a refusal always has a way forward (GDPR
    Art 12(4); DPA 2018 s.48)."""
    return routes_of(pack_for_jurisdiction(jurisdiction))


def routes_of(pack: Pack) -> tuple[ComplaintRoute, ...]:
    """``pack``'s complaint and appeal routes, or the default pack's where it lists none (an
    enacted version written before packs carried routes)."""
    return pack.complaint_routes or bundled_pack(DEFAULT_PACK_ID).complaint_routes
