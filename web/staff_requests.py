"""Staff pages: removal requests (being built; see the web issue).

Layer: ``web``.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from retention.models import Role
from web.auth import login_required

bp = Blueprint("staff_requests", __name__, url_prefix="/staff/requests")


@bp.get("/")
@login_required(Role.CLERK, Role.SUPERVISOR)
def queue() -> str:
    """Removal requests."""
    return render_template("staff/placeholder.html", title="Removal requests")
