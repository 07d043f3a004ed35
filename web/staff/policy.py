"""Staff pages: rule packs — what is bundled and enacted, a dry run of the next sweep, and
enacting a new pack version with the difference shown first.

Layer: ``web.staff``. Enactment needs two different people, as on the command line: one uploads the
new pack (a clerk or a supervisor: they become ``enacted_by``), and a *different* signed-in
supervisor confirms it (``approved_by``); ``retention.engine.enact.enact`` refuses when they are the
same person. Between the two steps the uploaded source waits in
``<data dir>/pending-packs/<sha256>.toml`` (mode 0600, named by its own SHA-256, so the
supervisor confirms exactly the bytes whose difference was shown) with a small JSON note of who
uploaded it and the previewed difference. Both files are removed once the pack is enacted or
discarded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from policies import PolicyError, bundled_pack_paths, bundled_packs
from policies.loader import MAX_PACK_BYTES, parse_pack_source
from retention.db.models import EnactedPack, Role
from retention.engine import decisions
from retention.engine.enact import enact, preview
from retention.errors import RetentionError
from retention.files import replace_private
from retention.jobs.sweep import run_sweep
from web.auth import login_required, signed_in_user
from web.services import extension, get_services, now

bp = Blueprint("staff_policy", __name__, template_folder="templates", url_prefix="/staff/policy")

READERS = (Role.CLERK, Role.SUPERVISOR, Role.AUDITOR)
PENDING_DIR = "pending-packs"
DRY_RUN_SHOWN = 500  # planned actions listed on the page; the counts cover all of them
_SHA = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class PackRow:
    """One row of the packs table (bundled or enacted)."""

    pack_id: str
    version: str
    jurisdictions: list[str]
    sha256: str
    title: str = ""
    enacted_by: str | None = None
    approved_by: str | None = None
    enacted_at: dt.datetime | None = None


def _pending_dir() -> Path:
    return get_services().settings.data_dir / PENDING_DIR


def _pending_paths(sha: str) -> tuple[Path, Path]:
    if not _SHA.fullmatch(sha):
        abort(404)
    folder = _pending_dir()
    return folder / f"{sha}.toml", folder / f"{sha}.json"


def _pending(sha: str) -> dict[str, Any] | None:
    source, note = _pending_paths(sha)
    if not (source.is_file() and note.is_file()):
        return None
    data = json.loads(note.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _all_pending() -> list[dict[str, Any]]:
    folder = _pending_dir()
    if not folder.is_dir():
        return []
    found = [
        _pending(path.stem) for path in sorted(folder.glob("*.json")) if _SHA.fullmatch(path.stem)
    ]
    return [note for note in found if note is not None]


def _jurisdictions(source: str) -> list[str]:
    try:
        value = tomllib.loads(source).get("pack", {}).get("jurisdictions", [])
    except tomllib.TOMLDecodeError:
        return []
    return [str(j) for j in value] if isinstance(value, list) else []


def _packs() -> tuple[list[PackRow], list[PackRow]]:
    paths = bundled_pack_paths()
    bundled = [
        PackRow(
            pack_id=pack.id,
            version=pack.version,
            jurisdictions=[j.value for j in pack.jurisdictions],
            sha256=decisions.pack_digest(paths[pack.id].read_text(encoding="utf-8")),
            title=pack.title,
        )
        for pack in bundled_packs()
    ]
    with get_services().readers() as db:
        enacted = [
            PackRow(
                pack_id=row.pack_id,
                version=row.version,
                jurisdictions=_jurisdictions(row.source),
                sha256=row.sha256,
                enacted_by=row.enacted_by,
                approved_by=row.approved_by,
                enacted_at=row.enacted_at,
            )
            for row in db.execute(
                select(EnactedPack).order_by(EnactedPack.enacted_at.desc(), EnactedPack.id.desc())
            ).scalars()
        ]
    return bundled, enacted


def _page(code: int = 200, **extra: Any) -> ResponseReturnValue:
    user = signed_in_user()
    bundled, enacted = _packs()
    context: dict[str, Any] = {
        "bundled": bundled,
        "enacted": enacted,
        "pending": _all_pending(),
        "can_act": user.role in (Role.CLERK, Role.SUPERVISOR),
        "errors": {},
        "sweep": None,
        "shown": DRY_RUN_SHOWN,
    }
    context.update(extra)
    return render_template("staff/policy/index.html", **context), code


@bp.get("/")
@login_required(*READERS)
def index() -> ResponseReturnValue:
    """Bundled and enacted packs, pending uploads, and the dry-run and upload forms."""
    return _page()


@bp.post("/dry-run")
@login_required(Role.CLERK, Role.SUPERVISOR)
def dry_run() -> ResponseReturnValue:
    """Plan the sweep as of today without changing any record (only its job run is logged)."""
    user = signed_in_user()
    clock = extension().clock
    report = run_sweep(
        get_services(), today=clock().date(), clock=clock, actor=user.actor, dry_run=True
    )
    return _page(sweep=report)


@bp.post("/enact")
@login_required(Role.CLERK, Role.SUPERVISOR)
def upload() -> ResponseReturnValue:
    """Upload a new pack version: validate it, preview the difference, keep it for approval."""
    user = signed_in_user()
    file = request.files.get("pack")
    if file is None or not file.filename:
        return _page(400, errors={"pack": "Choose a rule-pack file (.toml) to upload."})
    data = file.stream.read(MAX_PACK_BYTES + 1)
    if len(data) > MAX_PACK_BYTES:
        return _page(400, errors={"pack": f"A rule pack can be at most {MAX_PACK_BYTES} bytes."})
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _page(400, errors={"pack": "The file is not UTF-8 text: upload a TOML rule pack."})
    shown_name = os.path.basename(file.filename)[:100]
    try:
        # Syntax, size and nesting are checked in memory first: a hostile document is refused
        # before anything is written (no file is left behind in pending-packs/).
        parse_pack_source(text, shown_name)
    except PolicyError as exc:
        return _page(400, errors={"pack": str(exc)})
    sha = hashlib.sha256(data).hexdigest()
    folder = _pending_dir()
    folder.mkdir(mode=0o700, exist_ok=True)
    source, note = _pending_paths(sha)
    existed = source.is_file() and note.is_file()  # the same bytes are already pending
    replace_private(source, data)
    kept = False
    try:
        result = preview(get_services(), source, today=now().date())
        details = {
            "sha256": sha,
            "pack_id": result.pack_id,
            "version": result.version,
            "jurisdictions": result.jurisdictions,
            "filename": shown_name,
            "uploaded_by": user.actor,
            "uploaded_at": now().isoformat(),
            "records": result.records,
            "changed": result.changed,
            "transitions": dict(sorted(result.transitions.items())),
        }
        replace_private(note, json.dumps(details, indent=2).encode())
        kept = True
    except (PolicyError, RetentionError) as exc:
        # The problems name the temporary file; show the name the user uploaded instead.
        message = str(exc).replace(str(source), shown_name)
        return _page(400, errors={"pack": message})
    finally:
        if not (kept or existed):  # refused, or failed in any other way: leave nothing behind
            source.unlink(missing_ok=True)
            note.unlink(missing_ok=True)
    return redirect(url_for(".pending", sha=sha))


@bp.get("/enact/<sha>")
@login_required(*READERS)
def pending(sha: str) -> ResponseReturnValue:
    """A pending pack version: the difference it makes, and (for supervisors) the approval."""
    note = _pending(sha)
    if note is None:
        abort(404)
    return render_template("staff/policy/pending.html", note=note, errors={})


@bp.post("/enact/<sha>/approve")
@login_required(Role.SUPERVISOR)
def approve(sha: str) -> ResponseReturnValue:
    """Enact the pending version: uploaded by one person, approved by this supervisor."""
    user = signed_in_user()
    note = _pending(sha)
    if note is None:
        abort(404)
    source, note_path = _pending_paths(sha)
    try:
        result = enact(
            get_services(),
            source,
            actor=str(note["uploaded_by"]),
            approved_by=user.actor,
            clock=extension().clock,
        )
    except (PolicyError, RetentionError) as exc:
        message = str(exc).replace(str(source), str(note.get("filename", "pack")))
        if note["uploaded_by"] == user.actor:
            message = (
                "You uploaded this pack, so you cannot also approve it: another supervisor "
                "must approve it."
            )
        return render_template(
            "staff/policy/pending.html", note=note, errors={"approve": message}
        ), 409
    source.unlink(missing_ok=True)
    note_path.unlink(missing_ok=True)
    flash(
        f"Enacted {result.pack_id} version {result.version}: {result.records} records "
        f"re-evaluated, {result.changed} changed their next action.",
        "success",
    )
    return redirect(url_for(".index"))


@bp.post("/enact/<sha>/discard")
@login_required(Role.CLERK, Role.SUPERVISOR)
def discard(sha: str) -> ResponseReturnValue:
    """Throw away a pending upload without enacting it."""
    source, note = _pending_paths(sha)
    if not note.is_file():
        abort(404)
    source.unlink(missing_ok=True)
    note.unlink(missing_ok=True)
    flash("The pending pack version was discarded.", "info")
    return redirect(url_for(".index"))
