"""Staff pages: staff accounts (being built; see the web issue).

Layer: ``web``.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from retention.models import Role
from web.auth import login_required

bp = Blueprint("staff_users", __name__, url_prefix="/staff/users")


@bp.get("/")
@login_required(Role.ADMIN)
def index() -> str:
    """Staff accounts."""
    return render_template("staff/placeholder.html", title="Staff accounts")
