"""Plausibility: a figure far from the unit's last report, or above the workers it reported last time,
is asked back with Đúng / Nhập lại; a confirmed one is stored marked and staff see the mark."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from bot.clock import to_utc
from bot.db import session_scope
from bot.models import Indicator, Role, Round, Submission, SubmissionValue, Unit
from dialog import CoreChat
from worlds import bind

NOW = to_utc(datetime(2026, 11, 21, 9, 0))
ROUND = "PL-Q4"


@pytest.fixture
def world(demo_engine):
    """TD_001 reported 61 members and 70 workers in 2026-Q3; round PL-Q4 asks members then donors."""
    from worlds import add_test_round
    add_test_round(demo_engine, ROUND, indicators=["DV_TONG", "QXH_NGUOI"], outlier_factor=None)
    with session_scope(demo_engine) as s:
        unit = s.exec(select(Unit).where(Unit.code == "TD_001")).one()
        q3 = s.exec(select(Round).where(Round.code == "2026-Q3")).one()
        sub = s.exec(select(Submission).where(Submission.round_id == q3.id, Submission.unit_id == unit.id)).first()
        if sub is None:
            sub = Submission(round_id=q3.id, unit_id=unit.id, reference="BC-PLQ3", submitted_at=q3.deadline_at)
            s.add(sub)
            s.flush()
        for code, value in (("DV_TONG", 61), ("LD_TONG", 70)):
            ind = s.exec(select(Indicator).where(Indicator.code == code)).one()
            row = s.exec(select(SubmissionValue).where(SubmissionValue.submission_id == sub.id,
                                                       SubmissionValue.indicator_id == ind.id)).first()
            row = row or SubmissionValue(submission_id=sub.id, indicator_id=ind.id)
            row.value = value
            s.add(row)
    return demo_engine


def flags(engine) -> dict[str, tuple[float | None, str | None]]:
    with Session(engine) as s:
        rnd = s.exec(select(Round).where(Round.code == ROUND)).one()
        rows = s.exec(select(Indicator.code, SubmissionValue.value, SubmissionValue.flag)
                      .join(SubmissionValue, SubmissionValue.indicator_id == Indicator.id)
                      .join(Submission, Submission.id == SubmissionValue.submission_id)
                      .where(Submission.round_id == rnd.id)).all()
        return {c: (v, f) for c, v, f in rows}


def test_far_figure_is_asked_back_and_a_confirmed_one_is_marked_for_staff(world, settings):
    bind(world, "TD_001", "3001", channel="test")
    chair = CoreChat(world, settings, user_id="3001", now=NOW)
    chair.send(f"/baocao {ROUND}")
    chair.send("1.234")
    assert "Số này khác nhiều so với lần trước (61 người → 1.234 người). Bạn chắc chắn chứ?" in chair.text
    assert chair.options() == ["Đúng", "Nhập lại"]
    chair.press("Nhập lại")  # asked the same figure again
    assert "mục 1/2" in chair.text and "Tổng số đoàn viên" in chair.text
    chair.send("62")  # close to 61: no question
    assert "mục 2/2" in chair.text
    chair.send("75")  # donors 75 > the 70 workers reported last time: a warning, not a refusal
    assert "lớn hơn Tổng số CNVCLĐ báo cáo lần gần nhất (70 người). Bạn chắc chắn chứ?" in chair.text
    chair.press("Nhập lại")
    chair.send("66")
    assert "Tóm tắt" in chair.text
    chair.press("Sửa")
    chair.send("1")  # line 1 again: the members
    chair.send("1.234")
    chair.press("Đúng")
    assert "Tóm tắt" in chair.text and "1.234 người" in chair.text
    chair.press("Gửi")
    assert flags(world) == {"DV_TONG": (1234, "outlier"), "QXH_NGUOI": (66, None)}

    bind(world, "LDLD_LC", "3002", channel="test", role=Role.STAFF)
    staff = CoreChat(world, settings, user_id="3002", now=NOW)
    staff.send(f"/tonghop {ROUND}")
    assert "⚠" in staff.text and "Tổng số đoàn viên 1.234 người" in staff.text
    staff.send(f"/xuatexcel {ROUND}")
    [file] = [r.file for r in staff.history[-1].replies if r.file is not None]
    wb = load_workbook(io.BytesIO(file.content))
    check = wb["Cần xem lại"]
    rows = [[c.value for c in r] for r in check.iter_rows(min_row=3)]
    assert any(r[0] == "TD_001" and r[2] == "DV_TONG" and r[4] == 1234 for r in rows)
    sheet = wb["DV_TONG"]
    headers = [c.value for c in sheet[2]]
    note = headers.index("Ghi chú")
    marked = [[c.value for c in r] for r in sheet.iter_rows(min_row=3) if r[0].value == "TD_001"]
    assert marked and "đơn vị đã xác nhận" in marked[0][note]


def test_members_above_the_workers_of_an_earlier_round_are_asked_back_and_marked(world, settings):
    """Members ≤ workers across rounds: the round asks members only; the workers (70) come from 2026-Q3."""
    from worlds import add_test_round
    add_test_round(world, "PL-DV", indicators=["DV_TONG"], outlier_factor=None)
    bind(world, "TD_001", "3101", channel="test")
    chair = CoreChat(world, settings, user_id="3101", now=NOW)
    chair.send("/baocao PL-DV")
    chair.send("75")  # close to the 61 members of last time, but above the 70 workers
    assert ("Tổng số đoàn viên (75 người) lớn hơn Tổng số CNVCLĐ báo cáo lần gần nhất (70 người). "
            "Bạn chắc chắn chứ?") in chair.text
    assert chair.options() == ["Đúng", "Nhập lại"]
    chair.press("Đúng")
    assert "Tóm tắt" in chair.text
    chair.press("Gửi")
    with Session(world) as s:
        rnd = s.exec(select(Round).where(Round.code == "PL-DV")).one()
        [(value, flag)] = s.exec(select(SubmissionValue.value, SubmissionValue.flag)
                                 .join(Submission, Submission.id == SubmissionValue.submission_id)
                                 .where(Submission.round_id == rnd.id)).all()
    assert (value, flag) == (75, "outlier")


def test_workers_below_the_members_of_an_earlier_round_are_asked_back(world, settings):
    from worlds import add_test_round
    add_test_round(world, "PL-LD", indicators=["LD_TONG"], outlier_factor=None)
    bind(world, "TD_001", "3102", channel="test")
    chair = CoreChat(world, settings, user_id="3102", now=NOW)
    chair.send("/baocao PL-LD")
    chair.send("55")
    assert "Tổng số CNVCLĐ (55 người) nhỏ hơn Tổng số đoàn viên báo cáo lần gần nhất (61 người)." in chair.text
    chair.press("Nhập lại")
    chair.send("72")  # at least the members: no question
    assert "Tóm tắt" in chair.text


def test_members_above_workers_in_the_same_round_is_a_hard_rule(world, settings):
    """When the round asks both, the rule is checked on the figures typed now and refuses (no Đúng)."""
    from worlds import add_test_round
    add_test_round(world, "PL-BOTH", indicators=["DV_TONG", "LD_TONG"], outlier_factor=None)
    bind(world, "TD_001", "3103", channel="test")
    chair = CoreChat(world, settings, user_id="3103", now=NOW)
    chair.send("/baocao PL-BOTH")
    chair.send("62")
    assert "mục 2/2" in chair.text  # 62 > the 70 workers of last time? no; and workers are asked now anyway
    chair.send("50")
    assert "Tổng số CNVCLĐ (50 người) không thể nhỏ hơn Tổng số đoàn viên (62 người) đã nhập trước đó" in chair.text
    assert "Đúng" not in chair.options()
    chair.send("64")
    assert "Tóm tắt" in chair.text
