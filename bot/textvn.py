"""Vietnamese text helpers: folding, chat-style number parsing, formatting.

Three independent parts:

1. ``fold`` – normalise text so that questions typed without diacritics
   ("chi tieu ket nap") match their accented originals.
2. ``parse_number`` / ``parse_yesno`` – read numbers the way people type them
   in a Vietnamese chat ("1.234", "1,5", "1tr5", "2 triệu 500 nghìn",
   "87,5%", "1.500.000đ" ...).  When a reading is genuinely ambiguous
   ("1,234": one thousand two hundred thirty-four, or one point two three
   four?) we return ``Ambiguous`` so the bot can ask back instead of guessing.
3. ``format_*`` – display numbers, percentages and dates with Babel
   (locale "vi" by default, "en" supported).

Range checks (percent ≤ 100, non-negative counts, ...) are deliberately NOT
done here; callers validate the parsed value against the indicator's rules.

Why not ``babel.numbers.parse_decimal(..., locale="vi", strict=True)``?
It was evaluated (Babel 2.18): it only knows one locale's convention at a
time (we must accept both "1.234,5" and "1,234.5"), it cannot report
ambiguity, and it is more lenient than wanted for chat input — it accepts
"1e5", "NaN", "1_000", "1," and non-ASCII digits such as "١٢٣".  A small
explicit regex reader below is both simpler and stricter.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from enum import StrEnum
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as _babel_format_datetime
from babel.numbers import format_decimal as _babel_format_decimal

__all__ = [
    "LOCAL_TZ",
    "MAX_INPUT_LENGTH",
    "MAX_PERCENT_DECIMALS",
    "Ambiguous",
    "Invalid",
    "Kind",
    "ParseResult",
    "Parsed",
    "Reason",
    "check_kind",
    "fold",
    "format_date",
    "format_datetime",
    "format_number",
    "format_percent_of",
    "format_value",
    "parse_number",
    "parse_yesno",
]

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# ---------------------------------------------------------------------------
# 1. Folding
# ---------------------------------------------------------------------------

_WHITESPACE_RE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lowercase, strip Vietnamese diacritics and collapse whitespace.

    >>> fold("Chỉ tiêu KẾT NẠP  Đoàn viên ")
    'chi tieu ket nap doan vien'
    """
    text = unicodedata.normalize("NFC", text).lower()
    # đ is a separate letter, not d + combining mark, so NFD leaves it alone.
    text = text.replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Re-compose whatever is left (only matters for non-Latin scripts).
    stripped = unicodedata.normalize("NFC", stripped)
    return _WHITESPACE_RE.sub(" ", stripped).strip()


# ---------------------------------------------------------------------------
# 2. Parsing
# ---------------------------------------------------------------------------


class Kind(StrEnum):
    COUNT = "count"
    MONEY = "money"
    PERCENT = "percent"
    YESNO = "yesno"


class Reason(StrEnum):
    """Machine codes used in ``Invalid.reason`` (StrEnum: equal to the plain str)."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_A_NUMBER = "not_a_number"
    NOT_WHOLE = "not_whole"  # COUNT/MONEY with a fractional part
    TOO_MANY_DECIMALS = "too_many_decimals"  # PERCENT with > MAX_PERCENT_DECIMALS
    PERCENT_SIGN = "percent_sign"  # "%" / "phần trăm" on a non-percent kind
    PERCENT_MULTIPLIER = "percent_multiplier"  # "k"/"triệu"/"tỷ" on a percent
    WRONG_UNIT = "wrong_unit"  # "đồng" on a COUNT, "người" on MONEY, ...
    NOT_YESNO = "not_yesno"  # Kind.YESNO and the answer is not yes/no


@dataclass(frozen=True)
class Parsed:
    value: Decimal


@dataclass(frozen=True)
class Ambiguous:
    """Several readings are plausible; ask the user which one they meant.

    ``candidates`` are readings of the text, in the order (grouping reading,
    decimal reading).  They are not validated against the kind's rules
    (whole numbers, decimals); use ``check_kind`` on the one the user picks.
    """

    candidates: tuple[Decimal, ...]


@dataclass(frozen=True)
class Invalid:
    reason: str


ParseResult = Parsed | Ambiguous | Invalid

MAX_INPUT_LENGTH = 40
MAX_PERCENT_DECIMALS = 2

# All word lists are in folded form (see ``fold``).
_MULTIPLIERS: dict[str, Decimal] = {
    "k": Decimal(10) ** 3,
    "nghin": Decimal(10) ** 3,  # nghìn
    "ngan": Decimal(10) ** 3,  # ngàn
    "tr": Decimal(10) ** 6,
    "trieu": Decimal(10) ** 6,  # triệu
    "ty": Decimal(10) ** 9,  # tỷ
    "ti": Decimal(10) ** 9,  # tỉ
}
_CURRENCY_WORDS = {("d",), ("dong",), ("vnd",)}  # đ, đồng, VNĐ/VND (₫ is mapped to đ)
_COUNT_UNIT_WORDS = {("nguoi",), ("don", "vi"), ("suat",), ("can",)}  # người, đơn vị, suất, căn
_PERCENT_WORDS = {("%",), ("phan", "tram")}  # %, phần trăm

# Tokens of the folded input.  A number is digits with single ".", "," or " "
# separators between digit runs ("1.234,5", "1 234"); the separators are
# interpreted later by ``_read_plain``.
_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>[0-9]+(?:[., ][0-9]+)*)|(?P<word>[a-z]+)|(?P<sym>[%+-]))",
    re.ASCII,
)
_GROUPED_DOT_RE = re.compile(r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+")  # 1.234.567
_GROUPED_COMMA_RE = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+")  # 1,234,567
_GROUPED_SPACE_RE = re.compile(r"([1-9][0-9]{0,2}(?: [0-9]{3})+)(?:[.,]([0-9]+))?")  # 1 234,5
_VN_MIXED_RE = re.compile(r"([1-9][0-9]{0,2}(?:\.[0-9]{3})+),([0-9]+)")  # 1.234,5
_EN_MIXED_RE = re.compile(r"([1-9][0-9]{0,2}(?:,[0-9]{3})+)\.([0-9]+)")  # 1,234.5

# Enough precision for any 40-character input times 10^9, exactly.
_PRECISION = 100


def _canonical(value: Decimal) -> Decimal:
    """1500.00 -> 1500, 87.50 -> 87.5, -0 -> 0 (never exponent notation)."""
    if value == 0:
        return Decimal(0)
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _decimal(int_part: str, frac_part: str | None = None) -> Decimal:
    return Decimal(f"{int_part}.{frac_part}" if frac_part else int_part)


def _read_plain(s: str, *, dot_group_ambiguous: bool) -> ParseResult:
    """Read one number token (ASCII digits with ".", "," or " " separators).

    Rules (VN: "." groups thousands, "," is decimal; EN the other way round):
    - digits only: integer;
    - spaces: thousands groups of exactly 3, optional ",x"/".x" decimal part;
    - both "." and ",": the last one is the decimal separator, the other one
      must form valid groups of 3 ("1.234,5", "1,234.5");
    - the same separator twice or more: thousands grouping ("1.234.567");
    - one separator: if it is followed by exactly 3 digits and preceded by
      1-3 digits (no leading 0) it could be a thousands group:
        "," -> always ambiguous ("1,234": EN 1234 or VN 1.234);
        "." -> thousands (VN convention) unless ``dot_group_ambiguous``
               (percentages and numbers before a multiplier, where 1.5 is a
               perfectly normal value), then ambiguous;
      otherwise it is the decimal separator ("1,5", "87.5", "1234.567").
    """
    if s.isdigit():
        return Parsed(Decimal(s))

    if " " in s:
        m = _GROUPED_SPACE_RE.fullmatch(s)
        if not m:
            return Invalid(Reason.NOT_A_NUMBER)
        return Parsed(_decimal(m[1].replace(" ", ""), m[2]))

    if "." in s and "," in s:
        for regex, group_sep in ((_VN_MIXED_RE, "."), (_EN_MIXED_RE, ",")):
            m = regex.fullmatch(s)
            if m:
                return Parsed(_decimal(m[1].replace(group_sep, ""), m[2]))
        return Invalid(Reason.NOT_A_NUMBER)

    sep = "." if "." in s else ","
    if s.count(sep) > 1:
        regex = _GROUPED_DOT_RE if sep == "." else _GROUPED_COMMA_RE
        if regex.fullmatch(s):
            return Parsed(Decimal(s.replace(sep, "")))
        return Invalid(Reason.NOT_A_NUMBER)

    int_part, frac_part = s.split(sep)
    could_be_group = len(frac_part) == 3 and len(int_part) <= 3 and not int_part.startswith("0")
    if not could_be_group:
        return Parsed(_decimal(int_part, frac_part))
    grouped = Decimal(int_part + frac_part)
    as_decimal = _decimal(int_part, frac_part)
    if sep == "." and not dot_group_ambiguous:
        return Parsed(grouped)
    return Ambiguous((grouped, as_decimal))


def _tokenize(s: str) -> list[tuple[str, str]] | None:
    """Split folded text into ("num"|"word"|"sym", text) tokens; None if junk."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(s):
        m = _TOKEN_RE.match(s, pos)
        if not m or m.end() == pos:
            return None
        assert m.lastgroup is not None
        tokens.append((m.lastgroup, m[m.lastgroup]))
        pos = m.end()
    return tokens


def _strip_suffix(words: list[str], options: set[tuple[str, ...]]) -> list[str] | None:
    """If ``words`` ends with one of ``options``, return it without; else None."""
    for option in options:
        n = len(option)
        if len(words) > n and tuple(words[-n:]) == option:
            return words[:-n]
    return None


def check_kind(value: Decimal, kind: Kind) -> Parsed | Invalid:
    """Apply the per-kind shape rules (not ranges) to an already-read value.

    COUNT and MONEY must be whole; PERCENT has at most 2 decimals.
    Useful after the user resolved an ``Ambiguous`` by picking a candidate.
    """
    value = _canonical(value)
    if kind in (Kind.COUNT, Kind.MONEY) and value != value.to_integral_value():
        return Invalid(Reason.NOT_WHOLE)
    if kind == Kind.PERCENT and -value.as_tuple().exponent > MAX_PERCENT_DECIMALS:  # type: ignore[operator]
        return Invalid(Reason.TOO_MANY_DECIMALS)
    return Parsed(value)


def _read_amount(body: list[tuple[str, str]], kind: Kind) -> ParseResult:
    """Read the numeric body (sign and suffix already removed).

    Grammar, tokens separated by optional spaces:
        NUM                                   plain number: "1.234,5"
        NUM MULT                              "2 triệu", "1,2 tỷ", "500k"
        NUM MULT TAIL                         "1tr5", "1tr500", "1 tỷ 2"
        NUM MULT NUM MULT ... [TAIL]          "2 triệu 500 nghìn", "1 tỷ 200 triệu"
    where MULT is k/nghìn/ngàn/tr/triệu/tỷ/tỉ.

    A TAIL is 1-3 bare digits continuing the last multiplier the way people
    say "một triệu rưỡi / một triệu hai": "1tr5" = 1.5 triệu, "1tr500" =
    1.500 triệu = 1 triệu 500 nghìn.  Two digits are ambiguous ("1tr25": 1.25
    triệu or 1 triệu 25 nghìn?) and are asked back.

    In compounds (more than one NUM) every NUM must be bare digits, the
    multipliers must strictly decrease and each later part must be smaller
    than the previous multiplier ("2 triệu 1500 nghìn" is rejected).
    """
    if not body:
        return Invalid(Reason.NOT_A_NUMBER)
    has_multiplier = any(t == "word" for t, _ in body)
    if has_multiplier and kind == Kind.PERCENT:
        if all(t != "word" or v in _MULTIPLIERS for t, v in body):
            return Invalid(Reason.PERCENT_MULTIPLIER)
        return Invalid(Reason.NOT_A_NUMBER)

    # Split into (number, multiplier) parts plus an optional trailing tail.
    parts: list[tuple[str, Decimal]] = []
    tail: str | None = None
    i = 0
    while i < len(body):
        tok_type, tok = body[i]
        if tok_type != "num":
            return Invalid(Reason.NOT_A_NUMBER)
        nxt = body[i + 1] if i + 1 < len(body) else None
        if nxt is not None and nxt[0] == "word" and nxt[1] in _MULTIPLIERS:
            parts.append((tok, _MULTIPLIERS[nxt[1]]))
            i += 2
        elif nxt is None and parts:
            tail = tok
            i += 1
        elif nxt is None:  # a single plain number
            return _read_plain(tok, dot_group_ambiguous=kind == Kind.PERCENT)
        else:
            return Invalid(Reason.NOT_A_NUMBER)

    # "2 triệu", "1,2 tỷ", "1.500 triệu" (ambiguous): one part, no tail.
    if len(parts) == 1 and tail is None:
        number, multiplier = parts[0]
        read = _read_plain(number, dot_group_ambiguous=True)
        if isinstance(read, Parsed):
            return Parsed(read.value * multiplier)
        if isinstance(read, Ambiguous):
            return Ambiguous(tuple(c * multiplier for c in read.candidates))
        return read

    # Compounds and tails: bare digits only.
    total = Decimal(0)
    previous: Decimal | None = None
    for number, multiplier in parts:
        if not number.isdigit():
            return Invalid(Reason.NOT_A_NUMBER)
        amount = Decimal(number) * multiplier
        if previous is not None and (multiplier >= previous or amount >= previous):
            return Invalid(Reason.NOT_A_NUMBER)
        total += amount
        previous = multiplier
    if tail is None:
        return Parsed(total)
    if not tail.isdigit() or len(tail) > 3:
        return Invalid(Reason.NOT_A_NUMBER)
    assert previous is not None
    as_fraction = total + Decimal(tail) * previous / Decimal(10) ** len(tail)
    if len(tail) == 2:
        as_next_unit = total + Decimal(tail) * previous / 1000
        return Ambiguous((as_fraction, as_next_unit))
    return Parsed(as_fraction)


def parse_number(text: str, kind: Kind) -> ParseResult:
    """Parse a number typed in chat for an indicator of the given kind.

    Returns ``Parsed(value)``, ``Ambiguous(candidates)`` (ask back) or
    ``Invalid(reason)`` with a ``Reason`` code.  Never raises for str input.

    Accepted extras around the number: a leading "+"/"-"; for PERCENT a
    trailing "%" or "phần trăm"; for MONEY a trailing đ/đồng/VNĐ/₫ (and the
    multipliers k/nghìn/ngàn/tr/triệu/tỷ/tỉ, also allowed for COUNT); for
    COUNT a trailing người/đơn vị/suất/căn.  For Kind.YESNO the text is read
    with ``parse_yesno`` and the result is Parsed(1) / Parsed(0).
    """
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        return Invalid(Reason.EMPTY)
    if len(text) > MAX_INPUT_LENGTH:
        return Invalid(Reason.TOO_LONG)

    if kind == Kind.YESNO:
        answer = parse_yesno(text)
        if answer is None:
            return Invalid(Reason.NOT_YESNO)
        return Parsed(Decimal(int(answer)))

    # fold() also turns non-breaking / narrow spaces into plain spaces.
    s = fold(text.replace("₫", " đ").replace("\u2212", "-"))  # ₫ sign, − minus
    tokens = _tokenize(s)
    if tokens is None:
        return Invalid(Reason.NOT_A_NUMBER)

    sign = Decimal(1)
    if tokens and tokens[0][0] == "sym" and tokens[0][1] in "+-":
        sign = Decimal(-1) if tokens[0][1] == "-" else Decimal(1)
        tokens = tokens[1:]

    # Optional unit suffix.  Symbols/words are compared as a word list.
    words = [tok for _, tok in tokens]
    for options, allowed_kind, wrong_reason in (
        (_PERCENT_WORDS, Kind.PERCENT, Reason.PERCENT_SIGN),
        (_CURRENCY_WORDS, Kind.MONEY, Reason.WRONG_UNIT),
        (_COUNT_UNIT_WORDS, Kind.COUNT, Reason.WRONG_UNIT),
    ):
        rest = _strip_suffix(words, options)
        if rest is not None:
            if kind != allowed_kind:
                return Invalid(wrong_reason)
            tokens = tokens[: len(rest)]
            break

    with localcontext(prec=_PRECISION):
        try:
            result = _read_amount(tokens, kind)
        except InvalidOperation:  # pragma: no cover - defensive
            return Invalid(Reason.NOT_A_NUMBER)
        if isinstance(result, Invalid):
            return result
        if isinstance(result, Ambiguous):
            candidates: list[Decimal] = []
            for c in result.candidates:
                c = _canonical(sign * c)
                if c not in candidates:
                    candidates.append(c)
            if len(candidates) == 1:
                return check_kind(candidates[0], kind)
            return Ambiguous(tuple(candidates))
        return check_kind(sign * result.value, kind)


_YES = {"co", "c", "yes", "y", "roi", "da", "x", "✓", "✔", "✅", "vang", "ok", "okay"}
_NO = {"khong", "ko", "k", "no", "n", "chua", "✗", "✘", "❌"}
_EDGE_PUNCT = " .!?,;:…\"'()[]\ufe0f"  # \ufe0f: emoji variation selector


def parse_yesno(text: str) -> bool | None:
    """Yes/no answer → True/False, or None if it is not clearly one of them.

    Yes: có/co/c/yes/y/rồi/roi/đã/da (also "dạ")/x/✓/✔/✅/vâng/ok.
    No:  không/khong/ko/k/no/n/chưa/chua/✗/✘/❌.
    Surrounding punctuation is ignored ("Có!").  Digits are never yes/no:
    "1"/"2" are numbered menu choices.
    """
    folded = fold(text).strip(_EDGE_PUNCT)
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    return None


# ---------------------------------------------------------------------------
# 3. Formatting
# ---------------------------------------------------------------------------

# Babel may emit these in some locales; chat output uses plain spaces/hyphen.
_SPACE_LIKE = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u2212": "-"})


def _to_decimal(value: Decimal | int | float) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, float):
        result = Decimal(repr(value))  # 0.1 -> Decimal("0.1"), not the binary expansion
    else:
        result = Decimal(int(value))
    if not result.is_finite():
        raise ValueError(f"cannot format non-finite number {value!r}")
    return result


def format_number(value: Decimal | int | float, locale: str = "vi", max_decimals: int = 2) -> str:
    """Locale number: vi "1.591.896.000", "87,5"; en "1,591,896,000", "87.5".

    At most ``max_decimals`` decimals, rounded half-up, no trailing zeros
    ("87,5" not "87,50"; "2" not "2,0").  Only plain ASCII spaces/hyphen.
    """
    number = _to_decimal(value)
    with localcontext(prec=_PRECISION):
        number = number.quantize(Decimal(1).scaleb(-max_decimals), rounding=ROUND_HALF_UP)
        if number == 0:
            number = Decimal(0)  # no "-0"
        pattern = "#,##0" + ("." + "#" * max_decimals if max_decimals > 0 else "")
        text = _babel_format_decimal(number, format=pattern, locale=locale)
    return text.translate(_SPACE_LIKE)


_YESNO_LABELS = {"vi": ("Có", "Không"), "en": ("Yes", "No")}


def format_value(value: Decimal | int | float | bool, kind: Kind, unit: str, locale: str = "vi") -> str:
    """Value with its unit for display.

    MONEY/COUNT: "<number> <unit>" ("1.591.896.000 đồng", "24.500 người";
    no unit → just the number).  PERCENT: "87,5%" (``unit`` ignored).
    YESNO: "Có"/"Không" (en "Yes"/"No") from the truthiness of ``value``.
    """
    if kind == Kind.YESNO:
        yes, no = _YESNO_LABELS.get(locale.split("_")[0], _YESNO_LABELS["vi"])
        return yes if value else no
    number = format_number(value, locale=locale)
    if kind == Kind.PERCENT:
        return number + "%"
    return f"{number} {unit}" if unit else number


def format_percent_of(part: Decimal | int | float, whole: Decimal | int | float, locale: str = "vi") -> str:
    """``part`` as a percentage of ``whole``, at most one decimal: "87,5%".

    Trailing ",0" is dropped like everywhere else ("100%").  ``whole == 0``
    gives "—" (no meaningful percentage).
    """
    whole_d = _to_decimal(whole)
    if whole_d == 0:
        return "—"
    with localcontext(prec=_PRECISION):
        ratio = _to_decimal(part) * 100 / whole_d
    return format_number(ratio, locale=locale, max_decimals=1) + "%"


def _to_local(dt: _dt.datetime) -> _dt.datetime:
    """Aware → Asia/Ho_Chi_Minh; naive datetimes are taken to be UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_dt.timezone.utc)
    return dt.astimezone(LOCAL_TZ)


def format_date(d: _dt.date | _dt.datetime, locale: str = "vi") -> str:
    """dd/MM/yyyy for every locale ("05/03/2026"); datetimes → local date first."""
    if isinstance(d, _dt.datetime):
        d = _to_local(d).date()
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


_DATETIME_PATTERNS = {"vi": "HH:mm dd/MM/yyyy", "en": "dd/MM/yyyy HH:mm"}


def format_datetime(dt: _dt.datetime, locale: str = "vi") -> str:
    """Local (Asia/Ho_Chi_Minh) time: vi "14:30 05/03/2026", en "05/03/2026 14:30".

    24-hour clock and day-first dates in both locales; naive input is UTC.
    """
    pattern = _DATETIME_PATTERNS.get(locale.split("_")[0], _DATETIME_PATTERNS["vi"])
    return _babel_format_datetime(_to_local(dt), pattern, tzinfo=LOCAL_TZ, locale=locale).translate(_SPACE_LIKE)
