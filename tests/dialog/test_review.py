"""Review of reports in-process: /duyet by officers and staff, the chair told, the rules enforced."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest
from sqlmodel import Session, select

from bot.db import session_scope
from bot.messages import reply_from_json
from bot.models import Outbox, Round, Submission, SubmissionReview, Unit
from bot.services import reporting, review, rollup, scoring
from bot.services.rollup import short_name
from dialog import CoreChat
from worlds import small_province

NOW = datetime(2026, 11, 21, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def world(engine, settings):
    people = small_province(engine, opens=date(2026, 11, 1), deadline=date(2026, 12, 20), submitted_units=0)
    with session_scope(engine) as s:
        rnd = s.exec(select(Round).where(Round.code == "R1")).one()
        rnd.requires_review = True
        s.add(rnd)

    def chat(user_id: int) -> CoreChat:
        return CoreChat(engine, settings, user_id=str(user_id), channel="telegram", now=NOW)

    return people, chat


def report(chat: CoreChat, value: str = "30") -> None:
    chat.send("/baocao R1")
    chat.send(value)
    chat.press("Gửi")


def state(engine, unit_code: str) -> str | None:
    with Session(engine) as s:
        return s.exec(select(Submission.review).join(Unit, Unit.id == Submission.unit_id)
                      .where(Unit.code == unit_code)).first()


def pushes(engine, person_chat: int) -> list:
    with Session(engine) as s:
        rows = s.exec(select(Outbox).where(Outbox.chat_id == str(person_chat)).order_by(Outbox.id)).all()
        return [reply_from_json(r.payload) for r in rows]


def test_return_correct_approve_and_correct_again(world, engine):
    people, chat = world
    chair, officer = chat(people["chairs"]["G01"]), chat(people["officers"]["U1"])
    report(chair)
    assert "chờ cấp trên duyệt" in chair.text
    assert state(engine, "G01") == review.WAITING

    officer.send("/duyet")
    assert "R1: 1 báo cáo chờ duyệt" in officer.text.replace("Đợt thử ", "")
    officer.press("CĐCS số 01")
    assert "Tổng số đoàn viên: 30 người" in officer.text and "Trạng thái: chờ duyệt" in officer.text
    officer.press("Trả lại")
    assert "Gõ nhận xét gửi CĐCS số 01" in officer.text
    officer.send("   ")  # an empty comment is refused politely
    assert "Vui lòng gõ nhận xét" in officer.text and state(engine, "G01") == review.WAITING
    officer.send("số đoàn viên không khớp danh sách, đề nghị kiểm tra lại")
    assert "Đã trả lại báo cáo của CĐCS số 01" in officer.text
    assert state(engine, "G01") == review.RETURNED

    [told] = pushes(engine, people["chairs"]["G01"])
    assert "bị trả lại" in told.text and "số đoàn viên không khớp danh sách" in told.text
    assert [o.data for o in told.flat_options()] == ["/baocao R1 sua"]

    chair.send("/baocao R1 sua")  # the push's "Sửa ngay"
    assert "Tóm tắt" in chair.text
    chair.press("Sửa")
    chair.press("Tổng số đoàn viên")
    chair.send("32")
    chair.press("Gửi")
    assert "Đã nhận bản sửa" in chair.text and state(engine, "G01") == review.WAITING

    officer.send("/duyet R1 G01")
    assert "32 người" in officer.text and "(sửa từ 30 người)" in officer.text and "số đoàn viên không khớp" in officer.text
    officer.press("Duyệt")
    assert "Đã duyệt: CĐCS số 01" in officer.text and state(engine, "G01") == review.APPROVED
    assert "đã được cấp trên duyệt" in pushes(engine, people["chairs"]["G01"])[-1].text

    chair.send("/baocao R1")
    chair.press("Sửa số liệu")
    chair.press("Sửa")
    chair.press("Tổng số đoàn viên")
    chair.send("33")
    chair.press("Gửi")
    assert state(engine, "G01") == review.WAITING
    [again] = pushes(engine, people["officers"]["U1"])
    assert "đã sửa báo cáo" in again.text and [o.data for o in again.flat_options()] == ["/duyet R1 G01"]
    with Session(engine) as s:
        steps = s.exec(select(SubmissionReview.state, SubmissionReview.revision).order_by(SubmissionReview.id)).all()
    assert steps == [("waiting", 1), ("returned", 1), ("waiting", 2), ("approved", 2), ("waiting", 3)]


def test_an_officer_of_another_union_can_neither_see_nor_act(world, engine):
    people, chat = world
    report(chat(people["chairs"]["G01"]))
    other = chat(people["officers"]["U2"])
    other.send("/duyet")
    assert "Không có báo cáo nào đang chờ" in other.text
    other.send("/duyet R1 G01")
    assert "chỉ duyệt được báo cáo của các đơn vị thuộc công đoàn mình" in other.text
    with Session(engine) as s:
        sub_id = s.exec(select(Submission.id)).one()
    for action in ("show", "approve", "return"):
        with Session(engine) as s:
            from bot.models import ConversationState
            version = s.exec(select(ConversationState.version).where(
                ConversationState.external_id == str(people["officers"]["U2"]))).one()
        other.press_data(f"s{version}:review:{action}:{sub_id}")
        assert "chỉ duyệt được báo cáo" in other.text
    assert state(engine, "G01") == review.WAITING
    chair = chat(people["chairs"]["G02"])
    chair.send("/duyet")  # a chair is not a reviewer: the command is not theirs
    assert "Duyệt" not in chair.options()


def test_locked_round_cannot_be_reviewed(world, engine):
    people, chat = world
    report(chat(people["chairs"]["G01"]))
    officer = chat(people["officers"]["U1"])
    officer.send("/duyet R1")
    officer.press("CĐCS số 01")
    with session_scope(engine) as s:
        reporting.lock_round(s, reporting.round_by_code(s, "R1"), NOW)
    officer.press("Duyệt")
    assert "đã khóa sổ nên không duyệt được nữa" in officer.text
    assert state(engine, "G01") == review.WAITING
    officer.send("/duyet R1")
    assert "đã khóa sổ" in officer.text


def test_staff_bulk_approves_one_union_and_tonghop_counts_states(world, engine):
    people, chat = world
    for code in ("G01", "G02", "G03", "G13"):
        report(chat(people["chairs"][code]), "40")
    staff = chat(people["staff"])
    staff.send("/duyet")
    assert "4 báo cáo chờ duyệt" in staff.text
    staff.press("Duyệt cả 3 báo cáo của LĐLĐ huyện U1")
    assert "Duyệt 3 báo cáo đang chờ của LĐLĐ huyện U1" in staff.text
    staff.press("Duyệt tất cả")
    assert "Đã duyệt 3 báo cáo" in staff.text and "1 báo cáo chờ duyệt" in staff.text
    assert [state(engine, c) for c in ("G01", "G02", "G03", "G13")] == ["approved"] * 3 + ["waiting"]

    staff.send("/tonghop R1")
    assert "LĐLĐ huyện U1: 3/12" in staff.text and "đã duyệt 3 · chờ duyệt 0 · trả lại 0" in staff.text
    assert "LĐLĐ huyện U2: 1/8" in staff.text and "đã duyệt 0 · chờ duyệt 1 · trả lại 0" in staff.text
    assert "Tình trạng duyệt: đã duyệt 3 · chờ duyệt 1 · trả lại 0" in staff.text
    assert "Số liệu tính mọi báo cáo đã nộp; đã duyệt 3/4 (75,0%)" in staff.text
    assert "160 người" in staff.text
    staff.press("Chỉ tính đã duyệt")
    assert "Số liệu chỉ tính báo cáo đã duyệt (3/4 báo cáo đã nộp)" in staff.text and "120 người" in staff.text


def test_rounds_without_review_change_nothing(engine, settings):
    people = small_province(engine, opens=date(2026, 11, 1), deadline=date(2026, 12, 20), submitted_units=0)
    chair = CoreChat(engine, settings, user_id=str(people["chairs"]["G01"]), channel="telegram", now=NOW)
    report(chair)
    assert state(engine, "G01") is None and "chờ cấp trên duyệt" not in chair.text
    officer = CoreChat(engine, settings, user_id=str(people["officers"]["U1"]), channel="telegram", now=NOW)
    officer.send("/duyet R1")
    assert "không cần cấp trên duyệt" in officer.text
    with Session(engine) as s:
        rnd = s.exec(select(Round).where(Round.code == "R1")).one()
        assert rollup.rollup_round(s, rnd, None).reviews is None


def _review_q3(demo_engine, approve: int) -> list[str]:
    """The demo's round 2026-Q3 requires review; the first `approve` reports of the CĐCS of Công đoàn xã Tam Đường are
    approved (their codes returned), the rest wait."""
    from bot.clock import utcnow
    from bot.models import Person, Role
    from worlds import bind

    officer_id = bind(demo_engine, "CDX_TD", "9301", channel="test", role=Role.OFFICER)
    with session_scope(demo_engine) as s:
        rnd = s.exec(select(Round).where(Round.code == "2026-Q3")).one()
        review.set_required(s, rnd, True, utcnow())
        rnd.locked = False
        s.flush()
        officer = s.get(Person, officer_id)
        done = []
        union = s.exec(select(Unit).where(Unit.code == "CDX_TD")).one()
        for unit in s.exec(select(Unit).where(Unit.parent_id == union.id).order_by(Unit.code)).all():
            sub = reporting.submission_of(s, rnd, unit)
            if sub is not None and len(done) < approve:
                review.approve(s, sub, rnd, unit, officer, utcnow(), "test")
                done.append(unit.code)
        return done


def _scores(text: str) -> dict[str, float]:
    """'3. Trạm Y tế … — 97,4 điểm' → name: 97.4."""
    return {name: float(score.replace(",", ".")) for name, score in
            re.findall(r"^\d+\. (.+?) — ([\d,]+) điểm", text, re.M)}


def test_xephang_scores_approved_reports_only_when_asked_and_says_which(demo_engine, settings):
    from bot.models import Role
    from worlds import bind

    approved_codes = _review_q3(demo_engine, 2)
    bind(demo_engine, "LDLD_LC", "9302", channel="test", role=Role.STAFF)
    staff = CoreChat(demo_engine, settings, user_id="9302", now=NOW)

    staff.send("/xephang 2026-Q3 CDX_TD")
    every = staff.text
    assert "Số liệu tính mọi báo cáo đã nộp; đã duyệt 2/24" in every  # 24 of its 30 CĐCS reported Q3
    assert "30. " in every and "31. " not in every  # every CĐCS of the union is ranked
    assert "Chỉ tính đã duyệt" in staff.options()

    staff.press("Chỉ tính đã duyệt")
    only = staff.text
    assert "Số liệu chỉ tính báo cáo đã duyệt (2/24 báo cáo đã nộp)" in only
    scores_every, scores_only = _scores(every), _scores(only)
    assert set(scores_every) == set(scores_only)  # earlier rounds (without review) still feed the windows
    with Session(demo_engine) as s:
        approved = {short_name(u.name) for u in s.exec(select(Unit).where(Unit.code.in_(approved_codes))).all()}
        rnd = s.exec(select(Round).where(Round.code == "2026-Q3")).one()
        td = s.exec(select(Unit).where(Unit.code == "CDX_TD")).one()
        expected = {short_name(e.unit.name): e.score for e in scoring.rank(s, rnd, td.id, approved_only=True).ranked}
    assert all(scores_every[name] == scores_only[name] for name in approved)
    changed = {name for name in scores_every if scores_every[name] != scores_only[name]}
    assert changed and not changed & approved  # the waiting reports' Q3 figures are left out
    assert scores_only == {name: round(score, 1) for name, score in expected.items()}
    assert "Tính mọi báo cáo" in staff.options()


def test_bieudo_draws_approved_reports_only_when_asked_and_the_caption_says_which(demo_engine, settings):
    from bot.models import Role
    from worlds import bind

    _review_q3(demo_engine, 1)
    bind(demo_engine, "LDLD_LC", "9303", channel="test", role=Role.STAFF)
    staff = CoreChat(demo_engine, settings, user_id="9303", now=NOW)

    staff.send("/bieudo 2026-Q3 CDX_TD")
    [every] = [r.file for r in staff.history[-1].replies if r.file is not None]
    assert every.kind == "photo" and "Số liệu tính mọi báo cáo đã nộp; đã duyệt 1/24" in every.caption
    staff.send("/bieudo 2026-Q3 CDX_TD daduyet")
    [only] = [r.file for r in staff.history[-1].replies if r.file is not None]
    assert "Số liệu chỉ tính báo cáo đã duyệt (1/24 báo cáo đã nộp)" in only.caption
    assert only.content[:4] == b"\x89PNG" and only.content != every.content  # fewer figures drawn
    assert "Tính mọi báo cáo" in staff.options()

    # a round without review: no basis stated, no switch
    staff.send("/bieudo 2026-Q2 CDX_TD")
    [plain] = [r.file for r in staff.history[-1].replies if r.file is not None]
    assert "duyệt" not in plain.caption and staff.options() == []


def test_a_chair_gets_no_basis_switch_in_xephang(demo_engine, settings):
    from bot.models import Role
    from worlds import bind

    [code] = _review_q3(demo_engine, 1)
    bind(demo_engine, code, "9304", channel="test", role=Role.CHAIR)
    chair = CoreChat(demo_engine, settings, user_id="9304", now=NOW)
    chair.send("/xephang 2026-Q3")
    assert "điểm" in chair.text and "Số liệu" not in chair.text and chair.options() == []
