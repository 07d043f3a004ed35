"""Retention rule language, pure evaluator and bundled rule packs.

Layer: innermost. Imports only the standard library (plus the small pure date helpers
``holidays`` and ``python-dateutil``); never ``retention`` or ``web``.

Public API::

    from policies import Facts, Decision, evaluate, load_pack, bundled_pack, PackError

    pack = pack_for_jurisdiction(facts.jurisdiction)   # or bundled_pack("us-ca") / load_pack(p)
    decision = evaluate(pack, facts, today)            # pure: no clock, no I/O
    decision.action, decision.due_on, decision.purposes

The rule language, every fact field, the calendars and the precedence order are documented in
``docs/policies.md``.
"""

from policies.calendars import due_date, holidays_for, is_working_day, roll_forward
from policies.decision import Decision
from policies.errors import FactsError, PackError, PolicyError, Problem, UnknownPackError
from policies.evaluator import evaluate
from policies.facts import Facts, Request
from policies.loader import compile_pack, load_pack
from policies.pack import ComplaintRoute, Pack, Parameter, Rule
from policies.registry import (
    bundled_pack,
    bundled_pack_paths,
    bundled_packs,
    complaint_routes,
    pack_for_jurisdiction,
)

__all__ = [
    "ComplaintRoute",
    "Decision",
    "Facts",
    "FactsError",
    "Pack",
    "PackError",
    "Parameter",
    "PolicyError",
    "Problem",
    "Request",
    "Rule",
    "UnknownPackError",
    "bundled_pack",
    "bundled_pack_paths",
    "bundled_packs",
    "compile_pack",
    "complaint_routes",
    "due_date",
    "evaluate",
    "holidays_for",
    "is_working_day",
    "load_pack",
    "pack_for_jurisdiction",
    "roll_forward",
]
