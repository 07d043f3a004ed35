"""Showing a record's photo to staff, only for a reason they state (each view is audited).

Layer: ``web.staff`` (a helper of the record and request pages). Imports Flask only.
"""

from __future__ import annotations

from flask import request

# The stated reason, plus " (request <id>)", must fit ``records.MAX_REASON``.
MAX_STATED_REASON = 150
# The purpose staff view a thumbnail for: a restricted record shows it only if it permits this.
THUMBNAIL_PURPOSE = "identification"


def stated_reason() -> tuple[str, str | None]:
    """The reason typed in a page's "Show photo" form (``GET ?reason=``) and its error message.

    Only a GET carries one: a page re-rendered after a POST shows no photo. A reason longer than
    ``MAX_STATED_REASON`` is dropped (no photo) and explained."""
    reason = request.args.get("reason", "").strip() if request.method == "GET" else ""
    if len(reason) > MAX_STATED_REASON:
        return "", f"Keep the reason under {MAX_STATED_REASON} characters."
    return reason, None
