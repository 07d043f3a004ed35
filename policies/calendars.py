"""Legal calendars: how a period counted from a trigger date becomes a due date.

Layer: ``policies``. Imports the standard library and ``holidays`` only; never ``retention`` or
``web``. Every function is pure and cached: the same inputs always give the same date, and the
public-holiday set of a (jurisdiction, year) is built once per process.

Conventions (``CalendarConvention``):

* ``months_roll`` — the period ends on the *corresponding date* (3 Sep + 1 month = 3 Oct); if that
  month has no such date, on its last day (31 Jan + 1 month = 28/29 Feb); if the end falls on a
  Saturday, Sunday or public holiday of the jurisdiction, on the next working day. This is the
  ICO's one-month rule (RULES.md uk-ico-month) and Reg. 1182/71 Art 3 (eu-time). Day periods
  under this convention are plain day counts, then rolled the same way.
* ``ca_days`` — California day counts (CCP §12, Gov. Code §6800; RULES.md us-ca-time): the first
  day is excluded and the last included (so the due date is trigger + N days); if the last day is
  a holiday — every Sunday (Gov. Code §6700) and each California holiday — the next day that is
  not. Saturdays are *not* rolled over: whether CCP §12a makes them holidays is unverified
  (RULES.md §10.8), and not rolling gives the earlier, conservative date (§8.3).
* ``anniversary`` — the same day and month N years later, never rolled; a 29 February start falls
  due on 28 February of a common year (the earlier date: RULES.md §8.3, §10.13).
* ``no_roll`` — plain calendar arithmetic where the statute gives no roll (BIPA 15(a)): days are
  added; months and years go to the corresponding date, clamped to month end.
"""

from __future__ import annotations

import calendar as _stdcal
from datetime import date, timedelta
from functools import lru_cache

import holidays

from policies.vocabulary import CalendarConvention, Jurisdiction, PeriodUnit

# Which public-holiday calendar the ``holidays`` package uses for each jurisdiction. The EU has no
# single public-holiday list; the ECB/TARGET closing days are the days common to the EU
# institutions' calendars, so they stand in for "public holidays" under Reg. 1182/71 Art 2.
_HOLIDAY_SOURCES: dict[str, tuple[str, str | None]] = {
    Jurisdiction.GB_ENG.value: ("GB", "ENG"),
    Jurisdiction.US_CA.value: ("US", "CA"),
    Jurisdiction.US_IL.value: ("US", "IL"),
    Jurisdiction.US_TX.value: ("US", "TX"),
    Jurisdiction.EU.value: ("XECB", None),
}

# An absurd period is a typo, not a retention schedule: MoPI's "until 100 years of age" is the
# longest figure in RULES.md, so 150 years bounds every unit.
MAX_YEARS = 150
MAX_AMOUNT = {
    PeriodUnit.DAYS: MAX_YEARS * 366,
    PeriodUnit.MONTHS: MAX_YEARS * 12,
    PeriodUnit.YEARS: MAX_YEARS,
}


@lru_cache(maxsize=1024)
def holidays_for(jurisdiction: str, year: int) -> frozenset[date]:
    """The public holidays of ``jurisdiction`` in ``year`` (empty for an unknown jurisdiction)."""
    source = _HOLIDAY_SOURCES.get(jurisdiction)
    if source is None:
        return frozenset()
    country, subdiv = source
    if country.startswith("X"):
        table = holidays.financial_holidays(country, years=year)
    else:
        table = holidays.country_holidays(country, subdiv=subdiv, years=year)
    return frozenset(table.keys())


def is_working_day(day: date, jurisdiction: str) -> bool:
    """True unless ``day`` is a Saturday, Sunday or public holiday of ``jurisdiction``."""
    return day.weekday() < 5 and day not in holidays_for(jurisdiction, day.year)


def roll_forward(day: date, jurisdiction: str) -> date:
    """``day`` itself if it is a working day, else the next working day."""
    while not is_working_day(day, jurisdiction):
        day += timedelta(days=1)
    return day


def _roll_ca(day: date) -> date:
    # CCP §12/§12a with Gov. Code §6700: Sundays and California holidays extend the last day;
    # Saturdays do not (unverified, and not rolling is the earlier date).
    while day.weekday() == 6 or day in holidays_for(Jurisdiction.US_CA.value, day.year):
        day += timedelta(days=1)
    return day


def add_months(start: date, months: int) -> date:
    """The corresponding date ``months`` later, clamped to the last day of a shorter month."""
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    last = _stdcal.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(start.day, last))


def add_period(start: date, amount: int, unit: PeriodUnit) -> date:
    """Plain calendar arithmetic with no roll: days added; months/years clamped to month end."""
    if unit is PeriodUnit.DAYS:
        return start + timedelta(days=amount)
    if unit is PeriodUnit.MONTHS:
        return add_months(start, amount)
    return add_months(start, 12 * amount)


@lru_cache(maxsize=65536)
def due_date(
    start: date,
    amount: int,
    unit: PeriodUnit,
    convention: CalendarConvention,
    jurisdiction: str,
) -> date:
    """The date a period of ``amount`` ``unit`` counted from ``start`` ends under ``convention``.

    ``jurisdiction`` chooses the public holidays for the rolling conventions.
    """
    end = add_period(start, amount, unit)
    if convention is CalendarConvention.MONTHS_ROLL:
        return roll_forward(end, jurisdiction)
    if convention is CalendarConvention.CA_DAYS:
        return _roll_ca(end)
    return end
