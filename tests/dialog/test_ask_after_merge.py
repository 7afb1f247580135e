"""A chair's questions after their CĐCS absorbed another: the year's figures include the merged unit's."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

from sqlmodel import Session, select

from bot.db import session_scope
from bot.models import Indicator, Round, Submission, SubmissionValue, Unit
from bot.models import Role
from bot.services import restructure
from dialog import CoreChat
from worlds import bind

NOW = datetime(2026, 11, 21, 3, 0, tzinfo=timezone.utc)
QUESTION = "năm nay đơn vị tôi kết nạp được bao nhiêu đoàn viên mới"


def reported_this_year(engine, unit_code: str) -> int:
    """Σ of the unit's new members over 2026's quarterly rounds, straight from the tables."""
    with Session(engine) as s:
        rows = s.exec(select(SubmissionValue.value)
                      .join(Submission, Submission.id == SubmissionValue.submission_id)
                      .join(Round, Round.id == Submission.round_id)
                      .join(Unit, Unit.id == Submission.unit_id)
                      .join(Indicator, Indicator.id == SubmissionValue.indicator_id)
                      .where(Unit.code == unit_code, Indicator.code == "DV_MOI",
                             Round.code.in_(["2026-Q1", "2026-Q2", "2026-Q3"]))).all()
    return int(sum(v or 0 for v in rows))


def answered_count(text: str) -> int:
    found = re.search(r"đã báo cáo ([\d.]+) người", text)
    assert found, text
    return int(found.group(1).replace(".", ""))


def test_the_survivors_year_includes_what_the_merged_unit_reported(demo_engine, settings):
    bind(demo_engine, "TD_005", "3001", channel="test", role=Role.CHAIR)
    chat = CoreChat(demo_engine, settings, user_id="3001", now=NOW)
    chat.send(QUESTION)
    own, merged = reported_this_year(demo_engine, "TD_005"), reported_this_year(demo_engine, "TD_001")
    assert merged > 0
    assert answered_count(chat.text) == own

    with session_scope(demo_engine) as session:
        actions = [restructure.Action("merge", "TD_001", date(2026, 7, 1), to="TD_005")]
        restructure.apply(session, restructure.plan(session, actions, NOW), actor="test", now=NOW)
    chat.send(QUESTION)
    assert answered_count(chat.text) == own + merged
