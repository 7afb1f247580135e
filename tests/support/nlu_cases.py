"""The question-understanding evaluation set (tests/data/questions.tsv) and its scoring.

Used by tests/test_nlu_eval.py (a threshold test) and bench/nlu_eval.py (a printed report).
The vocabulary is built from the demo's own specs (no database), and "today" is the
demo's 21/11/2026, so that relative periods ("năm nay", "quý này") have fixed answers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.nlu import Intent, RoundEntry, UnitEntry, Vocabulary, parse

CASES_FILE = Path(__file__).resolve().parents[1] / "data" / "questions.tsv"
HOLDOUT_FILE = Path(__file__).resolve().parents[1] / "data" / "questions_holdout.tsv"
TODAY = date(2026, 11, 21)


@dataclass(frozen=True)
class Case:
    text: str
    intent: str
    indicators: tuple[str, ...]
    period: str | None
    unit: str | None
    line: int


def load_cases(path: Path = CASES_FILE) -> list[Case]:
    cases = []
    for number, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        text, intent, indicators, period, unit = raw.split("\t")
        cases.append(Case(text, intent, tuple(c for c in indicators.split(",") if c and c != "-"),
                          None if period == "-" else period, None if unit == "-" else unit, number))
    return cases


def demo_vocabulary() -> Vocabulary:
    """The vocabulary of the demo province, straight from the catalogue file and bot.demo's specs:
    the units active today (as the bot's vocabulary has them) and every round."""
    from bot.demo import TERM, all_round_rows, build_tree, catalogue_path
    from bot.services.imports import read_table
    from bot.services.periods import normalise_period_code

    rows = read_table(catalogue_path()).rows
    return Vocabulary(
        indicators=[(r.get("code"), [r.get("name_vi"), *(a.strip() for a in r.get("aliases").split(";") if a.strip())])
                    for r in rows],
        units=[UnitEntry(r["code"], r["name"], r["level"]) for r in build_tree().active_rows()],
        rounds=[RoundEntry(r["code"], normalise_period_code(r["period"])) for r in all_round_rows()],
        terms=[TERM],
    )


def slots_match(case: Case, got: Intent) -> bool:
    return (got.name == case.intent and set(got.indicators) == set(case.indicators)
            and got.period == case.period and got.unit == case.unit)


@dataclass
class Result:
    total: int = 0
    intent_ok: int = 0
    slots_ok: int = 0
    per_intent: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    confusion: Counter = field(default_factory=Counter)  # (expected, got) → count
    failures: list[tuple[Case, Intent]] = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        return self.intent_ok / self.total if self.total else 0.0

    @property
    def slot_accuracy(self) -> float:
        return self.slots_ok / self.total if self.total else 0.0


def evaluate(cases: list[Case], vocab: Vocabulary | None = None, today: date = TODAY) -> Result:
    vocab = vocab or demo_vocabulary()
    result = Result()
    for case in cases:
        got = parse(case.text, vocab, today)
        result.total += 1
        result.confusion[(case.intent, got.name)] += 1
        stats = result.per_intent[case.intent]
        stats["total"] += 1
        if got.name == case.intent:
            result.intent_ok += 1
            stats["intent"] += 1
        if slots_match(case, got):
            result.slots_ok += 1
            stats["slots"] += 1
        else:
            result.failures.append((case, got))
    return result


# ---------------------------------------------------------------------------- evaluation set 2

from bot.nlu import context_of, follow_up  # noqa: E402

SET2_FILE = Path(__file__).resolve().parents[1] / "data" / "questions2.tsv"
SET2_HOLDOUT_FILE = Path(__file__).resolve().parents[1] / "data" / "questions2_holdout.tsv"
NOT_FOUND = "?"


@dataclass(frozen=True)
class Case2:
    """A question of set 2: who asks, its follow-up sequence, and the expected reading.

    unit: a code, several codes (ambiguous name), "?" (a unit named but not found), or None.
    """

    role: str
    sequence: str | None
    text: str
    intent: str
    indicators: tuple[str, ...]
    period: str | None
    unit: str | None
    candidates: frozenset[str]
    extra: dict[str, str]
    line: int


def load_cases2(path: Path = SET2_FILE) -> list[Case2]:
    cases = []
    for number, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        role, seq, text, intent, indicators, period, unit, extra = raw.split("\t")
        codes = [] if unit == "-" else unit.split("|")
        cases.append(Case2(
            role, None if seq == "-" else seq, text, intent,
            tuple(c for c in indicators.split(",") if c and c != "-"), None if period == "-" else period,
            codes[0] if len(codes) == 1 else None, frozenset(codes) if len(codes) > 1 else frozenset(),
            dict(kv.split("=", 1) for kv in extra.split(",") if "=" in kv), number))
    return cases


def slots2_match(case: Case2, got: Intent) -> bool:
    if case.unit == NOT_FOUND:
        unit_ok = got.unit is None and not got.unit_candidates and bool(got.unit_query)
    elif case.candidates:
        unit_ok = got.unit is None and set(got.unit_candidates) == case.candidates
    else:
        unit_ok = got.unit == case.unit and not got.unit_candidates and not got.unit_query
    extra = {k: v for k, v in (("order", got.order), ("compare", got.compare)) if v}
    return (got.name == case.intent and set(got.indicators) == set(case.indicators) and got.period == case.period
            and unit_ok and extra == case.extra)


@dataclass
class Result2(Result):
    per_role: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))


def read_in_sequence(cases: list[Case2], vocab: Vocabulary, today: date = TODAY) -> list[Intent]:
    """Each question read as the bot reads it: with the context its sequence's previous questions left."""
    contexts: dict[str, dict] = {}
    out = []
    for case in cases:
        got = parse(case.text, vocab, today)
        if case.sequence is not None:
            got = follow_up(got, contexts.get(case.sequence))
            contexts[case.sequence] = context_of(got)
        out.append(got)
    return out


def evaluate2(cases: list[Case2], vocab: Vocabulary | None = None, today: date = TODAY) -> Result2:
    vocab = vocab or demo_vocabulary()
    result = Result2()
    for case, got in zip(cases, read_in_sequence(cases, vocab, today)):
        result.total += 1
        result.confusion[(case.intent, got.name)] += 1
        for stats in (result.per_intent[case.intent], result.per_role[case.role]):
            stats["total"] += 1
            stats["intent"] += got.name == case.intent
            stats["slots"] += slots2_match(case, got)
        result.intent_ok += got.name == case.intent
        if slots2_match(case, got):
            result.slots_ok += 1
        else:
            result.failures.append((case, got))  # type: ignore[arg-type]
    return result
