"""Cell parsing and lookups shared by the unit, target and round imports."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from bot.i18n import _
from bot.models import Indicator, Level, Sector, Unit
from bot.textvn import Ambiguous, Invalid, Kind, Parsed, fold, parse_number
from bot.services.imports.reading import SourceRow

CODE_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_LIST_SPLIT_RE = re.compile(r"[\s;,]+")
_CHUNK = 500


_LEVEL_WORDS = {
    Level.PROVINCE: {"province", "tinh", "captinh", "ldldtinh", "liendoanlaodongtinh"},
    Level.UPPER: {
        "upper", "captren", "cdcaptren", "congdoancaptren", "captrentructiepcoso",
        "congdoancaptrentructiepcoso", "cdcttcs",
    },
    Level.GRASSROOTS: {"grassroots", "coso", "cdcs", "congdoancoso", "cs"},
}
_SECTOR_WORDS = {
    Sector.HCSN: {"hcsn", "hanhchinhsunghiep", "hanhchinh", "khuvuchanhchinhsunghiep"},
    Sector.DNNN: {"dnnn", "doanhnghiepnhanuoc", "nhanuoc"},
    Sector.NGOAINN: {
        "ngoainn", "ngoainhanuoc", "doanhnghiepngoainhanuoc", "dnngoainhanuoc", "dnngoainn",
        "ngoaikhuvucnhanuoc", "khuvucngoainhanuoc",
    },
}


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(text))


def parse_level(text: str) -> Level | None:
    """'cấp trên' → Level.UPPER, 'CĐCS' → Level.GRASSROOTS; None if not understood."""
    key = _compact(text)
    return next((lvl for lvl, words in _LEVEL_WORDS.items() if key in words), None)


def parse_sector(text: str) -> Sector | None:
    """'ngoài nhà nước' → Sector.NGOAINN; None if not understood (or empty)."""
    key = _compact(text)
    return next((sec for sec, words in _SECTOR_WORDS.items() if key in words), None)


def split_list(text: str) -> list[str]:
    return [t for t in _LIST_SPLIT_RE.split(text or "") if t]


_MAX_LENGTHS = {"code": 64, "name": 300, "type_label": 120, "contact": 300, "title": 300}
ROUND_CODE_MAX = 32


def too_long(row: SourceRow, columns: Sequence[str], limits: dict[str, int] | None = None) -> list[str]:
    """Problems for cells longer than their database column allows."""
    limits = {**_MAX_LENGTHS, **(limits or {})}
    return [
        _("Column {column} is too long (at most {limit} characters).").format(column=c, limit=limits[c])
        for c in columns
        if len(row.get(c)) > limits[c]
    ]


def empty_cell(column: str) -> str:
    return _("Column {column} is empty.").format(column=column)


def bad_level(value: str) -> str:
    return _("Unknown level {value}: write province, upper or grassroots (tỉnh, cấp trên, cơ sở).").format(
        value=value
    )


def bad_sector(value: str) -> str:
    return _("Unknown sector {value}: write hcsn, dnnn or ngoainn, or leave it empty.").format(
        value=value
    )


def bad_period(value: str) -> str:
    return _(
        "Bad period {value}: write 2026, 2026-Q1 … 2026-Q4, 2026-H1, 2026-H2 or 2023-2028."
    ).format(value=value)


def plain_number(value: Decimal) -> str:
    """A number written so that nobody can misread it: 1500, 1,5."""
    value = value.normalize()
    if value == value.to_integral_value():
        return str(int(value))
    return format(value, "f").replace(".", ",")


def _invalid_number_message(value: str, reason: str) -> str:
    messages = {
        "empty": _("The value is empty."),
        "too_long": _("The value {value} is too long."),
        "not_whole": _("The value {value} must be a whole number."),
        "too_many_decimals": _("The value {value} has too many decimals (at most 2)."),
        "percent_sign": _("The value {value} must not be a percentage."),
        "percent_multiplier": _("A percentage cannot use k, triệu or tỷ: {value}."),
        "wrong_unit": _("The value {value} has the wrong unit for this indicator."),
        "not_yesno": _("The value {value} must be có or không."),
    }
    return messages.get(reason, _("The value {value} is not a number.")).format(value=value)


def parse_value(text: str, kind: Kind) -> tuple[Decimal | None, str | None]:
    """Parse a cell with textvn.parse_number: (value, None) or (None, translated problem)."""
    result = parse_number(text, kind)
    if isinstance(result, Parsed):
        return result.value, None
    if isinstance(result, Ambiguous):
        options = " / ".join(plain_number(c) for c in result.candidates)
        return None, _(
            "The value {value} is ambiguous; write it as one of: {options} (no dots between thousands)."
        ).format(value=text, options=options)
    assert isinstance(result, Invalid)
    return None, _invalid_number_message(text, result.reason)


def chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def units_by_code(session: Session, codes: Iterable[str]) -> dict[str, Unit]:
    wanted = sorted(set(codes))
    found: dict[str, Unit] = {}
    for chunk in chunks(wanted):
        for unit in session.exec(select(Unit).where(col(Unit.code).in_(chunk))):
            found[unit.code] = unit
    return found


def indicators_by_code(session: Session) -> dict[str, Indicator]:
    """Every indicator, keyed by upper-case code (codes are matched case-insensitively)."""
    return {ind.code.upper(): ind for ind in session.exec(select(Indicator))}
