"""Tests for bot.services.periods: period codes, periods in the database, local dates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.db import make_engine, session_scope
from bot.models import Period, PeriodKind
from bot.services.periods import (
    DateParseError,
    PeriodCodeError,
    get_or_create_period,
    normalise_period_code,
    parse_local_date,
    parse_period_code,
)


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    eng = make_engine(migrated_url)
    yield eng
    eng.dispose()


@pytest.mark.parametrize(
    ("code", "kind", "starts", "ends", "canonical"),
    [
        ("2026", PeriodKind.YEAR, date(2026, 1, 1), date(2026, 12, 31), "2026"),
        ("2026-Q1", PeriodKind.QUARTER, date(2026, 1, 1), date(2026, 3, 31), "2026-Q1"),
        ("2026-Q2", PeriodKind.QUARTER, date(2026, 4, 1), date(2026, 6, 30), "2026-Q2"),
        ("2026-Q3", PeriodKind.QUARTER, date(2026, 7, 1), date(2026, 9, 30), "2026-Q3"),
        ("2026-Q4", PeriodKind.QUARTER, date(2026, 10, 1), date(2026, 12, 31), "2026-Q4"),
        ("Q1-2026", PeriodKind.QUARTER, date(2026, 1, 1), date(2026, 3, 31), "2026-Q1"),
        ("2026Q1", PeriodKind.QUARTER, date(2026, 1, 1), date(2026, 3, 31), "2026-Q1"),
        ("q2/2026", PeriodKind.QUARTER, date(2026, 4, 1), date(2026, 6, 30), "2026-Q2"),
        (" 2026 - q3 ", PeriodKind.QUARTER, date(2026, 7, 1), date(2026, 9, 30), "2026-Q3"),
        ("2026-H1", PeriodKind.HALF, date(2026, 1, 1), date(2026, 6, 30), "2026-H1"),
        ("2026-H2", PeriodKind.HALF, date(2026, 7, 1), date(2026, 12, 31), "2026-H2"),
        ("H2-2026", PeriodKind.HALF, date(2026, 7, 1), date(2026, 12, 31), "2026-H2"),
        ("2026h1", PeriodKind.HALF, date(2026, 1, 1), date(2026, 6, 30), "2026-H1"),
        ("2023-2028", PeriodKind.TERM, date(2023, 1, 1), date(2028, 12, 31), "2023-2028"),
        ("2023 - 2028", PeriodKind.TERM, date(2023, 1, 1), date(2028, 12, 31), "2023-2028"),
        ("2024-Q1", PeriodKind.QUARTER, date(2024, 1, 1), date(2024, 3, 31), "2024-Q1"),
    ],
)
def test_parse_period_code(code: str, kind: PeriodKind, starts: date, ends: date, canonical: str) -> None:
    assert parse_period_code(code) == (kind, starts, ends)
    k, s, e = parse_period_code(code)  # unpacks like a plain tuple
    assert (k, s, e) == (kind, starts, ends)
    assert normalise_period_code(code) == canonical


def test_leap_year_february_quarter() -> None:
    assert parse_period_code("2028-Q1").ends_on == date(2028, 3, 31)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("2026-Q5", "quarter"),
        ("2026-Q0", "quarter"),
        ("Q5-2026", "quarter"),
        ("2026-H3", "half"),
        ("2028-2023", "term"),
        ("2026-2026", "term"),
        ("2000-2030", "term"),
        ("26", "format"),
        ("2026-13", "format"),
        ("quý 1", "format"),
        ("2026-X1", "format"),
        ("1066", "year"),
        ("3026-Q1", "year"),
    ],
)
def test_bad_period_codes(code: str, reason: str) -> None:
    with pytest.raises(PeriodCodeError) as info:
        parse_period_code(code)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)
    with pytest.raises(PeriodCodeError):
        normalise_period_code(code)


def test_get_or_create_period_normalises_and_reuses(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = get_or_create_period(session, "Q1-2026")
        assert first.code == "2026-Q1"
        assert first.kind == PeriodKind.QUARTER
        assert (first.starts_on, first.ends_on) == (date(2026, 1, 1), date(2026, 3, 31))
    with session_scope(engine) as session:
        again = get_or_create_period(session, "2026q1")
        assert again.id == first.id
        assert len(session.exec(select(Period)).all()) == 1


def test_get_or_create_period_refuses_bad_codes(engine: Engine) -> None:
    with session_scope(engine) as session:
        with pytest.raises(PeriodCodeError):
            get_or_create_period(session, "2026-Q9")
        assert session.exec(select(Period)).all() == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-20", date(2026, 12, 20)),
        ("2026-1-5", date(2026, 1, 5)),
        ("20/12/2026", date(2026, 12, 20)),
        ("05/03/2026", date(2026, 3, 5)),
        ("5/3/2026", date(2026, 3, 5)),
        (" 1/7/2025 ", date(2025, 7, 1)),
        ("20.12.2026", date(2026, 12, 20)),
        ("20-12-2026", date(2026, 12, 20)),
        ("29/02/2028", date(2028, 2, 29)),
    ],
)
def test_parse_local_date(text: str, expected: date) -> None:
    assert parse_local_date(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("20/12/26", "format"),
        ("12/2026", "format"),
        ("ngày 20 tháng 12", "format"),
        ("2026/12/20", "format"),
        ("31/02/2026", "invalid"),
        ("29/02/2026", "invalid"),
        ("2026-13-01", "invalid"),
        ("00/01/2026", "invalid"),
    ],
)
def test_parse_local_date_refuses(text: str, reason: str) -> None:
    with pytest.raises(DateParseError) as info:
        parse_local_date(text)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)
