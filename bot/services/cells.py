"""Spreadsheet cells that cannot run as formulas (CSV / formula injection, OWASP).

Unit names, round titles and Telegram display names come from people outside the
office. Text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read as a formula by Excel and LibreOffice; every export goes through this module:

* XLSX: such text is written as a text cell with Excel's "quote prefix" (shown as
  typed, never evaluated) — ``save_workbook`` does it for every cell of every sheet;
* CSV: such text gets a leading apostrophe — ``csv_row``.

Numbers stay numbers (a negative figure is a number, not text starting with ``-``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_risky(value: object) -> bool:
    """Text a spreadsheet would take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_value(value: Any) -> Any:
    """A CSV field that opens as text: risky text gets a leading apostrophe."""
    return "'" + value if is_risky(value) else value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_value(v) for v in values]


def defuse(workbook: Workbook) -> int:
    """Make every risky text cell of the workbook a plain text cell; returns how many."""
    changed = 0
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if is_risky(cell.value):
                    cell.data_type = "s"  # openpyxl typed "=…" as a formula on assignment
                    cell.quotePrefix = True
                    changed += 1
    return changed


def save_workbook(workbook: Workbook) -> bytes:
    """The .xlsx bytes of a workbook, with no cell that runs as a formula."""
    defuse(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
