"""Accuracy of the question parser (bot.nlu) on the evaluation sets, per intent and per asker
role, with the confusion between intents, the questions it gets wrong, and the latency the
bot pays per question.

    .venv/bin/python bench/nlu_eval.py [--failures] [--set 1|2] [--holdout] [--no-latency]

Set 1 (tests/data/questions.tsv, chairs' questions) and set 2 (tests/data/questions2.tsv,
issue 19: officers, staff, rankings, comparisons, unit names, follow-ups, regulations) are
the sets the rules were tuned on; their held-out parts (questions_holdout.tsv,
questions2_holdout.tsv) were written before the rules they evaluate and are reported apart.
Without --set and --holdout every set is reported, tuned and held-out separately.

Latency "as the bot pays it": the bot builds the parser's vocabulary from the database for
every question (bot.services.progress.vocabulary, then the compiled index) before parsing;
the script times exactly that against the demo province in a temporary SQLite file, and
also the parse alone. tests/unit/test_nlu_eval.py holds the pass thresholds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "support")]

from bot.nlu import INTENTS, parse  # noqa: E402
from nlu_cases import (  # noqa: E402
    CASES_FILE,
    HOLDOUT_FILE,
    SET2_FILE,
    SET2_HOLDOUT_FILE,
    TODAY,
    demo_vocabulary,
    evaluate,
    evaluate2,
    load_cases,
    load_cases2,
)

SETS = {
    ("1", False): ("set 1 (chairs), tuned", CASES_FILE),
    ("1", True): ("set 1 (chairs), held-out", HOLDOUT_FILE),
    ("2", False): ("set 2 (issue 19), tuned", SET2_FILE),
    ("2", True): ("set 2 (issue 19), held-out", SET2_HOLDOUT_FILE),
}


def report(title: str, path: Path, failures: bool) -> None:
    second = path in (SET2_FILE, SET2_HOLDOUT_FILE)
    result = evaluate2(load_cases2(path)) if second else evaluate(load_cases(path))
    print(f"== {title}: {path.relative_to(ROOT)}")
    print(f"{result.total} questions; intent accuracy {result.intent_accuracy:6.1%} ({result.intent_ok}/"
          f"{result.total}); fully correct slots {result.slot_accuracy:6.1%} ({result.slots_ok}/{result.total})")
    print(f"{'intent':15} {'n':>4} {'intent':>8} {'slots':>8}")
    for name in INTENTS:
        stats = result.per_intent.get(name)
        if stats:
            n = stats["total"]
            print(f"{name:15} {n:4d} {stats['intent'] / n:8.1%} {stats['slots'] / n:8.1%}")
    if second:
        print(f"{'asker role':15} {'n':>4} {'intent':>8} {'slots':>8}")
        for role, stats in sorted(result.per_role.items()):  # type: ignore[attr-defined]
            n = stats["total"]
            print(f"{role:15} {n:4d} {stats['intent'] / n:8.1%} {stats['slots'] / n:8.1%}")
    names = [n for n in INTENTS if any(result.confusion[(n, g)] or result.confusion[(g, n)] for g in INTENTS)]
    print("confusion (rows: expected, columns: recognised)")
    print(f"{'':15}" + "".join(f"{n[:6]:>7}" for n in names))
    for expected in names:
        print(f"{expected:15}" + "".join(f"{result.confusion[(expected, got)] or '.':>7}" for got in names))
    if failures:
        for case, got in result.failures:
            print(f"line {case.line}: {case.text!r}\n    expected {case.intent} {list(case.indicators)} {case.period} "
                  f"{getattr(case, 'unit', None)} {getattr(case, 'extra', '')}\n    got      {got.name} "
                  f"{list(got.indicators)} {got.period} {got.unit} {list(got.unit_candidates) or ''} "
                  f"{got.unit_query or ''} {got.order or ''} {got.compare or ''}")
    print()


def latency() -> None:
    """Milliseconds per question, the way the bot answers one: vocabulary from the database + parse."""
    from bot.db import make_engine, session_scope, upgrade
    from bot.demo import load_demo
    from bot.services import progress

    questions = [c.text for c in load_cases2(SET2_FILE)] + [c.text for c in load_cases(CASES_FILE)]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.sqlite'}"
        upgrade(url)
        engine = make_engine(url)
        with session_scope(engine) as session:
            load_demo(session)
        paid: list[float] = []
        for text in questions:
            started = time.perf_counter()
            with session_scope(engine) as session:
                vocab = progress.vocabulary(session)
                parse(text, vocab, TODAY)
            paid.append((time.perf_counter() - started) * 1000)
        engine.dispose()
    vocab = demo_vocabulary()
    vocab.index
    alone: list[float] = []
    for text in questions:
        started = time.perf_counter()
        parse(text, vocab, TODAY)
        alone.append((time.perf_counter() - started) * 1000)

    def line(name: str, xs: list[float]) -> str:
        xs = sorted(xs)
        return (f"{name:44} p50 {statistics.median(xs):7.2f} ms   p95 {xs[int(len(xs) * 0.95) - 1]:7.2f} ms   "
                f"max {xs[-1]:7.2f} ms")

    print(f"== latency over {len(questions)} questions (demo province, {len(vocab.units)} units, SQLite)")
    print(line("as the bot pays it (vocabulary from DB + parse)", paid))
    print(line("parse alone (vocabulary already compiled)", alone))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", action="store_true", help="list every question with a wrong intent or slot")
    parser.add_argument("--set", choices=("1", "2"), help="only this set (default: both)")
    parser.add_argument("--holdout", action="store_true", help="only the held-out part of the set(s)")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency measurement")
    args = parser.parse_args()
    for (number, held), (title, path) in SETS.items():
        if (args.set is None or args.set == number) and (not args.holdout or held):
            report(title, path, args.failures)
    if not args.no_latency:
        latency()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
