"""Staff pages: legal holds (being built; see the web issue).

Layer: ``web``.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from retention.models import Role
from web.auth import login_required

bp = Blueprint("staff_holds", __name__, url_prefix="/staff/holds")


@bp.get("/")
@login_required(Role.CLERK, Role.SUPERVISOR)
def index() -> str:
    """Legal holds."""
    return render_template("staff/placeholder.html", title="Legal holds")
