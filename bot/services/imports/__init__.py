"""Import the indicator catalogue, units, targets and reporting rounds from CSV or Excel files prepared by staff.

Every import is all-or-nothing: all rows are checked first, and if one row is bad
nothing is written and the report lists every bad row with its line number and a
reason (translated through gettext). Importing the same file twice changes nothing
the second time: rows whose content is already in the database count as
"unchanged" and are not touched.

Files: CSV in UTF-8 (with or without BOM, `,` or `;` as delimiter, blank lines
ignored) or XLSX (first sheet, header in row 1). Header names are case-insensitive;
surrounding spaces are ignored and inner spaces count as `_` ("Parent code" =
`parent_code`). Line numbers are physical lines of the CSV (header = line 1) or
row numbers of the sheet.

Nothing is committed here: the caller owns the transaction (see bot.db.session_scope).

One job per module: `report` (the outcome), `reading` (files → rows), `parsing` (cells,
shared by all imports), `indicators`, `units`, `targets`, `rounds`. This package re-exports the public names.
"""

from bot.services.imports.indicators import (
    INDICATOR_COLUMNS,
    INDICATOR_OPTIONAL_COLUMNS,
    import_indicator_table,
    import_indicators,
)
from bot.services.imports.parsing import parse_level, parse_sector, parse_value
from bot.services.imports.reading import (
    HEADER_ALIASES,
    ImportFileError,
    SourceRow,
    SourceTable,
    normalise_header,
    read_table,
    table_from_dicts,
)
from bot.services.imports.report import FILE_LINE, ImportReport
from bot.services.imports.rounds import (
    ROUND_COLUMNS,
    ROUND_OPTIONAL_COLUMNS,
    default_audience,
    import_round_table,
    import_rounds,
)
from bot.services.imports.targets import (
    TARGET_COLUMNS,
    TARGET_OPTIONAL_COLUMNS,
    import_target_table,
    import_targets,
    target_kind,
)
from bot.services.imports.units import (
    UNIT_COLUMNS,
    UNIT_OPTIONAL_COLUMNS,
    import_unit_table,
    import_units,
)

__all__ = [
    "FILE_LINE",
    "HEADER_ALIASES",
    "INDICATOR_COLUMNS",
    "INDICATOR_OPTIONAL_COLUMNS",
    "ImportFileError",
    "ImportReport",
    "ROUND_COLUMNS",
    "ROUND_OPTIONAL_COLUMNS",
    "SourceRow",
    "SourceTable",
    "TARGET_COLUMNS",
    "TARGET_OPTIONAL_COLUMNS",
    "UNIT_COLUMNS",
    "UNIT_OPTIONAL_COLUMNS",
    "default_audience",
    "import_indicator_table",
    "import_indicators",
    "import_round_table",
    "import_rounds",
    "import_target_table",
    "import_targets",
    "import_unit_table",
    "import_units",
    "normalise_header",
    "parse_level",
    "parse_sector",
    "parse_value",
    "read_table",
    "table_from_dicts",
    "target_kind",
]
