"""Accuracy of the question parser (bot.nlu) on the evaluation set, per intent, with the
confusion between intents and the questions it gets wrong.

    .venv/bin/python bench/nlu_eval.py [--failures] [--holdout]

The set is tests/data/questions.tsv (the rules were tuned on it); --holdout scores
tests/data/questions_holdout.tsv, written afterwards and not tuned on.
tests/test_nlu_eval.py holds the pass thresholds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "support")]

from bot.nlu import INTENTS  # noqa: E402
from nlu_cases import CASES_FILE, HOLDOUT_FILE, demo_vocabulary, evaluate, load_cases  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", action="store_true", help="list every question with a wrong intent or slot")
    parser.add_argument("--holdout", action="store_true",
                        help="evaluate the held-out set (tests/data/questions_holdout.tsv) instead")
    args = parser.parse_args()
    cases = load_cases(HOLDOUT_FILE if args.holdout else CASES_FILE)
    vocab = demo_vocabulary()
    vocab.index  # build the compiled vocabulary outside the timing, as the bot does once per question
    started = time.perf_counter()
    result = evaluate(cases, vocab)
    elapsed = time.perf_counter() - started

    print(f"{result.total} questions, {elapsed * 1000 / result.total:.2f} ms each")
    print(f"intent accuracy      {result.intent_accuracy:6.1%}  ({result.intent_ok}/{result.total})")
    print(f"fully correct slots  {result.slot_accuracy:6.1%}  ({result.slots_ok}/{result.total})")
    print()
    print(f"{'intent':15} {'n':>4} {'intent':>8} {'slots':>8}")
    for name in INTENTS:
        stats = result.per_intent.get(name)
        if not stats:
            continue
        n = stats["total"]
        print(f"{name:15} {n:4d} {stats['intent'] / n:8.1%} {stats['slots'] / n:8.1%}")
    print()
    names = [n for n in INTENTS if any(result.confusion[(n, g)] or result.confusion[(g, n)] for g in INTENTS)]
    short = {n: n[:6] for n in names}
    print("confusion (rows: expected, columns: recognised)")
    print(f"{'':15}" + "".join(f"{short[n]:>7}" for n in names))
    for expected in names:
        row = "".join(f"{result.confusion[(expected, got)] or '.':>7}" for got in names)
        print(f"{expected:15}{row}")
    if args.failures and result.failures:
        print()
        for case, got in result.failures:
            print(f"line {case.line}: {case.text!r}\n    expected {case.intent} {list(case.indicators)} "
                  f"{case.period} {case.unit}\n    got      {got.name} {list(got.indicators)} {got.period} "
                  f"{got.unit} {list(got.unit_candidates) or ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
