"""Fifty SIGKILLs at random moments of chairs' reporting rounds: nothing typed is lost,
nothing is applied twice (the real bot process against the Bot API stand-in)."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.clock import local_today
from bot.db import make_engine
from bot.models import ReportDraft, Round, Submission, Unit
from e2e import BotProcess, find_button
from worlds import TEST_INDICATORS, TEST_ROUND, add_test_round, bind, submitted

pytestmark = pytest.mark.e2e

KILLS = 50
SEED = 20261202
CHAIRS = 5
# (typed, stored value) for the ten figures of the test round
ANSWERS = [("1.234", 1234), ("1 200", 1200), ("1500", 1500), ("12", 12), ("1.450 người", 1450),
           ("1.500.000đ", 1_500_000), ("1,2 tỷ", 1_200_000_000), ("500k", 500_000), ("có", 1), ("87,5%", 87.5)]


def position(engine, unit_code: str) -> int | None:
    """Where the unit's draft stands (figures taken), None without a draft."""
    with Session(engine) as s:
        draft = s.exec(select(ReportDraft).join(Round, Round.id == ReportDraft.round_id)
                       .join(Unit, Unit.id == ReportDraft.unit_id)
                       .where(Round.code == TEST_ROUND, Unit.code == unit_code)).first()
        return None if draft is None else draft.position


def submissions(engine, unit_code: str) -> list[int]:
    with Session(engine) as s:
        return [sub.revision for sub in s.exec(
            select(Submission).join(Unit, Unit.id == Submission.unit_id).join(Round, Round.id == Submission.round_id)
            .where(Unit.code == unit_code, Round.code == TEST_ROUND))]


def expected_after(step: int) -> str:
    """What the bot shows once step `step` is taken (0: the command, 1–10: figures, 11: Send)."""
    if step < len(ANSWERS):
        return f"mục {step + 1}/{len(ANSWERS)}"
    return "Tóm tắt" if step == len(ANSWERS) else "Đã nhận báo cáo"


def test_fifty_sigkills_during_reporting_rounds(fake, demo_db, tmp_path):
    engine = make_engine(demo_db)
    today = local_today()
    add_test_round(engine, opens=today - timedelta(days=10), deadline=today + timedelta(days=30))
    with Session(engine) as s:
        units = list(s.exec(select(Unit.code).where(Unit.level == "grassroots", Unit.active == True)  # noqa: E712
                          .order_by(Unit.code).limit(CHAIRS)))
    for n, code in enumerate(units):
        bind(engine, code, 7300 + n)
    rng = random.Random(SEED)
    process = BotProcess(fake, demo_db, tmp_path / "bot.log").start()
    counts = dict(kills=0, steps=0, answered=0, stored_unanswered=0, dropped=0, applied_twice=0)
    started = time.monotonic()
    try:
        for n, code in enumerate(units):
            chair = fake.user(7300 + n)
            step = 0
            while step <= len(ANSWERS) + 1:
                before = position(engine, code)
                if step == 0:
                    chair.send(f"/baocao {TEST_ROUND}")
                elif step <= len(ANSWERS):
                    chair.send(ANSWERS[step - 1][0])
                else:
                    summary = next(m for m in reversed(chair.messages()) if find_button(m, "Gửi"))
                    chair.press(data=find_button(summary, "Gửi"), message_id=summary.message_id)
                counts["steps"] += 1
                if counts["kills"] < KILLS:
                    time.sleep(rng.uniform(0.0, 0.25))
                    process.kill()
                    counts["kills"] += 1
                    process.start()
                wanted = expected_after(step)
                try:
                    reply = chair.wait_for(lambda m: wanted in m.body, timeout=10)
                except AssertionError:
                    reply = None
                after = position(engine, code)
                taken = (after is not None and after > (before or 0)) if step and step <= len(ANSWERS) else None
                if step == len(ANSWERS) + 1:
                    taken = bool(submissions(engine, code))
                if after is not None and before is not None and after - before > 1:
                    counts["applied_twice"] += 1
                if reply is not None:
                    counts["answered"] += 1
                    step += 1
                elif taken:
                    counts["stored_unanswered"] += 1
                    step = len(ANSWERS) + 2 if step > len(ANSWERS) else (after or 0) + 1
                else:
                    counts["dropped"] += 1  # nothing taken, nothing said: the chair types it again
            assert submissions(engine, code) == [1], code  # sent once, never twice
            values = submitted(engine, TEST_ROUND, code) or {}
            assert [values.get(k) for k in TEST_INDICATORS] == [v for _, v in ANSWERS], values  # each in its place
    finally:
        process.kill()
    duplicates = sum(len(chair.messages()) for chair in (fake.user(7300 + n) for n in range(CHAIRS)))
    print(f"\n{counts['kills']} SIGKILLs over {counts['steps']} steps of {CHAIRS} rounds in "
          f"{time.monotonic() - started:.0f}s: answered {counts['answered']}, stored but not answered {counts['stored_unanswered']}, dropped silently "
          f"{counts['dropped']}, applied twice {counts['applied_twice']}; {duplicates} bot messages "
          f"for {counts['steps']} steps (replies may come twice after a crash)")
    assert counts["kills"] == KILLS
    assert counts["dropped"] == 0 and counts["stored_unanswered"] == 0 and counts["applied_twice"] == 0
    misuse = [v for v in fake.violations if "query is too old" not in v]  # an answer re-sent after a crash
    assert misuse == []
