"""Review of reports through real HTTP, with the real bot process: an officer returns a report with a
comment, the chair corrects it, the officer approves; another union's officer can neither see nor act;
/tonghop counts approved / waiting / returned per union; the chair does it all by typing on Zalo."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import openpyxl
import pytest
from sqlmodel import Session, select

from bot.clock import local_today, utcnow
from bot.db import make_engine, session_scope
from bot.models import AuditLog, ChatIdentity, Outbox, OutboxStatus, Person, Role, Round, Submission, SubmissionReview, Unit
from bot.services import reporting, review
from e2e import BotProcess, press, press_forged, say, texts, wait_until
from worlds import add_test_round, bind

pytestmark = pytest.mark.e2e

ROUND = "REV-Q4"


def review_round(engine) -> int:
    today = local_today()
    round_id = add_test_round(engine, ROUND, opens=today - timedelta(days=10), deadline=today + timedelta(days=30),
                              indicators=["DV_TONG", "DV_MOI"])
    with session_scope(engine) as s:
        rnd = s.get(Round, round_id)
        rnd.requires_review = True
        s.add(rnd)
    return round_id


def state(engine, unit_code: str) -> str | None:
    with Session(engine) as s:
        return s.exec(select(Submission.review).join(Unit, Unit.id == Submission.unit_id).join(Round)
                      .where(Unit.code == unit_code, Round.code == ROUND)).first()


def unit_name(engine, code: str) -> str:
    with Session(engine) as s:
        return s.exec(select(Unit.name).where(Unit.code == code)).one()


def usual_members(engine, code: str = "TD_001") -> int:
    """The unit's members as last reported in the demo (a figure that raises no plausibility question)."""
    from bot.models import Indicator

    with Session(engine) as s:
        unit = s.exec(select(Unit).where(Unit.code == code)).one()
        indicator = s.exec(select(Indicator).where(Indicator.code == "DV_TONG")).one()
        value = reporting.last_value(s, unit, indicator, reporting.round_by_code(s, ROUND))[0]
    assert value < 1000  # written without a thousands separator below
    return int(value)


def report(chair, members: int, new_members: str = "5") -> str:  # type: ignore[no-untyped-def]
    say(chair, f"/baocao {ROUND}")
    say(chair, str(members))
    say(chair, new_members)
    return texts(press(chair, "Gửi"))


def test_return_correct_approve_and_the_workbook_shows_both(fake, bot, demo_db):
    engine = make_engine(demo_db)
    review_round(engine)
    bind(engine, "TD_001", 7401, name="Chủ tịch Hoa")
    bind(engine, "CDX_TD", 7402, role=Role.OFFICER, name="Cán bộ Minh")
    chair, officer = fake.user(7401), fake.user(7402)
    name = unit_name(engine, "TD_001")

    members = usual_members(engine)
    assert "chờ cấp trên duyệt" in report(chair, members)
    assert state(engine, "TD_001") == review.WAITING

    listing = texts(say(officer, "/duyet"))
    assert "1 báo cáo chờ duyệt" in listing and "đã duyệt 0 · chờ duyệt 1 · trả lại 0" in listing
    shown = texts(press(officer, name))
    assert f"Tổng số đoàn viên: {members} người" in shown and "Đoàn viên kết nạp mới: 5 người" in shown
    assert "lần trước:" in shown  # the demo's earlier reports of the unit, beside each figure
    assert "Gõ nhận xét" in texts(press(officer, "Trả lại"))
    comment = "Số đoàn viên mới không khớp danh sách, đề nghị kiểm tra lại"
    assert "Đã trả lại báo cáo" in texts(say(officer, comment))
    assert state(engine, "TD_001") == review.RETURNED

    told = chair.wait_for(lambda m: "đã bị trả lại để kiểm tra" in m.text)
    assert comment in told.text
    summary = texts(press(chair, "Sửa ngay"))
    assert "Tóm tắt" in summary
    press(chair, "Sửa")
    press(chair, "Đoàn viên kết nạp mới")
    say(chair, "6")
    receipt = texts(press(chair, "Gửi"))
    assert "Đã nhận bản sửa" in receipt and "chờ cấp trên duyệt" in receipt
    assert state(engine, "TD_001") == review.WAITING

    say(officer, "/duyet")
    shown = texts(press(officer, name))
    assert "6 người" in shown and "(sửa từ 5 người)" in shown and comment in shown
    assert "Đã duyệt" in texts(press(officer, "Duyệt"))
    assert state(engine, "TD_001") == review.APPROVED
    chair.wait_for(lambda m: "đã được cấp trên duyệt" in m.text)

    [excel] = say(officer, f"/xuatexcel {ROUND}")
    wb = openpyxl.load_workbook(io.BytesIO(excel.content))
    steps = [r for r in wb["Duyệt"].iter_rows(min_row=3, values_only=True) if r[0] == "TD_001"]
    assert [(r[2], r[3], r[4]) for r in steps] == [
        (1, "chờ duyệt", "Chủ tịch Hoa"), (1, "trả lại", "Cán bộ Minh"),
        (2, "chờ duyệt", "Chủ tịch Hoa"), (2, "đã duyệt", "Cán bộ Minh")]
    assert steps[1][6] == comment
    revisions = [r for r in wb["Lịch sử sửa"].iter_rows(min_row=3, values_only=True)
                 if r[0] == "TD_001" and r[2] == "DV_MOI"]
    assert [(r[4], r[5], r[6]) for r in revisions] == [(1, None, 5), (2, 5, 6)]
    units = {r[0]: r for r in wb["Danh sách đơn vị"].iter_rows(min_row=3, values_only=True)}
    assert units["TD_001"][-1] == "đã duyệt"
    fake.assert_clean()


def test_an_officer_of_another_union_cannot_see_or_act_typed_or_forged(fake, bot, demo_db):
    engine = make_engine(demo_db)
    review_round(engine)
    bind(engine, "TD_001", 7411)
    bind(engine, "CDX_PT", 7412, role=Role.OFFICER)
    chair, other = fake.user(7411), fake.user(7412)
    members = usual_members(engine)
    report(chair, members)
    with Session(engine) as s:
        sub_id = s.exec(select(Submission.id).join(Round).where(Round.code == ROUND)).one()

    assert "Không có báo cáo nào đang chờ" in texts(say(other, "/duyet"))
    assert "chỉ duyệt được báo cáo của các đơn vị thuộc công đoàn mình" in texts(say(other, f"/duyet {ROUND} TD_001"))
    assert name_absent(other, unit_name(engine, "TD_001"))
    last = other.messages()[-1]
    press_forged(other, [f"s{version}:review:{action}:{sub_id}"
                         for action in ("show", "approve", "return", "bulkok") for version in range(12)],
                 message_id=last.message_id)
    fake.wait_idle()
    assert state(engine, "TD_001") == review.WAITING
    assert f"Tổng số đoàn viên: {members}" not in " ".join(m.text or "" for m in other.messages())
    with Session(engine) as s:
        assert s.exec(select(SubmissionReview).where(SubmissionReview.state != review.WAITING)).all() == []
        assert s.exec(select(AuditLog).where(AuditLog.action.in_(["submission.approve", "submission.return"]))).all() == []
    fake.assert_clean()  # every forged press was still answered


def new_members(summary: str) -> int:
    line = next(line for line in summary.splitlines() if line.startswith("• Đoàn viên kết nạp mới"))
    return int(re.search(r": ([\d.]+) người", line).group(1).replace(".", ""))


def name_absent(user, name: str) -> bool:  # type: ignore[no-untyped-def]
    return all(name not in (m.text or "") for m in user.messages())


def test_tonghop_counts_approved_waiting_returned_per_union(fake, bot, demo_db):
    engine = make_engine(demo_db)
    review_round(engine)
    officer_id = bind(engine, "CDX_TD", 7421, role=Role.OFFICER)
    bind(engine, "LDLD_LC", 7422, role=Role.STAFF)
    now = utcnow()
    with session_scope(engine) as s:  # three reports of Tam Đường and one of Phong Thổ, reviewed three ways
        rnd = reporting.round_by_code(s, ROUND)
        officer = s.get(Person, officer_id)
        for code in ("TD_001", "TD_005", "TD_009", "PT_001"):
            unit = s.exec(select(Unit).where(Unit.code == code)).one()
            draft = reporting.start_draft(s, rnd, unit, None, now, values={"DV_TONG": 100, "DV_MOI": 2})
            reporting.submit(s, rnd, unit, draft, None, now, "test")
        s.flush()
        subs = {u.code: (sub, u) for sub, u in s.exec(select(Submission, Unit).join(Unit).where(Submission.round_id == rnd.id))}
        review.approve(s, subs["TD_001"][0], rnd, subs["TD_001"][1], officer, now, "test")
        review.return_report(s, subs["TD_005"][0], rnd, subs["TD_005"][1], officer, "Kiểm tra lại", now, "test")
    staff = fake.user(7422)
    summary = texts(say(staff, f"/tonghop {ROUND}"))
    assert "Tình trạng duyệt: đã duyệt 1 · chờ duyệt 2 · trả lại 1" in summary
    assert "Công đoàn xã Tam Đường: 3/" in summary
    tam_duong = next(line for line in summary.splitlines() if "Công đoàn xã Tam Đường:" in line)
    phong_tho = next(line for line in summary.splitlines() if "Công đoàn xã Phong Thổ:" in line)
    assert "đã duyệt 1 · chờ duyệt 1 · trả lại 1" in tam_duong and "đã duyệt 0 · chờ duyệt 1 · trả lại 0" in phong_tho
    assert "đã duyệt" not in next(line for line in summary.splitlines() if "Công đoàn xã Sìn Hồ:" in line)
    assert "Số liệu tính mọi báo cáo đã nộp; đã duyệt 1/4 (25,0%)" in summary
    approved = texts(press(staff, "Chỉ tính đã duyệt"))
    assert "Số liệu chỉ tính báo cáo đã duyệt (1/4 báo cáo đã nộp)" in approved
    # new members this year: the three reports not approved (2 each) no longer count
    assert new_members(summary) - new_members(approved) == 6
    officer = fake.user(7421)
    mine = texts(say(officer, f"/tonghop {ROUND}"))
    assert "Tình trạng duyệt: đã duyệt 1 · chờ duyệt 1 · trả lại 1" in mine
    assert "Trả lại (1): " in mine and "Chờ duyệt (1): " in mine
    fake.assert_clean()


def settled(engine) -> bool:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return not s.exec(select(Outbox).where(Outbox.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))).first()


def test_on_zalo_the_chair_corrects_a_returned_report_by_typing(fake, demo_db, tmp_path):
    from standin.zalo import FakeZalo

    engine = make_engine(demo_db)
    review_round(engine)
    bind(engine, "TD_001", "zl-7431", channel="zalo")
    bind(engine, "CDX_TD", "zl-7432", channel="zalo", role=Role.OFFICER)
    members = usual_members(engine)
    with FakeZalo() as zalo:
        process = BotProcess(fake, demo_db, tmp_path / "bot.log", zalo=zalo).start()
        try:
            chair, officer = zalo.user("zl-7431", "Hoa"), zalo.user("zl-7432", "Minh")

            def zsay(user, text: str) -> str:  # type: ignore[no-untyped-def]
                user.send(text)
                return "\n".join(m.body for m in user.wait_replies())

            zsay(chair, f"/baocao {ROUND}")
            zsay(chair, str(members))
            zsay(chair, "5")
            assert "chờ cấp trên duyệt" in zsay(chair, "1")  # 1. Gửi
            listing = zsay(officer, "/duyet")
            assert "1 báo cáo chờ duyệt" in listing and "1." in listing
            assert f"Tổng số đoàn viên: {members} người" in zsay(officer, "1")
            assert "Gõ nhận xét" in zsay(officer, "2")  # 2. Trả lại
            zsay(officer, "Đề nghị kiểm tra lại số kết nạp mới")
            told = chair.wait_for(lambda m: "đã bị trả lại để kiểm tra" in m.body)
            assert "Gõ 1 để sửa ngay" in told.body
            # a person reads before typing; the bot keeps the push's choices once it has marked it sent
            # (milliseconds after the platform took it: on a loaded machine a test can be faster)
            wait_until(lambda: settled(engine), what="the push to be marked sent")
            assert "Tóm tắt" in zsay(chair, "1")
            assert "sửa dòng nào" in zsay(chair, "2")  # 2. Sửa
            assert "Đoàn viên kết nạp mới" in zsay(chair, "2")  # the second line
            assert "Tóm tắt" in zsay(chair, "6")
            assert "Đã nhận bản sửa" in zsay(chair, "1")
            assert state(engine, "TD_001") == review.WAITING
            zsay(officer, "/duyet")
            zsay(officer, "1")
            assert "Đã duyệt" in zsay(officer, "1")  # 1. Duyệt
            chair.wait_for(lambda m: "đã được cấp trên duyệt" in m.body)
            assert state(engine, "TD_001") == review.APPROVED
            zalo.assert_clean()
        finally:
            process.stop()
    with Session(engine) as s:
        assert s.exec(select(ChatIdentity).where(ChatIdentity.channel == "zalo")).all()
