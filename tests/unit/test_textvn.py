"""Tests for bot.textvn: folding, chat number parsing, Babel formatting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.textvn import (
    LOCAL_TZ,
    Ambiguous,
    Invalid,
    Kind,
    Parsed,
    Reason,
    check_kind,
    fold,
    format_date,
    format_datetime,
    format_number,
    format_percent_of,
    format_value,
    parse_number,
    parse_yesno,
)

D = Decimal
COUNT, MONEY, PERCENT, YESNO = Kind.COUNT, Kind.MONEY, Kind.PERCENT, Kind.YESNO


# --------------------------------------------------------------------------- fold


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Chỉ tiêu KẾT NẠP Đoàn viên", "chi tieu ket nap doan vien"),
        ("  Công   đoàn\tcơ sở\n", "cong doan co so"),
        ("ĐOÀN PHÍ", "doan phi"),
        ("Tỷ lệ %", "ty le %"),
        ("Người lao động", "nguoi lao dong"),
        ("ưu đãi, ổn định", "uu dai, on dinh"),
        ("a\u00a0b\u202fc", "a b c"),  # non-breaking / narrow spaces
        ("Chi\u0309 tiêu", "chi tieu"),  # decomposed (NFD) input
        ("", ""),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


# --------------------------------------------------------------------------- parse_number: accepted


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        # plain numbers and grouping
        ("1.234", COUNT, "1234"),
        ("1234", COUNT, "1234"),
        ("1 234", COUNT, "1234"),
        ("1\u00a0234", COUNT, "1234"),
        ("1\u202f234", COUNT, "1234"),
        ("1 234 567", MONEY, "1234567"),
        ("1.234", MONEY, "1234"),
        ("1.234.567", COUNT, "1234567"),
        ("1,234,567", COUNT, "1234567"),
        ("1.234,5", PERCENT, "1234.5"),
        ("1,234.5", PERCENT, "1234.5"),
        ("1 234,5", PERCENT, "1234.5"),
        ("0", COUNT, "0"),
        ("007", COUNT, "7"),
        ("  42  ", COUNT, "42"),
        ("-5", COUNT, "-5"),
        ("+5", COUNT, "5"),
        ("- 5", COUNT, "-5"),
        ("\u22125", COUNT, "-5"),  # unicode minus sign
        # decimals / percent
        ("1,5", PERCENT, "1.5"),
        ("87,5%", PERCENT, "87.5"),
        ("87,5 %", PERCENT, "87.5"),
        ("87.5", PERCENT, "87.5"),
        ("87.55", PERCENT, "87.55"),
        ("87,5", PERCENT, "87.5"),
        ("100%", PERCENT, "100"),
        ("0,5", PERCENT, "0.5"),
        ("-2,5%", PERCENT, "-2.5"),
        ("87,5 phần trăm", PERCENT, "87.5"),
        ("12,50", PERCENT, "12.5"),
        # multipliers
        ("2 triệu", MONEY, "2000000"),
        ("2 triệu", COUNT, "2000000"),
        ("2 TRIỆU", MONEY, "2000000"),
        ("2tr", MONEY, "2000000"),
        ("1tr5", MONEY, "1500000"),
        ("1tr500", MONEY, "1500000"),
        ("1tr050", MONEY, "1050000"),
        ("1 triệu 5", MONEY, "1500000"),
        ("1,5 triệu", MONEY, "1500000"),
        ("1,2 tỷ", MONEY, "1200000000"),
        ("1,2 tỉ", MONEY, "1200000000"),
        ("1.2 ty", MONEY, "1200000000"),
        ("1,25 tỷ", MONEY, "1250000000"),
        ("1ty2", MONEY, "1200000000"),
        ("500k", MONEY, "500000"),
        ("500K", MONEY, "500000"),
        ("500 k", MONEY, "500000"),
        ("500 nghìn", MONEY, "500000"),
        ("500 ngàn", MONEY, "500000"),
        ("500 ngan", MONEY, "500000"),
        ("500 nghin", MONEY, "500000"),
        ("1k5", MONEY, "1500"),
        ("2 triệu 500 nghìn", MONEY, "2500000"),
        ("2tr500k", MONEY, "2500000"),
        ("1 tỷ 200 triệu", MONEY, "1200000000"),
        ("1 tỷ 200 triệu 500 nghìn", MONEY, "1200500000"),
        ("1 tỷ 500 nghìn", MONEY, "1000500000"),
        ("1 tỷ 200 triệu 5", MONEY, "1200500000"),  # tail continues the last unit
        ("-2 triệu", MONEY, "-2000000"),
        # currency suffixes (MONEY)
        ("1.500.000đ", MONEY, "1500000"),
        ("1.500.000 đ", MONEY, "1500000"),
        ("1.500.000 đồng", MONEY, "1500000"),
        ("1.500.000 dong", MONEY, "1500000"),
        ("1.500.000 VNĐ", MONEY, "1500000"),
        ("1.500.000 vnđ", MONEY, "1500000"),
        ("1,500,000 vnd", MONEY, "1500000"),
        ("1.500.000₫", MONEY, "1500000"),
        ("2 triệu đồng", MONEY, "2000000"),
        ("1tr5đ", MONEY, "1500000"),
        # count unit words (COUNT)
        ("24.500 người", COUNT, "24500"),
        ("24.500 nguoi", COUNT, "24500"),
        ("12 đơn vị", COUNT, "12"),
        ("12 don vi", COUNT, "12"),
        ("300 suất", COUNT, "300"),
        ("15 căn", COUNT, "15"),
        ("2 nghìn người", COUNT, "2000"),
    ],
)
def test_parse_number_accepts(text: str, kind: Kind, expected: str) -> None:
    result = parse_number(text, kind)
    assert result == Parsed(D(expected))
    assert isinstance(result, Parsed)
    # canonical: no exponent notation, no trailing zeros
    assert str(result.value) == expected


# --------------------------------------------------------------------------- parse_number: ambiguous


@pytest.mark.parametrize(
    ("text", "kind", "candidates"),
    [
        ("1.500", PERCENT, ("1500", "1.5")),
        ("1,500", PERCENT, ("1500", "1.5")),
        ("1,234", COUNT, ("1234", "1.234")),
        ("1,234", MONEY, ("1234", "1.234")),
        ("12,345", COUNT, ("12345", "12.345")),
        ("-1,234", COUNT, ("-1234", "-1.234")),
        ("1,500 đồng", MONEY, ("1500", "1.5")),
        # a dot + 3 digits before a multiplier: 1500 triệu or 1,5 triệu?
        ("1.500 triệu", MONEY, ("1500000000", "1500000")),
        ("1,500k", MONEY, ("1500000", "1500")),
        # two-digit tail: 1,25 triệu or 1 triệu 25 nghìn?
        ("1tr25", MONEY, ("1250000", "1025000")),
        ("2 triệu 50", MONEY, ("2500000", "2050000")),
    ],
)
def test_parse_number_ambiguous(text: str, kind: Kind, candidates: tuple[str, ...]) -> None:
    assert parse_number(text, kind) == Ambiguous(tuple(D(c) for c in candidates))


def test_dot_thousands_is_not_ambiguous_for_count_and_money() -> None:
    assert parse_number("1.500", COUNT) == Parsed(D(1500))
    assert parse_number("1.500", MONEY) == Parsed(D(1500))


# --------------------------------------------------------------------------- parse_number: invalid


@pytest.mark.parametrize(
    ("text", "kind", "reason"),
    [
        ("", COUNT, "empty"),
        ("   ", MONEY, "empty"),
        ("\u00a0", PERCENT, "empty"),
        ("1" * 41, COUNT, "too_long"),
        ("abc", COUNT, "not_a_number"),
        ("mười", COUNT, "not_a_number"),
        ("1.23.4", COUNT, "not_a_number"),
        ("1,23,4", COUNT, "not_a_number"),
        ("1.234,5,6", PERCENT, "not_a_number"),
        ("1,5.3", PERCENT, "not_a_number"),
        ("1 23", COUNT, "not_a_number"),
        ("1.", COUNT, "not_a_number"),
        (",5", PERCENT, "not_a_number"),
        ("1, 5", PERCENT, "not_a_number"),
        ("5-", COUNT, "not_a_number"),
        ("--5", COUNT, "not_a_number"),
        ("-", COUNT, "not_a_number"),
        ("%", PERCENT, "not_a_number"),
        ("đồng", MONEY, "not_a_number"),
        ("người", COUNT, "not_a_number"),
        ("5 3", COUNT, "not_a_number"),
        ("500n", MONEY, "not_a_number"),
        ("5 người 3", COUNT, "not_a_number"),
        ("1e5", COUNT, "not_a_number"),
        ("NaN", PERCENT, "not_a_number"),
        ("1_000", COUNT, "not_a_number"),
        ("١٢٣", COUNT, "not_a_number"),  # non-ASCII digits
        ("１２", COUNT, "not_a_number"),  # full-width digits
        ("2 triệu 1500 nghìn", MONEY, "not_a_number"),  # part >= previous multiplier
        ("500 nghìn 2 triệu", MONEY, "not_a_number"),  # multipliers must decrease
        ("1 triệu 2 triệu", MONEY, "not_a_number"),
        ("1tr5000", MONEY, "not_a_number"),  # tail longer than 3 digits
        ("1,5 tỷ 200 triệu", MONEY, "not_a_number"),  # compounds: bare digits only
        ("triệu", MONEY, "not_a_number"),
        ("1,5", COUNT, "not_whole"),
        ("1,5", MONEY, "not_whole"),
        ("1.5", COUNT, "not_whole"),
        ("1.234,5", COUNT, "not_whole"),
        ("1.234,5", MONEY, "not_whole"),
        ("0.500", COUNT, "not_whole"),
        ("1,2345 k", MONEY, "not_whole"),
        ("87,5555%", PERCENT, "too_many_decimals"),
        ("12.3456", PERCENT, "too_many_decimals"),
        ("5%", COUNT, "percent_sign"),
        ("5%", MONEY, "percent_sign"),
        ("5 phần trăm", COUNT, "percent_sign"),
        ("5k", PERCENT, "percent_multiplier"),
        ("2 triệu", PERCENT, "percent_multiplier"),
        ("1.500.000 đồng", COUNT, "wrong_unit"),
        ("500 người", MONEY, "wrong_unit"),
        ("5 người", PERCENT, "wrong_unit"),
        ("có", COUNT, "not_a_number"),
        ("maybe", YESNO, "not_yesno"),
        ("1", YESNO, "not_yesno"),
    ],
)
def test_parse_number_invalid(text: str, kind: Kind, reason: str) -> None:
    assert parse_number(text, kind) == Invalid(reason)


def test_reason_codes_are_plain_strings() -> None:
    assert Invalid(Reason.EMPTY) == Invalid("empty")
    result = parse_number("", COUNT)
    assert isinstance(result, Invalid) and result.reason == "empty"


def test_parse_number_yesno_kind() -> None:
    assert parse_number("Có", YESNO) == Parsed(D(1))
    assert parse_number("chưa", YESNO) == Parsed(D(0))
    assert parse_number("", YESNO) == Invalid("empty")


def test_length_limit_is_40_characters() -> None:
    assert parse_number("1" * 40, COUNT) == Parsed(D("1" * 40))
    assert parse_number("  " + "1" * 40 + "  ", COUNT) == Parsed(D("1" * 40))
    assert parse_number("1" * 41, COUNT) == Invalid("too_long")


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (D("1234"), COUNT, Parsed(D(1234))),
        (D("1.234"), COUNT, Invalid("not_whole")),
        (D("1.5"), MONEY, Invalid("not_whole")),
        (D("1.5"), PERCENT, Parsed(D("1.5"))),
        (D("1.234"), PERCENT, Invalid("too_many_decimals")),
        (D("1500.00"), MONEY, Parsed(D(1500))),
    ],
)
def test_check_kind(value: Decimal, kind: Kind, expected: object) -> None:
    assert check_kind(value, kind) == expected


# --------------------------------------------------------------------------- parse_yesno


@pytest.mark.parametrize(
    "text",
    ["có", "Có", "CÓ", "co", "c", "C", "yes", "Yes", "y", "rồi", "roi", "đã", "da", "dạ", "x", "X",
     "✓", "✔", "✔️", "✅", "vâng", "ok", " có ", "Có!", "rồi."],
)
def test_parse_yesno_true(text: str) -> None:
    assert parse_yesno(text) is True


@pytest.mark.parametrize(
    "text",
    ["không", "Không", "KHÔNG", "khong", "ko", "Ko", "k", "K", "no", "No", "n", "chưa", "chua", "❌",
     "không.", " chưa! "],
)
def test_parse_yesno_false(text: str) -> None:
    assert parse_yesno(text) is False


@pytest.mark.parametrize("text", ["1", "2", "0", "", "   ", "có lẽ", "maybe", "yes no", "kh", "???"])
def test_parse_yesno_none(text: str) -> None:
    assert parse_yesno(text) is None


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("value", "locale", "expected"),
    [
        (1591896000, "vi", "1.591.896.000"),
        (D("1591896000"), "vi", "1.591.896.000"),
        (1234, "vi", "1.234"),  # vi groups 4-digit numbers too
        (999, "vi", "999"),
        (0, "vi", "0"),
        (D("87.5"), "vi", "87,5"),
        (87.5, "vi", "87,5"),
        (D("87.50"), "vi", "87,5"),
        (D("2.0"), "vi", "2"),
        (D("1234.5"), "vi", "1.234,5"),
        (D("-1234.5"), "vi", "-1.234,5"),
        (D("0.125"), "vi", "0,13"),  # half-up, not Babel's default half-even
        (D("0.135"), "vi", "0,14"),
        (D("-0.001"), "vi", "0"),  # no "-0"
        (0.1, "vi", "0,1"),
        (D("1E+3"), "vi", "1.000"),
        (10**13, "vi", "10.000.000.000.000"),
        (1591896000, "en", "1,591,896,000"),
        (D("87.5"), "en", "87.5"),
        (D("-1234.5"), "en", "-1,234.5"),
    ],
)
def test_format_number(value: Decimal | int | float, locale: str, expected: str) -> None:
    assert format_number(value, locale=locale) == expected


def test_format_number_max_decimals() -> None:
    assert format_number(D("3.14159"), max_decimals=3) == "3,142"
    assert format_number(D("3.5"), max_decimals=0) == "4"
    assert format_number(D("2.5"), max_decimals=0) == "3"


def test_format_number_rejects_non_finite() -> None:
    with pytest.raises(ValueError):
        format_number(float("nan"))
    with pytest.raises(ValueError):
        format_number(D("Infinity"))


@pytest.mark.parametrize(
    ("value", "kind", "unit", "locale", "expected"),
    [
        (D("1591896000"), MONEY, "đồng", "vi", "1.591.896.000 đồng"),
        (1591896000, MONEY, "VND", "en", "1,591,896,000 VND"),
        (D("87.5"), PERCENT, "%", "vi", "87,5%"),
        (D("87.5"), PERCENT, "", "en", "87.5%"),
        (100, PERCENT, "%", "vi", "100%"),
        (24500, COUNT, "người", "vi", "24.500 người"),
        (24500, COUNT, "", "vi", "24.500"),
        (True, YESNO, "", "vi", "Có"),
        (False, YESNO, "", "vi", "Không"),
        (D(1), YESNO, "", "vi", "Có"),
        (D(0), YESNO, "", "vi", "Không"),
        (True, YESNO, "", "en", "Yes"),
        (False, YESNO, "", "en", "No"),
    ],
)
def test_format_value(value: object, kind: Kind, unit: str, locale: str, expected: str) -> None:
    assert format_value(value, kind, unit, locale=locale) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("part", "whole", "locale", "expected"),
    [
        (35, 40, "vi", "87,5%"),
        (35, 40, "en", "87.5%"),
        (1, 3, "vi", "33,3%"),
        (2, 3, "vi", "66,7%"),
        (40, 40, "vi", "100%"),
        (0, 40, "vi", "0%"),
        (D("21420"), D("24500"), "vi", "87,4%"),
        (5, 0, "vi", "—"),
    ],
)
def test_format_percent_of(part: object, whole: object, locale: str, expected: str) -> None:
    assert format_percent_of(part, whole, locale=locale) == expected  # type: ignore[arg-type]


def test_no_special_spaces_in_formatted_output() -> None:
    outputs = [
        format_number(10**12),
        format_number(10**12, locale="en"),
        format_value(24500, COUNT, "người"),
        format_value(D("1591896000"), MONEY, "đồng"),
        format_percent_of(1, 3),
        format_datetime(dt.datetime(2026, 3, 5, 7, 30)),
    ]
    for out in outputs:
        assert "\u00a0" not in out and "\u202f" not in out and "\u2009" not in out


def test_format_date() -> None:
    assert format_date(dt.date(2026, 3, 5)) == "05/03/2026"
    assert format_date(dt.date(2026, 3, 5), locale="en") == "05/03/2026"
    # naive datetime = UTC: 20:00 UTC on 4 March is 03:00 on 5 March in Hanoi
    assert format_date(dt.datetime(2026, 3, 4, 20, 0)) == "05/03/2026"
    aware = dt.datetime(2026, 3, 4, 20, 0, tzinfo=ZoneInfo("Europe/Paris"))  # 02:00 +07 next day
    assert format_date(aware) == "05/03/2026"
    assert format_date(dt.datetime(2026, 3, 5, 10, 0, tzinfo=LOCAL_TZ)) == "05/03/2026"


def test_format_datetime() -> None:
    naive_utc = dt.datetime(2026, 3, 5, 7, 30)
    assert format_datetime(naive_utc) == "14:30 05/03/2026"
    assert format_datetime(naive_utc, locale="en") == "05/03/2026 14:30"
    aware = dt.datetime(2026, 3, 5, 14, 30, tzinfo=LOCAL_TZ)
    assert format_datetime(aware) == "14:30 05/03/2026"
    utc = dt.datetime(2026, 3, 4, 23, 5, tzinfo=dt.timezone.utc)
    assert format_datetime(utc) == "06:05 05/03/2026"


# --------------------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**13))
def test_count_roundtrip(n: int) -> None:
    assert parse_number(format_number(n), COUNT) == Parsed(D(n))
    assert parse_number(str(n), COUNT) == Parsed(D(n))
    assert parse_number(format_value(n, COUNT, "người"), COUNT) == Parsed(D(n))
    assert parse_number(format_value(n, MONEY, "đồng"), MONEY) == Parsed(D(n))


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**13))
def test_count_roundtrip_en_is_exact_or_asks_back(n: int) -> None:
    # English grouping "1,234" is ambiguous in a Vietnamese chat; the intended
    # value must then be the first candidate.
    result = parse_number(format_number(n, locale="en"), COUNT)
    if isinstance(result, Ambiguous):
        assert result.candidates[0] == n
    else:
        assert result == Parsed(D(n))


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=1000))
def test_percent_roundtrip(tenths: int) -> None:
    value = D(tenths) / 10
    for locale in ("vi", "en"):
        assert parse_number(format_number(value, locale=locale), PERCENT) == Parsed(value)
        assert parse_number(format_value(value, PERCENT, "%", locale=locale), PERCENT) == Parsed(value)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60), st.sampled_from(list(Kind)))
def test_parse_number_never_raises(text: str, kind: Kind) -> None:
    result = parse_number(text, kind)
    assert isinstance(result, (Parsed, Ambiguous, Invalid))
    if isinstance(result, Ambiguous):
        assert len(result.candidates) >= 2


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789.,  %-+ktrđngìàyỷỉ", max_size=25), st.sampled_from(list(Kind)))
def test_parse_number_never_raises_on_numberish_text(text: str, kind: Kind) -> None:
    assert isinstance(parse_number(text, kind), (Parsed, Ambiguous, Invalid))


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_fold_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(once) == once
