"""The public ``/verify`` page: anyone checks a deletion certificate without our software.

Layer: ``web.verify``. Upload or paste a certificate (the JSON file from the status page); the
server checks its Ed25519 signature against this service's own public key (never the key the file
carries: a forger would embed theirs) and says in plain words what was destroyed, when and under
which rule or decision. With the requester's reference typed in, it also says whether the
certificate was issued for that request (the certificate carries the reference's SHA-256, not the
reference). Nothing is stored and nothing depends on who is in the database: the answer is a
function of the bytes posted and the public key alone (in the language ``web.i18n`` picks).

The pasted or uploaded text is limited in size (``MAX_CERTIFICATE_BYTES``) and in nesting
(``MAX_DEPTH``) before it is parsed, so hostile input is a form error, never a 500.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileSize
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from retention.engine import certificates
from retention.requests import filing
from web.security import rate_limited
from web.services import get_services

bp = Blueprint("verify", __name__)

MAX_CERTIFICATE_BYTES = 64 * 1024
MAX_DEPTH = 12
NOT_JSON = _l("This is not a certificate file: paste the whole file, starting with {.")
TOO_BIG = _l("This is larger than any certificate. Check that you chose the right file.")
BOTH_OR_NONE = _l("Paste the certificate or choose its file (one of the two).")


class VerifyForm(FlaskForm):
    """A certificate (pasted or uploaded), and optionally the requester's reference."""

    pasted = TextAreaField(
        _l("Paste the certificate"),
        validators=[Optional(), Length(max=MAX_CERTIFICATE_BYTES, message=TOO_BIG)],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    upload = FileField(
        _l("Or choose the certificate file"),
        validators=[FileSize(max_size=MAX_CERTIFICATE_BYTES, message=TOO_BIG)],
    )
    reference = StringField(
        _l("Your request reference, if it is your certificate (optional)"),
        validators=[Optional(), Length(max=40)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )

    def validate_pasted(self, field: TextAreaField) -> None:
        """Exactly one of the two ways in."""
        has_text = bool((field.data or "").strip())
        has_file = bool(self.upload.data)
        if has_text == has_file:
            raise ValidationError(BOTH_OR_NONE)


def _depth(value: Any, limit: int) -> bool:
    """True when ``value`` nests no deeper than ``limit`` (iterative: no recursion to abuse)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def _document(raw: bytes | str) -> dict[str, Any] | None:
    """The posted certificate as JSON, or None when it is not a plausible certificate file."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    if len(text) > MAX_CERTIFICATE_BYTES:
        return None
    # Refuse deep nesting before the parser sees it (json's recursion would 500).
    if text.count("[") + text.count("{") > 2000:
        return None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or not _depth(doc, MAX_DEPTH):
        return None
    return doc


@bp.route("/verify", methods=["GET", "POST"])
@rate_limited("public_status")
def verify() -> tuple[str, int]:
    """Check a certificate; say valid or not and what it proves."""
    form = VerifyForm()
    if not form.validate_on_submit():
        return render_template("public/verify.html", form=form, result=None), (
            400 if form.is_submitted() else 200
        )
    raw: bytes | str = form.upload.data.read() if form.upload.data else (form.pasted.data or "")
    doc = _document(raw)
    if doc is None:
        target = form.upload if form.upload.data else form.pasted
        target.errors = [*target.errors, NOT_JSON]
        return render_template("public/verify.html", form=form, result=None), 400
    why_not = certificates.verify(doc, get_services().keyring.signing_public_key_pem())
    result: dict[str, Any] = {"valid": why_not is None}
    if why_not is None:
        body = doc["certificate"]
        summary = certificates.summary(body)
        result["summary"] = summary
        reference = (form.reference.data or "").strip()
        if reference:
            result["reference_given"] = True
            result["for_you"] = summary.requester_reference_sha256 == filing.reference_digest(
                reference
            )
    # The reference is a bearer secret: used for the comparison, never written back.
    form.reference.data = ""
    return render_template("public/verify.html", form=form, result=result), 200
