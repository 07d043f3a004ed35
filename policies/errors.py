"""Errors raised by the rule language, the facts parser and the evaluator.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). Messages carry
file names, rule ids and field names — never personal data from the facts being evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass


class PolicyError(Exception):
    """Base class of every error the ``policies`` package raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a rule pack: where it is (file, rule id, field) and what it is."""

    file: str
    rule: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: rule {self.rule}: {self.field}: {self.message}"


class PackError(PolicyError):
    """A rule pack failed validation. ``problems`` lists every problem found, not just the first,
    so an author fixes a pack in one pass."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in rule pack:\n{lines}")


class FactsError(PolicyError):
    """A facts document is malformed. Names the field and the expected form, never the value
    (which may be a date of birth)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class UnknownPackError(PolicyError):
    """No bundled rule pack has the requested id."""
