"""Staff pages: rule packs (being built; see the web issue).

Layer: ``web``.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from retention.models import Role
from web.auth import login_required

bp = Blueprint("staff_policy", __name__, url_prefix="/staff/policy")


@bp.get("/")
@login_required(Role.SUPERVISOR, Role.CLERK, Role.AUDITOR)
def index() -> str:
    """Rule packs."""
    return render_template("staff/placeholder.html", title="Rule packs")
