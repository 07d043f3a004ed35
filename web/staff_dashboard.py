"""Staff pages: dashboard (being built; see the web issue).

Layer: ``web``.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from retention.models import Role
from web.auth import login_required

bp = Blueprint("staff_dashboard", __name__, url_prefix="/staff")


@bp.get("/")
@login_required(Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
def index() -> str:
    """Dashboard."""
    return render_template("staff/placeholder.html", title="Dashboard")
