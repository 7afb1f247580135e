"""Period codes and local dates as staff type them in import files.

A period code names a target or reporting period:

* ``2026`` — a calendar year;
* ``2026-Q1`` … ``2026-Q4`` — a quarter (``Q1-2026``, ``2026Q1``, ``Q1/2026`` tolerated);
* ``2026-H1`` / ``2026-H2`` — a half-year (same tolerated spellings);
* ``2023-2028`` — a term (nhiệm kỳ), from 1 January of the first year to
  31 December of the last.

Every accepted spelling is normalised to the canonical form (``2026-Q1``) which is
the ``Period.code`` stored in the database.
"""

from __future__ import annotations

import logging
import re
from calendar import monthrange
from datetime import date
from typing import NamedTuple

from sqlmodel import Session, select

from bot.models import Period, PeriodKind

log = logging.getLogger(__name__)

MIN_YEAR = 1990
MAX_YEAR = 2100
MAX_TERM_YEARS = 10

_YEAR = re.compile(r"^(\d{4})$")
_TERM = re.compile(r"^(\d{4})-(\d{4})$")
_PART_AFTER = re.compile(r"^(\d{4})[-/]?([QH])(\d)$")  # 2026-Q1, 2026Q1, 2026/Q1
_PART_BEFORE = re.compile(r"^([QH])(\d)[-/]?(\d{4})$")  # Q1-2026, Q1/2026, Q12026


class PeriodCodeError(ValueError):
    """A period code that cannot be understood; `reason` is machine-readable.

    Reasons: ``empty``, ``format``, ``year`` (out of range), ``quarter`` (not 1–4),
    ``half`` (not 1–2), ``term`` (end year not after the start, or too long).
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"bad period code {code!r}: {reason}")
        self.code = code
        self.reason = reason


class DateParseError(ValueError):
    """A date that cannot be understood; `reason` is ``empty``, ``format`` or ``invalid``."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"bad date {text!r}: {reason}")
        self.text = text
        self.reason = reason


class PeriodSpan(NamedTuple):
    """What a period code means: its kind and its first and last day."""

    kind: PeriodKind
    starts_on: date
    ends_on: date


def _check_year(code: str, year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodCodeError(code, "year")
    return year


def _clean(code: str) -> str:
    """Upper-case and drop every space: ' q1 - 2026 ' → 'Q1-2026'."""
    return re.sub(r"\s+", "", code or "").upper()


def _split(code: str) -> tuple[str, int, int | None, int | None]:
    """Parse a cleaned code into (kind letter, year, part number, end year)."""
    text = _clean(code)
    if not text:
        raise PeriodCodeError(code, "empty")
    if m := _YEAR.match(text):
        return "Y", int(m[1]), None, None
    if m := _TERM.match(text):
        return "T", int(m[1]), None, int(m[2])
    if m := _PART_AFTER.match(text):
        return m[2], int(m[1]), int(m[3]), None
    if m := _PART_BEFORE.match(text):
        return m[1], int(m[3]), int(m[2]), None
    raise PeriodCodeError(code, "format")


def normalise_period_code(code: str) -> str:
    """Return the canonical spelling of a period code (``q1/2026`` → ``2026-Q1``)."""
    letter, year, part, end_year = _split(code)
    parse_period_code(code)  # validates ranges
    if letter == "Y":
        return f"{year}"
    if letter == "T":
        return f"{year}-{end_year}"
    return f"{year}-{letter}{part}"


def parse_period_code(code: str) -> PeriodSpan:
    """Return (kind, starts_on, ends_on) of a period code, or raise PeriodCodeError."""
    letter, year, part, end_year = _split(code)
    _check_year(code, year)
    if letter == "Y":
        return PeriodSpan(PeriodKind.YEAR, date(year, 1, 1), date(year, 12, 31))
    if letter == "T":
        assert end_year is not None
        _check_year(code, end_year)
        if not year < end_year <= year + MAX_TERM_YEARS:
            raise PeriodCodeError(code, "term")
        return PeriodSpan(PeriodKind.TERM, date(year, 1, 1), date(end_year, 12, 31))
    assert part is not None
    if letter == "Q":
        if not 1 <= part <= 4:
            raise PeriodCodeError(code, "quarter")
        first, last = 3 * part - 2, 3 * part
        return PeriodSpan(
            PeriodKind.QUARTER, date(year, first, 1), date(year, last, monthrange(year, last)[1])
        )
    if not 1 <= part <= 2:
        raise PeriodCodeError(code, "half")
    first, last = 6 * part - 5, 6 * part
    return PeriodSpan(
        PeriodKind.HALF, date(year, first, 1), date(year, last, monthrange(year, last)[1])
    )


def get_or_create_period(session: Session, code: str) -> Period:
    """Return the period with this code (normalised), adding it to the session if new."""
    canonical = normalise_period_code(code)
    period = session.exec(select(Period).where(Period.code == canonical)).first()
    if period is not None:
        return period
    span = parse_period_code(canonical)
    period = Period(
        code=canonical, kind=str(span.kind), starts_on=span.starts_on, ends_on=span.ends_on
    )
    session.add(period)
    session.flush()
    log.info("created period %s (%s → %s)", canonical, span.starts_on, span.ends_on)
    return period


_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_VN_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def parse_local_date(text: str) -> date:
    """Parse ``YYYY-MM-DD`` or ``DD/MM/YYYY`` (also ``D/M/YYYY``, ``DD.MM.YYYY``, ``DD-MM-YYYY``).

    Raises DateParseError. The day always comes before the month in the Vietnamese form.
    """
    raw = (text or "").strip()
    if not raw:
        raise DateParseError(text, "empty")
    if m := _ISO_DATE.match(raw):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _VN_DATE.match(raw):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    else:
        raise DateParseError(text, "format")
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise DateParseError(text, "invalid") from exc
