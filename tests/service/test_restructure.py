"""Restructuring the tree: move, rename, merge, close — planned, listed, applied all or nothing.

The demo province already went through the reorganisation of 01/07/2026 (bot/demo.py); these
tests restructure its new tree again from 01/07/2026."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.db import make_engine, session_scope
from bot.i18n import use_language
from bot.models import Outbox, OutboxStatus, Person, Role, Unit, UnitEvent
from bot.services import outbox, restructure
from bot.services.tree import tree_on
from cli_runner import congdoan
from worlds import bind

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)
MOVED = ["TP_001", "TP_005"] + [f"TP_{i:03d}" for i in range(9, 27)]  # 20 CĐCS under CDP_TP


def write_file(tmp_path: Path, extra: list[str] | None = None) -> Path:
    lines = ["action,code,to,name,from,rebind"]
    lines += [f"move,{code},LDLD_LC,,01/07/2026," for code in MOVED]
    lines += ["merge,TD_001,TD_005,,01/07/2026,có", "close,PT_001,,,01/07/2026,"]
    lines += extra or []
    path = tmp_path / "restructure.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def people(engine) -> dict[str, int]:
    ids = {
        "moved_chair": bind(engine, "TP_001", 7001, name="Chủ tịch chuyển"),
        "merged_chair": bind(engine, "TD_001", 7002, name="Chủ tịch sáp nhập"),
        "closed_chair": bind(engine, "PT_001", 7003, name="Chủ tịch giải thể"),
        "survivor_chair": bind(engine, "TD_005", 7004, name="Chủ tịch TD_005"),
    }
    with session_scope(engine) as session:
        closed = session.exec(select(Unit).where(Unit.code == "PT_001")).one()
        outbox.enqueue(session, [outbox.Push(key="reminder:test:PT_001", kind="reminder", person_id=ids["closed_chair"],
                                             channel="telegram", chat_id="7003",
                                             payload={"text": "nhắc", "skip_if_submitted": [1, closed.id]},
                                             not_before=NOW)])
    return ids


def plan_file(engine, path: Path) -> restructure.Plan:
    actions, errors = restructure.read_actions(path, date(2026, 12, 2))
    assert errors == []
    with Session(engine) as session:
        return restructure.plan(session, actions, NOW)


def counts(engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return (session.exec(select(func.count()).select_from(UnitEvent)).one(),
                session.exec(select(func.count()).select_from(Outbox)).one(),
                session.exec(select(func.count()).select_from(Person).where(Person.active == True)).one())  # noqa: E712


def parent_code(engine, code: str) -> str | None:
    with Session(engine) as session:
        unit = session.exec(select(Unit).where(Unit.code == code)).one()
        parent = session.get(Unit, unit.parent_id) if unit.parent_id else None
        return parent.code if parent else None


def test_dry_run_lists_every_consequence_and_writes_nothing(demo_engine, tmp_path):
    people(demo_engine)
    before = counts(demo_engine)
    result = plan_file(demo_engine, write_file(tmp_path))
    assert result.ok and len(result.changes) == 22
    with Session(demo_engine) as session, use_language("vi"):
        lines = restructure.describe(session, result)
    text = "\n".join(lines)
    for code in MOVED:
        assert f"Chuyển {code} " in text
    assert "CDP_TP Công đoàn phường Tân Phong → LDLD_LC" in text
    merge = next(e for e in result.effects if e.action.kind == restructure.MERGE)
    assert [(p.name, p.fate) for p in merge.people] == [("Chủ tịch sáp nhập", "rebound")]
    close = next(e for e in result.effects if e.action.kind == restructure.CLOSE)
    assert [(p.name, p.fate) for p in close.people] == [("Chủ tịch giải thể", "ended")]
    assert len(close.reminders_cancelled) == 1
    assert close.targets and all(fate == "orphaned" for *_x, fate in close.targets)
    assert "2026-Q4" in close.open_rounds
    moved = next(e for e in result.effects if e.unit_code == "TP_001")
    assert [(p.name, p.fate) for p in moved.people] == [("Chủ tịch chuyển", "stays")]
    assert moved.open_rounds == [] and moved.targets == []
    assert "  Số nhắc nhở đang chờ bị hủy: 1" in lines
    assert "  Chủ tịch CĐCS Chủ tịch giải thể: thôi gắn với đơn vị này và được thông báo" in lines
    assert counts(demo_engine) == before
    assert parent_code(demo_engine, "TP_001") == "CDP_TP"


def test_applying_twice_changes_nothing_the_second_time(demo_engine, tmp_path):
    ids = people(demo_engine)
    path = write_file(tmp_path)
    result = plan_file(demo_engine, path)
    with session_scope(demo_engine) as session:
        assert restructure.apply(session, result, actor="test", now=NOW) == 22
    after_first = counts(demo_engine)
    second = plan_file(demo_engine, path)
    assert second.ok and second.changes == []
    with session_scope(demo_engine) as session:
        assert restructure.apply(session, second, actor="test", now=NOW) == 0
    assert counts(demo_engine) == after_first
    assert all(parent_code(demo_engine, code) == "LDLD_LC" for code in MOVED)
    with Session(demo_engine) as session:
        merged = session.exec(select(Unit).where(Unit.code == "TD_001")).one()
        survivor = session.exec(select(Unit).where(Unit.code == "TD_005")).one()
        closed = session.exec(select(Unit).where(Unit.code == "PT_001")).one()
        assert (merged.active, merged.merged_into_id) == (False, survivor.id)
        assert closed.active is False
        # people follow: the merged unit's chair reports for the survivor, the closed unit's chair is told
        assert session.get(Person, ids["merged_chair"]).unit_id == survivor.id
        assert session.get(Person, ids["merged_chair"]).active is True
        assert session.get(Person, ids["closed_chair"]).active is False
        moved = session.get(Person, ids["moved_chair"])
        assert moved.active and moved.unit_id == session.exec(select(Unit.id).where(Unit.code == "TP_001")).one()
        messages = session.exec(select(Outbox).where(Outbox.kind == "unit_change")).all()
        assert sorted(m.chat_id for m in messages) == ["7002", "7003"]
        told = next(m for m in messages if m.chat_id == "7003").payload["text"]
        assert "PT_001" not in told and "đã giải thể" in told
        reminder = session.exec(select(Outbox).where(Outbox.key == "reminder:test:PT_001")).one()
        assert reminder.status == OutboxStatus.SKIPPED


def test_one_bad_line_applies_nothing(demo_engine, tmp_path):
    before = counts(demo_engine)
    path = write_file(tmp_path, ["move,TP_030,KHONG_CO,,01/07/2026,", "close,CDP_TP,,,01/07/2026,"])
    actions, errors = restructure.read_actions(path, date(2026, 12, 2))
    with Session(demo_engine) as session:
        result = restructure.plan(session, actions, NOW)
    lines = dict(result.errors)
    assert set(lines) == {24, 25}
    assert "KHONG_CO" in lines[24]
    assert "CDP_TP" in lines[25]  # still has CĐCS under it (the 20 moved are not all of them)
    assert counts(demo_engine) == before


def test_later_lines_may_rely_on_earlier_ones(demo_engine, tmp_path):
    with Session(demo_engine) as session:
        commune = session.exec(select(Unit).where(Unit.code == "CDX_MT")).one()
        children = session.exec(select(Unit.code).where(Unit.parent_id == commune.id)).all()
    assert len(children) == 26
    lines = ["action,code,to,from"] + [f"move,{c},LDLD_LC,01/07/2026" for c in children] + ["close,CDX_MT,,01/07/2026"]
    path = tmp_path / "district.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    actions, errors = restructure.read_actions(path, date(2026, 12, 2))
    assert errors == []
    with session_scope(demo_engine) as session:
        result = restructure.plan(session, actions, NOW)
        assert result.ok, result.errors
        restructure.apply(session, result, actor="test", now=NOW)
    with Session(demo_engine) as session:
        assert session.exec(select(Unit.active).where(Unit.code == "CDX_MT")).one() is False


def test_the_tree_of_a_past_day_is_rebuilt_from_the_events(demo_engine, tmp_path):
    result = plan_file(demo_engine, write_file(tmp_path))
    with session_scope(demo_engine) as session:
        restructure.apply(session, result, actor="test", now=NOW)
    with Session(demo_engine) as session:
        ids = {u.code: u.id for u in session.exec(select(Unit)).all()}
        q2 = tree_on(session, date(2026, 6, 30))
        q3 = tree_on(session, date(2026, 7, 1))
        before_2025 = tree_on(session, date(2025, 6, 30))  # the demo's own reorganisation stays in the history
    assert q2.parent[ids["TP_001"]] == ids["CDP_TP"]
    assert q3.parent[ids["TP_001"]] == ids["LDLD_LC"]
    assert before_2025.parent[ids["TP_001"]] == ids["LDLD_TP"]
    assert ids["TP_001"] in q2.subtree(ids["CDP_TP"]) and ids["TP_001"] not in q3.subtree(ids["CDP_TP"])
    assert q2.active[ids["PT_001"]] is True and q3.active[ids["PT_001"]] is False
    assert ids["TD_001"] in q2.subtree(ids["CDX_TD"]) and ids["TD_001"] not in q3.subtree(ids["CDX_TD"])


@pytest.mark.e2e  # the real console script, one child process per command (out of the fast loop)
def test_commands_refuse_bad_input_politely(demo_url, tmp_path):
    out = congdoan(demo_url, "unit", "move", "TP_001", "--to", "TP_005", "--from", "01/07/2026")
    assert out.returncode == 1
    assert "TP_005" in out.stderr and "Traceback" not in out.stderr
    out = congdoan(demo_url, "unit", "close", "TP_001", "--from", "31/02/2025")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    out = congdoan(demo_url, "unit", "merge", "TP_001", "--into", "TP_005", "--from", "01/07/2026", "--dry-run")
    assert out.returncode == 0, out.stderr
    out = congdoan(demo_url, "import", "restructure", str(write_file(tmp_path)), "--dry-run")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("TP_0") >= 20
    out = congdoan(demo_url, "import", "restructure", str(write_file(tmp_path)))
    assert out.returncode == 0, out.stderr
    engine = make_engine(demo_url)
    first = counts(engine)
    again = congdoan(demo_url, "import", "restructure", str(write_file(tmp_path)))
    assert again.returncode == 0 and again.stdout.count("TP_0") >= 20
    assert counts(engine) == first
    engine.dispose()


def test_rename_keeps_the_old_name_in_history(demo_engine):
    action = restructure.Action(kind=restructure.RENAME, code="TP_003", effective=date(2025, 7, 1),
                                name="Trung tâm Y tế khu vực Lai Châu")
    with session_scope(demo_engine) as session:
        result = restructure.plan(session, [action], NOW)
        restructure.apply(session, result, actor="test", now=NOW)
    with Session(demo_engine) as session:
        unit = session.exec(select(Unit).where(Unit.code == "TP_003")).one()
        event = session.exec(select(UnitEvent).where(UnitEvent.unit_id == unit.id, UnitEvent.kind == "renamed")).one()
    assert unit.name == "Trung tâm Y tế khu vực Lai Châu"
    assert event.old_name == "Trung tâm Y tế thành phố Lai Châu"


def test_officers_of_a_merged_union_lose_its_scope(demo_engine):
    officer = bind(demo_engine, "CDX_TNU", 7010, role=Role.OFFICER)
    with Session(demo_engine) as session:
        district = session.exec(select(Unit).where(Unit.code == "CDX_TNU")).one()
        n_children = len(session.exec(select(Unit.id).where(Unit.parent_id == district.id)).all())
    action = restructure.Action(kind=restructure.MERGE, code="CDX_TNU", to="CDX_THU", effective=date(2026, 7, 1))
    with session_scope(demo_engine) as session:
        result = restructure.plan(session, [action], NOW)
        assert len(result.effects[0].children_moved) == n_children
        restructure.apply(session, result, actor="test", now=NOW)
    with Session(demo_engine) as session:
        assert session.get(Person, officer).active is False
        survivor = session.exec(select(Unit).where(Unit.code == "CDX_THU")).one()
        assert session.exec(select(func.count()).select_from(Unit).where(Unit.parent_id == district.id,
                                                                         Unit.active == True)).one() == 0  # noqa: E712
        assert len(session.exec(select(Unit.id).where(Unit.parent_id == survivor.id)).all()) >= n_children
