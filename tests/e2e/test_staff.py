
"""The staff view through real HTTP: the bot process sends the chart as a photo and the Excel file as a
document to the Bot API stand-in, which checks every request against the specification."""

from __future__ import annotations

import pytest

import io
import struct

import openpyxl
from sqlmodel import Session, func, select

from bot.db import make_engine
from bot.models import Role, Round, Submission
from e2e import press, say, texts

pytestmark = pytest.mark.e2e
from worlds import bind


def test_staff_gets_summary_chart_and_excel_through_the_stand_in(fake, bot, demo_db):
    engine = make_engine(demo_db)
    bind(engine, "LDLD_LC", 7101, role=Role.STAFF)
    staff = fake.user(7101)

    summary = texts(say(staff, "/tonghop 2026-Q3"))
    assert "Tổng hợp: Báo cáo số liệu quý III/2026" in summary and "250/286 đơn vị đã nộp" in summary

    [chart] = [m for m in press(staff, "Biểu đồ") if m.photo]  # (the summary comes back too: its buttons are removed)
    assert chart.method == "sendPhoto" and chart.photo and chart.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", chart.content[16:24])[0] == 1080  # sent at phone width (Telegram scales the copies)
    assert "Biểu đồ: Báo cáo số liệu quý III/2026" in chart.caption

    [excel] = say(staff, "/xuatexcel 2026-Q3")
    assert excel.method == "sendDocument" and excel.document["file_name"] == "tonghop-2026-Q3-LDLD_LC.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(excel.content))
    total = [r for r in wb["Tình hình nộp"].iter_rows(min_row=3, values_only=True) if r[1] == "Tổng cộng"][0]
    with Session(engine) as s:
        submitted = s.exec(select(func.count()).select_from(Submission).join(Round)
                           .where(Round.code == "2026-Q3")).one()
    assert total[2] == 286 and total[3] + total[4] == submitted  # on time + late = the database's submissions
    fake.assert_clean()


def test_a_chair_is_refused_the_province_over_http(fake, bot, demo_db):
    engine = make_engine(demo_db)
    bind(engine, "TD_001", 7102)
    chair = fake.user(7102)
    assert "chỉ xem được số liệu của đơn vị mình" in texts(say(chair, "/tonghop 2026-Q3 LDLD_LC"))
    assert "dành cho công đoàn cấp trên" in texts(say(chair, "/bieudo 2026-Q3 LDLD_LC"))
    assert not any(m.photo or m.document for m in chair.messages())
    fake.assert_clean()


def test_staff_and_an_officer_name_the_round_in_words_and_pick_from_choices(fake, bot, demo_db):
    """Issue #14: no codes needed — '/tonghop quy 3' for staff and an officer, and a command without
    argument offers the rounds and scopes as buttons that work when pressed."""
    engine = make_engine(demo_db)
    bind(engine, "LDLD_LC", 7111, role=Role.STAFF)
    bind(engine, "CDX_TD", 7112, role=Role.OFFICER)
    staff, officer = fake.user(7111), fake.user(7112)

    staff_summary = texts(say(staff, "/tonghop quy 3"))
    assert "Tổng hợp: Báo cáo số liệu quý III/2026" in staff_summary and "250/286 đơn vị đã nộp" in staff_summary
    officer_summary = texts(say(officer, "/tonghop quy 3"))
    assert "Tổng hợp: Báo cáo số liệu quý III/2026" in officer_summary and "Công đoàn xã Tam Đường" in officer_summary
    assert "chỉ xem được số liệu của" in texts(say(officer, "/tonghop quy 3 Muong Te"))  # not theirs

    replies = say(staff, "/xuatexcel")
    assert [m.document["file_name"] for m in replies if m.document] == ["tonghop-2026-Q3-LDLD_LC.xlsx"]
    assert "chọn" in texts(replies).lower()
    [excel] = [m for m in press(staff, "Báo cáo số liệu quý II/2026") if m.document]
    assert excel.document["file_name"] == "tonghop-2026-Q2-LDLD_LC.xlsx"
    fake.assert_clean()
