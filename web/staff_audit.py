"""Staff pages: audit log (being built; see the web issue).

Layer: ``web``.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from retention.models import Role
from web.auth import login_required

bp = Blueprint("staff_audit", __name__, url_prefix="/staff/audit")


@bp.get("/")
@login_required(Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN)
def index() -> str:
    """Audit log."""
    return render_template("staff/placeholder.html", title="Audit log")
