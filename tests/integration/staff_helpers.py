"""Helpers for tests that need real staff accounts: known passwords, TOTP secrets and fresh codes.

The CLI reads the real clock, so codes are computed for the real time step. The core accepts the
current step and the one either side, and never the same step twice for one account; ``code()``
hands out the current step, then the next one, and waits for the clock only if a test asks one
account for a third code within the same 30 seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyotp
from sqlalchemy import select

from retention.accounts import users
from retention.db.models import AuditEntry, Role, User
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import create_staff

PASSWORD = "a long staff passphrase 42"


@dataclass
class Staff:
    """A staff account a test created, with what its owner knows."""

    username: str
    secret: str
    password: str = PASSWORD
    _last_step: int = -1

    def code(self) -> str:
        """A TOTP code the core has not seen from this account yet."""
        while True:
            current = int(time.time()) // users.TOTP_INTERVAL
            # Never the step before the current one: it may fall out of the window before use.
            step = max(current, self._last_step + 1)
            if step <= current + 1:
                self._last_step = step
                return str(pyotp.TOTP(self.secret).generate_otp(step))
            time.sleep(users.TOTP_INTERVAL - time.time() % users.TOTP_INTERVAL + 0.05)

    def credentials(self) -> str:
        """Password and a fresh code, one per line: what the prompts (or stdin) read."""
        return f"{self.password}\n{self.code()}\n"

    def with_code(self, code: str) -> str:
        """Password and the given code, one per line."""
        return f"{self.password}\n{code}\n"

    def wrong_code(self) -> str:
        """A 6-digit code that is none of the codes the core would accept now."""
        totp = pyotp.TOTP(self.secret)
        current = int(time.time()) // users.TOTP_INTERVAL
        valid = {str(totp.generate_otp(s)) for s in range(current - 2, current + 3)}
        return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in valid)


def add_staff(services: Services, username: str, role: Role = Role.SUPERVISOR) -> Staff:
    """Create an account with a known password; its TOTP secret is returned once, as in life."""
    name, secret = create_staff(
        services, username, role, password=PASSWORD, now=FIXED_NOW, actor="test:admin"
    )
    return Staff(username=name, secret=secret)


def account(services: Services, username: str) -> User:
    """The account row as stored now."""
    with services.readers() as db:
        found = users.get_user(db, username)
        assert found is not None
        return found


def audit_entries(services: Services, *actions: str) -> list[AuditEntry]:
    """Audit entries with these actions (all when none are given), oldest first."""
    stmt = select(AuditEntry).order_by(AuditEntry.seq)
    if actions:
        stmt = stmt.where(AuditEntry.action.in_(actions))
    with services.readers() as db:
        return list(db.execute(stmt).scalars())
