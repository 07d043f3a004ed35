"""Stated reasons: what an audited read or a destructive decision must say about why.

Layer: ``retention.engine`` (pure; imports only ``retention.errors``). A reason is read by an
auditor later, so it must be a sentence someone wrote on purpose — not empty, not "x", not
"aaaaaaaa", not "asdf" — and short enough for one audit line. The error says what is wanted.
"""

from __future__ import annotations

from retention.errors import RetentionError

MIN_REASON = 12
MAX_REASON = 500
MIN_WORDS = 2
MIN_DISTINCT_LETTERS = 5


class ReasonError(RetentionError):
    """A stated reason is missing, too short, too long, or not a sentence."""


def stated_reason(text: str | None, what: str = "reason") -> str:
    """The reason, stripped, or ``ReasonError`` saying what a reason must look like."""
    reason = " ".join((text or "").split())
    wanted = (
        f"{what}: write a short sentence saying why (at least {MIN_REASON} characters and "
        f"{MIN_WORDS} words, e.g. 'Comparing the photo with the requester's evidence')"
    )
    if len(reason) < MIN_REASON or len(reason.split(" ")) < MIN_WORDS:
        raise ReasonError(wanted)
    letters = {c.lower() for c in reason if c.isalpha()}
    if len(letters) < MIN_DISTINCT_LETTERS:
        raise ReasonError(wanted)
    if len(reason) > MAX_REASON:
        raise ReasonError(f"{what}: at most {MAX_REASON} characters")
    return reason
