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
    """The vocabulary of the demo province, straight from bot.demo's specs."""
    from bot.demo import INDICATORS, TERM, build_round_rows, build_tree
    from bot.services.periods import normalise_period_code

    return Vocabulary(
        indicators=[(s.code, [s.name_vi, *(a.strip() for a in s.aliases.split(";") if a.strip())])
                    for s in INDICATORS],
        units=[UnitEntry(r["code"], r["name"], r["level"]) for r in build_tree().unit_rows],
        rounds=[RoundEntry(r["code"], normalise_period_code(r["period"])) for r in build_round_rows()],
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
