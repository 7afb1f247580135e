"""Read CSV or XLSX import files into normalised rows with their line numbers."""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.i18n import _
from bot.services.imports.report import FILE_LINE, ImportReport

HEADER_ALIASES = {"members_hint": "members", "parent": "parent_code", "unit": "unit_code"}


@dataclass(frozen=True)
class SourceRow:
    """One non-blank data row of an import file, with its line number."""

    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


@dataclass(frozen=True)
class SourceTable:
    """The normalised header and data rows of an import file."""

    columns: tuple[str, ...]
    rows: tuple[SourceRow, ...]

    def has(self, column: str) -> bool:
        return column in self.columns


class ImportFileError(Exception):
    """The file as a whole cannot be read; `message` is translated, `line` may be 0."""

    def __init__(self, message: str, line: int = FILE_LINE) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def normalise_header(name: str) -> str:
    """'  Parent Code ' → 'parent_code' (aliases such as members_hint → members applied)."""
    key = re.sub(r"[\s\-]+", "_", (name or "").replace("\ufeff", "").strip().lower())
    return HEADER_ALIASES.get(key, key)


def _build_table(records: Iterable[tuple[int, list[str]]]) -> SourceTable:
    """Turn (line, cells) records into a table: first non-blank record is the header."""
    header: list[str] | None = None
    rows: list[SourceRow] = []
    for line, cells in records:
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if header is None:
            header = [normalise_header(c) for c in cells]
            seen: set[str] = set()
            for name in header:
                if name and name in seen:
                    raise ImportFileError(
                        _("Column {column} appears twice in the header.").format(column=name), line
                    )
                seen.add(name)
            continue
        values = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header) if name}
        rows.append(SourceRow(line=line, values=values))
    if header is None:
        raise ImportFileError(_("The file is empty."))
    return SourceTable(columns=tuple(h for h in header if h), rows=tuple(rows))


def _sniff_delimiter(text: str) -> str:
    """Pick `;`, `,` or a tab by counting them on the first non-blank line."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    counts = {d: first.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _csv_records(text: str) -> Iterable[tuple[int, list[str]]]:
    """Yield (physical start line, cells) for every CSV record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    previous_end = 0
    for cells in reader:
        yield previous_end + 1, cells
        previous_end = reader.line_num


def _read_csv(path: Path) -> SourceTable:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _("The file is not UTF-8 text. Save it as \"CSV UTF-8\" or as an Excel .xlsx file.")
        ) from exc
    try:
        return _build_table(_csv_records(text))
    except csv.Error as exc:
        raise ImportFileError(_("The file cannot be read: {error}.").format(error=exc)) from exc


def _number_text(value: int | float, percent_format: bool) -> str:
    """Write a spreadsheet number as unambiguous Vietnamese text (decimal comma, no grouping)."""
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if percent_format:
        number *= 100
    number = number.normalize()
    if number == number.to_integral_value():
        text = str(int(number))
    else:
        text = format(number, "f").replace(".", ",")
    return text + ("%" if percent_format else "")


def _cell_text(cell: Any) -> str:
    """Render one openpyxl cell as the text a person would have typed."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return _number_text(value, "%" in str(cell.number_format or ""))
    return str(value).strip()


def _read_xlsx(path: Path) -> SourceTable:
    try:
        from openpyxl import load_workbook

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise ImportFileError(_("The file cannot be read: {error}.").format(error=exc)) from exc
    try:
        sheet = workbook.worksheets[0]
        records = [
            (row[0].row, [_cell_text(c) for c in row]) for row in sheet.iter_rows() if row
        ]
    finally:
        workbook.close()
    return _build_table(records)


def read_table(path: str | Path) -> SourceTable:
    """Read a CSV or XLSX import file into rows with their line numbers (raises ImportFileError)."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise ImportFileError(_("The file cannot be read: {error}.").format(error=exc)) from exc
    if p.suffix.lower() == ".xls" or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _("Old Excel .xls files are not supported. Save the sheet as .xlsx or as \"CSV UTF-8\".")
        )
    if p.suffix.lower() in (".xlsx", ".xlsm") or head.startswith(b"PK\x03\x04"):
        return _read_xlsx(p)
    return _read_csv(p)


def load_or_report(path: str | Path, report: ImportReport) -> SourceTable | None:
    try:
        return read_table(path)
    except ImportFileError as exc:
        report.add_error(exc.line, exc.message)
        return None


def check_columns(table: SourceTable, required: Sequence[str], report: ImportReport) -> bool:
    missing = [c for c in required if not table.has(c)]
    if missing:
        report.add_error(
            1, _("Missing column(s): {columns}.").format(columns=", ".join(missing))
        )
        return False
    return True


def table_from_dicts(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> SourceTable:
    """Build a SourceTable from in-memory rows (line numbers start at 2, as under a header)."""
    norm = tuple(normalise_header(c) for c in columns)
    return SourceTable(
        columns=norm,
        rows=tuple(
            SourceRow(line=i, values={normalise_header(k): "" if v is None else str(v) for k, v in r.items()})
            for i, r in enumerate(rows, start=2)
        ),
    )
