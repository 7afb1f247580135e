"""/tonghop, /xephang, /xuatexcel, /bieudo in-process: what staff, officers and chairs may see."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.models import Role
from dialog import CoreChat
from worlds import bind

NOW = datetime(2026, 11, 21, 3, 0, tzinfo=timezone.utc)  # the demo's today: Q3's deadline has passed


@pytest.fixture
def chat(demo_engine, settings):
    def make(unit_code: str, role: Role, user_id: str) -> CoreChat:
        bind(demo_engine, unit_code, user_id, channel="test", role=role)
        return CoreChat(demo_engine, settings, user_id=user_id, now=NOW)
    return make


def files(c: CoreChat):  # type: ignore[no-untyped-def]
    return [r.file for r in c.history[-1].replies if r.file is not None]


def test_staff_sees_the_province_by_upper_union_and_gets_chart_and_excel(chat):
    staff = chat("LDLD_LC", Role.STAFF, "601")
    staff.send("/tonghop")
    text = staff.text
    assert "Tổng hợp: Báo cáo số liệu quý III/2026" in text
    # today's tree: 286 CĐCS (31 directly under the province), the commune/ward unions that replaced the districts
    assert "250/286 đơn vị đã nộp" in text and "Công đoàn xã Tam Đường: 24/30 — muộn 6, chưa nộp 6" in text
    assert "LĐLĐ huyện" not in text and "Liên đoàn Lao động huyện" not in text  # the districts ended on 01/07/2025
    assert "Tổng số đoàn viên (tính đến 30/09/2026): 24.156 người — chỉ tiêu 24.500 người (2023-2028): đạt 98,6% chỉ tiêu · 286/286 đơn vị đã báo cáo" in text
    assert "92,5% (25.187/27.217)" in text  # a ratio of sums, with its parts
    assert staff.options()[:3] == ["Excel", "Biểu đồ", "Xếp hạng"]
    staff.press("Biểu đồ")
    [photo] = files(staff)
    assert photo.kind == "photo" and photo.content[:4] == b"\x89PNG" and "Biểu đồ" in photo.caption
    staff.send("/xuatexcel 2026-Q3")
    [doc] = files(staff)
    assert doc.kind == "document" and doc.file_name == "tonghop-2026-Q3-LDLD_LC.xlsx" and doc.content[:2] == b"PK"


def test_staff_ranking_of_upper_unions_and_of_one_unions_cdcs(chat):
    staff = chat("LDLD_LC", Role.STAFF, "602")
    staff.send("/xephang")
    # the province's children: the upper unions and the 31 CĐCS directly under it (39 in all)
    assert "6. Công đoàn xã Sìn Hồ — 97,7 điểm (đồng hạng)" in staff.text
    assert "29. CĐ Viên chức tỉnh Lai Châu — 68,4 điểm" in staff.text and "39. " in staff.text and "40. " not in staff.text
    assert "Điểm = trung bình có trọng số" in staff.text and "bằng điểm thì đồng hạng" in staff.text
    staff.send("/xephang 2026-Q3 CDX_TD")
    assert "Các đơn vị thuộc Công đoàn xã Tam Đường" in staff.text
    assert staff.text.count("(đồng hạng)") >= 2 and "30. " in staff.text and "31. " not in staff.text


def test_officer_sees_their_union_only(chat):
    officer = chat("CDX_TD", Role.OFFICER, "603")
    officer.send("/tonghop")
    assert "24/30 đơn vị đã nộp" in officer.text and "Chưa nộp (6): " in officer.text
    assert "Trung tâm Văn hóa, Truyền thanh – Truyền hình huyện Tam Đường" in officer.text
    for forbidden in ("/tonghop 2026-Q3 LDLD_LC", "/tonghop CDX_PT", "/xephang LDLD_LC", "/xuatexcel 2026-Q3 PT_001",
                      "/bieudo CDX_PT", "/tonghop TD_003"):  # TD_003 moved directly under the province
        officer.send(forbidden)
        assert "Bạn chỉ xem được số liệu của Công đoàn xã Tam Đường" in officer.text, forbidden
        assert not files(officer)
    officer.send("/tonghop TD_001")
    assert "Cơ quan Huyện ủy Tam Đường" in officer.text and "chỉ tiêu" in officer.text


def test_a_chair_gets_their_own_unit_only(chat):
    chair = chat("TD_001", Role.CHAIR, "604")
    chair.send("/tonghop")
    assert "Đơn vị bạn đã nộp lúc" in chair.text and "Đoàn viên kết nạp mới (tính đến 30/09/2026): 6 người" in chair.text
    assert "đơn vị đã nộp" not in chair.text  # no completeness of others
    chair.send("/xephang")
    assert "Cơ quan Huyện ủy Tam Đường: 93,5 điểm" in chair.text and "Trạm Y tế" not in chair.text
    for forbidden in ("/tonghop 2026-Q3 TD_005", "/tonghop CDX_TD", "/xephang CDX_TD", "/tonghop LDLD_LC"):
        chair.send(forbidden)
        assert chair.text == "Bạn chỉ xem được số liệu của đơn vị mình là Cơ quan Huyện ủy Tam Đường.", forbidden
    for command in ("/xuatexcel", "/bieudo", "/xuatexcel 2026-Q3 LDLD_LC"):
        chair.press_data(command)  # a forged button is the same command, checked the same way
        assert "dành cho công đoàn cấp trên và cán bộ LĐLĐ tỉnh" in chair.text and not files(chair)


def test_unknown_arguments_and_strangers(chat, demo_engine, settings):
    staff = chat("LDLD_LC", Role.STAFF, "605")
    staff.send("/tonghop 2027-Q9")
    assert "Tôi không hiểu “2027-Q9”" in staff.text and "2026-Q3" in staff.text
    staff.send("/bieudo 2026-Q3 DV_MOI TT_CHINHSACH")
    assert files(staff)[0].kind == "photo"
    stranger = CoreChat(demo_engine, settings, user_id="606", now=NOW)
    stranger.send("/tonghop")
    assert "mã mời" in stranger.text and "đơn vị đã nộp" not in stranger.text


def test_menu_and_help_offer_the_staff_view_to_officers_and_staff_only(chat):
    staff = chat("LDLD_LC", Role.STAFF, "607")
    staff.send("/menu")
    assert {"Tổng hợp", "Xếp hạng", "Excel", "Biểu đồ"} <= set(staff.options())
    staff.send("/help")
    assert "/xuatexcel" in staff.text and "/bieudo" in staff.text
    chair = chat("TD_005", Role.CHAIR, "608")
    chair.send("/menu")
    assert "Tổng hợp" not in chair.options()
    chair.send("/help")
    assert "/tonghop" in chair.text and "/xuatexcel" not in chair.text


def test_staff_and_officers_name_rounds_and_units_as_they_type_them(chat):
    staff = chat("LDLD_LC", Role.STAFF, "611")
    staff.send("/tonghop quy 3")
    assert "Tổng hợp: Báo cáo số liệu quý III/2026" in staff.text and "Liên đoàn Lao động tỉnh Lai Châu" in staff.text
    staff.send("/tonghop quý II")
    assert "Tổng hợp: Báo cáo số liệu quý II/2026" in staff.text
    staff.send("/tonghop Muong Te")  # the commune union that took the old district town's name
    assert "Công đoàn xã Mường Tè · hạn nộp" in staff.text and "21/26 đơn vị đã nộp" in staff.text
    staff.send("/tonghop quy 2 muong te")
    assert "quý II/2026" in staff.text and "Công đoàn xã Mường Tè · hạn nộp" in staff.text
    staff.send("/tonghop 2026-Q1 CDX_TD")  # codes still work
    assert "quý I/2026" in staff.text and "Công đoàn xã Tam Đường · hạn nộp" in staff.text
    staff.send("/tonghop 2025-Q2 LDLD_TD")  # an ended district's code, for a round of its time
    assert "quý II/2025" in staff.text and "Liên đoàn Lao động huyện Tam Đường · hạn nộp" in staff.text
    assert "36/36 đơn vị đã nộp" in staff.text and "cơ cấu tổ chức ngày 30/06/2025" in staff.text
    staff.send("/tonghop")  # no argument: the rounds and the scopes are offered
    options = staff.options()
    assert "Báo cáo số liệu quý II/2026" in options and "Công đoàn xã Mường Tè" in options
    staff.send("/tonghop blabla")
    assert "Tôi không hiểu “blabla”" in staff.text or "không biết “blabla”" in staff.text
    officer = chat("CDX_MT", Role.OFFICER, "612")
    officer.send("/tonghop quy 3")
    assert "Tổng hợp: Báo cáo số liệu quý III/2026" in officer.text
    assert "Công đoàn xã Mường Tè · hạn nộp" in officer.text
    officer.send("/xephang quy 3")
    assert "quý III/2026" in officer.text
    officer.send("/tonghop Tam Duong")  # not theirs
    assert "Bạn chỉ xem được số liệu của" in officer.text


def test_a_past_round_follows_the_tree_of_its_period_and_says_so(chat, demo_engine):
    from datetime import date

    from bot.db import session_scope
    from bot.services import restructure

    staff = chat("LDLD_LC", Role.STAFF, "602")
    staff.send("/tonghop 2026-Q2 CDP_TP")
    before = staff.text
    assert "cơ cấu" not in before  # nothing has changed since: nothing to say
    moved = ["TP_001", "TP_005"] + [f"TP_{i:03d}" for i in range(9, 17)]  # 10 CĐCS under CDP_TP
    actions = [restructure.Action("move", code, date(2026, 7, 1), to="CDX_SH") for code in moved]
    with session_scope(demo_engine) as session:
        restructure.apply(session, restructure.plan(session, actions, NOW), actor="test", now=NOW)

    staff.send("/tonghop 2026-Q2 CDP_TP")
    past = staff.text
    assert "Đơn vị được tính theo cơ cấu tổ chức ngày 30/06/2026" in past
    assert "/tonghop 2026-Q2 CDP_TP hiện tại" in past
    figures_of = lambda text: [l for l in text.splitlines() if "đơn vị đã nộp" in l or "chỉ tiêu" in l]  # noqa: E731
    assert figures_of(past) == figures_of(before)  # the same figures as before the move

    staff.send("/tonghop 2026-Q2 CDP_TP hiện tại")
    today = staff.text
    assert "theo cơ cấu hiện nay" in today
    assert figures_of(today) != figures_of(before)

    staff.send("/tonghop 2026-Q3 CDP_TP")  # Q3 ended after the move: today's tree, nothing to say
    assert "cơ cấu" not in staff.text


def test_staff_see_2025_under_the_districts_and_after_the_change_under_the_new_unions(chat):
    """The demo's reorganisation of 01/07/2025: Q2/2025 is summed per district federation (the tree of
    30/06/2025, 300 CĐCS, and /tonghop says so); Q3/2025 per commune/ward union (286 CĐCS)."""
    staff = chat("LDLD_LC", Role.STAFF, "613")
    staff.send("/tonghop 2025-Q2")
    q2 = staff.text
    assert "Tổng hợp: Báo cáo số liệu quý II/2025" in q2 and "276/300 đơn vị đã nộp" in q2
    assert "• LĐLĐ huyện Mường Tè: 32/32 — muộn 14, chưa nộp 0" in q2
    assert "• LĐLĐ thành phố Lai Châu: 45/48" in q2 and "Công đoàn xã" not in q2
    assert "Đơn vị được tính theo cơ cấu tổ chức ngày 30/06/2025" in q2
    staff.send("/tonghop 2025-Q3")
    q3 = staff.text
    assert "Tổng hợp: Báo cáo số liệu quý III/2025" in q3 and "255/286 đơn vị đã nộp" in q3
    assert "• Công đoàn xã Mường Tè: 24/26" in q3 and "LĐLĐ huyện" not in q3 and "cơ cấu" not in q3
