"""The question parser on the evaluation sets must stay above its thresholds.

tests/data/questions.tsv (the set the rules were tuned on) must keep ≥ 95% intent accuracy
and ≥ 90% fully correct slots (the issue's acceptance); the held-out set, written after the
tuning, guards against rules that only fit the first set. `python bench/nlu_eval.py`
prints the per-intent accuracy and the confusion table.
"""

from __future__ import annotations

from collections import Counter

from bot.nlu import INTENTS
from nlu_cases import (CASES_FILE, HOLDOUT_FILE, SET2_FILE, SET2_HOLDOUT_FILE, evaluate, evaluate2, load_cases,
                       load_cases2)

SET2_INTENTS = ("ranking", "compare")  # intents of issue 19, evaluated on set 2


def failures_text(result) -> str:
    return "\n".join(f"line {c.line}: {c.text!r} expected {c.intent} {c.indicators} {c.period} {c.unit}; "
                     f"got {g.name} {g.indicators} {g.period} {g.unit}" for c, g in result.failures)


def test_evaluation_set_is_large_and_varied():
    cases = load_cases(CASES_FILE)
    assert len(cases) >= 150
    intents = Counter(c.intent for c in cases)
    assert set(intents) <= set(INTENTS) and all(intents[i] >= 5 for i in INTENTS if i not in SET2_INTENTS), intents
    assert sum(1 for c in cases if c.text.isascii()) >= 50  # typed without diacritics
    assert intents["unknown"] >= 15  # out-of-scope questions
    assert len({c.period for c in cases}) >= 8 and len({i for c in cases for i in c.indicators}) >= 12


def test_evaluation_set_passes_its_threshold():
    result = evaluate(load_cases(CASES_FILE))
    assert result.intent_accuracy >= 0.95, failures_text(result)
    assert result.slot_accuracy >= 0.90, failures_text(result)


def test_held_out_set_passes_its_threshold():
    result = evaluate(load_cases(HOLDOUT_FILE))
    assert result.total >= 70
    assert result.intent_accuracy >= 0.90, failures_text(result)
    assert result.slot_accuracy >= 0.85, failures_text(result)


def test_out_of_scope_questions_are_never_given_a_data_intent():
    for path in (CASES_FILE, HOLDOUT_FILE):
        result = evaluate([c for c in load_cases(path) if c.intent == "unknown"])
        wrong = [(c.text, g.name) for c, g in result.failures]
        assert not wrong, wrong


def failures2_text(result) -> str:
    return "\n".join(f"line {c.line}: {c.text!r} expected {c.intent} {c.indicators} {c.period} "
                     f"{c.unit or sorted(c.candidates)} {c.extra}; got {g.name} {g.indicators} {g.period} {g.unit} "
                     f"{g.unit_candidates} {g.unit_query!r} order={g.order} compare={g.compare}"
                     for c, g in result.failures)


def test_set2_is_large_and_covers_what_issue_19_asks():
    cases = load_cases2(SET2_FILE) + load_cases2(SET2_HOLDOUT_FILE)
    assert len(cases) >= 150 and len(load_cases2(SET2_HOLDOUT_FILE)) >= 0.25 * len(cases)
    intents = Counter(c.intent for c in cases)
    assert set(intents) <= set(INTENTS) and intents["ranking"] >= 15 and intents["compare"] >= 10, intents
    assert intents["unknown"] >= 20 and intents["missing_units"] >= 10 and intents["submitted"] >= 20
    assert {c.role for c in cases} == {"chair", "officer", "staff"}
    assert sum(1 for c in cases if c.text.isascii()) >= 40
    assert sum(1 for c in cases if c.sequence) >= 30  # follow-ups
    assert sum(1 for c in cases if c.candidates) >= 5 and sum(1 for c in cases if c.unit == "?") >= 5


def test_set2_passes_its_threshold():
    """Issue 19's acceptance: ≥ 95% intents and ≥ 90% fully correct slots (the held-out part is
    reported by bench/nlu_eval.py, not asserted at this level)."""
    result = evaluate2(load_cases2(SET2_FILE))
    assert result.intent_accuracy >= 0.95, failures2_text(result)
    assert result.slot_accuracy >= 0.90, failures2_text(result)


def test_regulation_questions_of_set2_never_get_a_data_intent():
    """Law, rates and procedures are answered with the honest fallback, never with a unit's figures."""
    for path in (SET2_FILE, SET2_HOLDOUT_FILE):
        result = evaluate2([c for c in load_cases2(path) if c.intent == "unknown"])
        wrong = [(c.text, g.name) for c, g in result.failures]
        assert not wrong, wrong
