"""The web dashboard in headless Chromium against the real `congdoan run` process.

World (tests/support/worlds.small_province): province P, unions U1 (G01–G12) and U2 (G13–G20),
a chair bound to every CĐCS, an officer per union, a staff member; round R1 open since three
days ago, due in ten, with G01–G05 reported. G06's chair reports (and corrects) through the chat;
everyone signs in with the link /web sends in the chat; an officer of U1 joins with an invite made
through the CLI.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import Session, func, select

from bot.clock import local_today
from bot.db import make_engine, session_scope, upgrade
from bot.models import Outbox, Round, Submission, Unit
from browser import shot
from e2e import BotProcess, free_port, press, province_users, say, texts, wait_until
from worlds import small_province

pytestmark = pytest.mark.e2e

CONGDOAN = str(Path(sys.executable).parent / "congdoan")


@pytest.fixture
def world(tmp_path):
    url = f"sqlite:///{tmp_path / 'dash.sqlite'}"
    upgrade(url)
    today = local_today()
    engine = make_engine(url)
    people = small_province(engine, opens=today - timedelta(days=3), deadline=today + timedelta(days=10))
    # no quiet hours for R1: "Nhắc" must send at once whatever the hour the suite runs at (a press
    # in quiet hours waits for the morning: tests/service/test_dashboard.py)
    with session_scope(engine) as session:
        rnd = session.exec(select(Round).where(Round.code == "R1")).one()
        rnd.reminder_plan = {**(rnd.reminder_plan or {}), "quiet": ["00:00", "00:00"]}
        session.add(rnd)
    engine.dispose()
    return url, people


@pytest.fixture
def running(fake, world, tmp_path):
    url, people = world
    port = free_port()
    process = BotProcess(fake, url, tmp_path / "bot.log", CONGDOAN_HTTP_PORT=str(port)).start()
    yield url, people, port
    process.stop()


def sign_in_link(user) -> str:  # type: ignore[no-untyped-def]
    answer = texts(say(user, "/web"))
    assert "dùng một lần, trong 10 phút" in answer
    return re.search(r"http://\S+/dashboard/login/\S+", answer).group(0)  # type: ignore[union-attr]


def sign_in(page, link: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(link)
    page.click("#sign-in")
    page.wait_for_selector("#rounds")


def ids(url: str) -> tuple[int, dict[str, int]]:
    with Session(make_engine(url)) as s:
        rid = s.exec(select(Round.id).where(Round.code == "R1")).one()
        return rid, {code: uid for code, uid in s.exec(select(Unit.code, Unit.id)).all()}


def union_lines(summary: str) -> dict[str, tuple[int, int, int, int]]:
    """/tonghop's lines '• LĐLĐ huyện U1: 6/12 — muộn 0, chưa nộp 6' → name: (submitted, expected, late, missing)."""
    found = {}
    for name, sub, exp, late, missing in re.findall(r"• (.+?): (\d+)/(\d+) — muộn (\d+), chưa nộp (\d+)", summary):
        found[name] = (int(sub), int(exp), int(late), int(missing))
    return found


def test_staff_signs_in_sees_the_chat_figures_drills_down_downloads_and_reminds_once(fake, running, browser_page):
    url, people, port = running
    chairs, _officers, staff = province_users(fake, people)
    rid, unit_ids = ids(url)

    # G06's chair reports through the chat, then corrects a figure
    g06 = chairs["G06"]
    say(g06, "/baocao R1")
    say(g06, "45")
    assert "Đã nhận báo cáo" in texts(press(g06, "Gửi"))
    say(g06, "/baocao R1")
    press(g06, "Sửa số liệu")
    press(g06, "Sửa")
    press(g06, "Tổng số đoàn viên")
    say(g06, "47")
    assert "Đã nhận bản sửa" in texts(press(g06, "Gửi"))

    chat = union_lines(texts(say(staff, "/tonghop R1")))
    assert chat == {"LĐLĐ huyện U1": (6, 12, 0, 6), "LĐLĐ huyện U2": (0, 8, 0, 8)}

    page = browser_page
    sign_in(page, sign_in_link(staff))
    shot(page, "rounds")
    page.click("text=Đợt thử R1")
    page.wait_for_selector("#groups")
    assert "6/20 đơn vị đã nộp" in page.inner_text("#total")
    shown = {}
    for row in page.query_selector_all("#groups tbody tr"):
        name = row.query_selector("td a").inner_text().strip()
        cell = {f: row.query_selector(f'[data-field="{f}"]').inner_text() for f in ("reported", "late", "missing")}
        sub, exp = (int(n) for n in cell["reported"].split("/"))
        shown[name] = (sub, exp, int(cell["late"]), int(cell["missing"]))
    assert shown == chat  # the same numbers as the chat's /tonghop, for the same round and scope
    page.wait_for_function("() => { const i = document.querySelector('img.chart'); return i && i.complete && i.naturalWidth > 0; }")
    shot(page, "round")

    # the chart is a picture the page loads from the bot
    chart = page.request.get(f"http://127.0.0.1:{port}/dashboard/rounds/{rid}/chart.png?unit={unit_ids['P']}")
    assert chart.status == 200 and chart.body()[:8] == b"\x89PNG\r\n\x1a\n"

    # the workbook: its numbers are the database's
    with page.expect_download() as download:
        page.click("#workbook")
    assert download.value.suggested_filename == "tonghop-R1-P.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()))
    total = [r for r in wb["Tình hình nộp"].iter_rows(min_row=3, values_only=True) if r[1] == "Tổng cộng"][0]
    with Session(make_engine(url)) as s:
        submitted = s.exec(select(func.count()).select_from(Submission).join(Round).where(Round.code == "R1")).one()
    assert submitted == 6 and total[2] == 20 and total[3] + total[4] == submitted

    # drill into U1: its CĐCS with chair, status and the time of G06's report
    page.click("text=LĐLĐ huyện U1")
    page.wait_for_selector("#units")
    assert "6/12 đơn vị đã nộp" in page.inner_text("#total")
    rows = {r.get_attribute("data-unit"): r.inner_text() for r in page.query_selector_all("#units tbody tr")}
    assert sorted(rows) == [f"G{n:02d}" for n in range(1, 13)]
    assert "đúng hạn" in rows["G06"] and "Chủ tịch 06" in rows["G06"]
    assert "chưa nộp" in rows["G07"] and "Chủ tịch 07" in rows["G07"]
    shot(page, "union")

    # G06's page: the submission and its correction (who, old → new)
    page.click("text=CĐCS số 06")
    page.wait_for_selector("#submissions")
    changes = page.inner_text("#submissions")
    assert "45 người → 47 người" in changes and "Chủ tịch 06" in changes
    shot(page, "unit")

    # remind the missing units, twice: each missing chair gets exactly one reminder
    page.goto(f"http://127.0.0.1:{port}/dashboard/rounds/{rid}")
    page.click("#remind")
    assert "Đang gửi lời nhắc tới 14 chủ tịch" in page.inner_text("#result")
    shot(page, "reminded")
    page.goto(f"http://127.0.0.1:{port}/dashboard/rounds/{rid}")
    page.click("#remind")
    assert "14 chủ tịch đã được nhắc" in page.inner_text("#result")

    def pending() -> int:
        with Session(make_engine(url)) as s:
            return len(s.exec(select(Outbox).where(Outbox.status.in_(["pending", "sending"]))).all())

    wait_until(lambda: pending() == 0, what="the reminders to go out")
    fake.wait_idle()
    reminded = {code: sum("Nhắc báo cáo: Đợt thử R1" in (m.text or "") for m in user.messages())
                for code, user in chairs.items()}
    assert reminded == {code: (0 if int(code[1:]) <= 6 else 1) for code in chairs}
    fake.assert_clean()


def test_an_officer_sees_only_their_union_and_links_cookies_and_forms_are_checked(fake, running, browser,
                                                                                  browser_page):
    url, people, port = running
    _chairs, _officers, staff = province_users(fake, people)
    rid, unit_ids = ids(url)
    base = f"http://127.0.0.1:{port}/dashboard"

    # an officer of U1 registers with an invite made through the CLI
    made = subprocess.run([CONGDOAN, "invite", "U1", "--role", "officer"], env=dict(os.environ, DATABASE_URL=url),
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    code = made.stdout.splitlines()[1].strip()
    officer = fake.user(8301, first_name="Hà")
    assert "Xác nhận thành công" in texts(say(officer, f"/start {code}"))

    page = browser_page
    link = sign_in_link(officer)
    sign_in(page, link)
    page.click("text=Đợt thử R1")
    page.wait_for_selector("#units")
    assert "LĐLĐ huyện U1" in page.inner_text("#scope") and "5/12 đơn vị đã nộp" in page.inner_text("#total")
    rows = [r.get_attribute("data-unit") for r in page.query_selector_all("#units tbody tr")]
    assert rows == [f"G{n:02d}" for n in range(1, 13)]

    # another union's id typed into the address: 404 and no figure
    for path in (f"/rounds/{rid}?unit={unit_ids['U2']}", f"/rounds/{rid}?unit={unit_ids['P']}",
                 f"/units/{unit_ids['G13']}", f"/rounds/{rid}/workbook.xlsx?unit={unit_ids['U2']}"):
        answer = page.goto(base + path)
        assert answer is not None and answer.status == 404, path
        body = page.inner_text("body")
        assert "đơn vị đã nộp" not in body and "U2" not in body and "CĐCS số 13" not in body
    shot(page, "tampered")

    # the same sign-in link a second time, in another browser: refused, and says so
    other = browser.new_context()
    try:
        second = other.new_page()
        second.goto(link)
        assert "đã được sử dụng" in second.inner_text("body")
        assert second.query_selector("#sign-in") is None
        # a forged cookie is refused
        cookie = [c for c in page.context.cookies() if c["name"] == "congdoan_dashboard"][0]
        forged = dict(cookie, value=cookie["value"][:-4] + ("AAAA" if not cookie["value"].endswith("AAAA") else "BBBB"))
        other.add_cookies([forged])
        answer = second.goto(base + "/")
        assert answer is not None and answer.status == 401 and "Đợt thử R1" not in second.inner_text("body")
        shot(second, "forged-cookie")
    finally:
        other.close()

    # staff: a POST without the CSRF token changes nothing (neither the lock nor the reminders)
    staff_page = browser.new_context().new_page()
    try:
        sign_in(staff_page, sign_in_link(staff))
        for action in ("lock", "remind"):
            answer = staff_page.request.post(f"{base}/rounds/{rid}/{action}", form={"unit": str(unit_ids["P"])})
            assert answer.status == 403
        with Session(make_engine(url)) as s:
            assert not s.get(Round, rid).locked
            assert s.exec(select(func.count()).select_from(Outbox).where(Outbox.kind == "reminder")).one() == 0
        # with the page's form (and its token) the lock works
        staff_page.goto(f"{base}/rounds/{rid}")
        staff_page.click("#lock")
        assert "đã khóa" in staff_page.inner_text("#result")
        with Session(make_engine(url)) as s:
            assert s.get(Round, rid).locked
    finally:
        staff_page.context.close()

    # signing out ends the session: the old cookie opens nothing any more
    page.goto(base + "/")
    page.click("text=Đăng xuất")
    assert "đã đăng xuất" in page.inner_text("body")
    again = page.context.browser.new_context()
    try:
        again.add_cookies([cookie])
        answer = again.new_page().goto(base + "/")
        assert answer is not None and answer.status == 401
    finally:
        again.close()
    fake.assert_clean()


def test_an_officer_returns_a_report_from_the_dashboard_and_the_chair_reads_the_comment(fake, running,
                                                                                          browser_page):
    from bot.clock import utcnow
    from bot.db import session_scope
    from bot.services import review

    url, people, port = running
    chairs, officers, _staff = province_users(fake, people)
    rid, unit_ids = ids(url)
    with session_scope(make_engine(url)) as s:  # R1 now requires review: G01–G05 wait for it
        assert review.set_required(s, s.get(Round, rid), True, utcnow()) == 5

    page = browser_page
    sign_in(page, sign_in_link(officers["U1"]))
    page.click("text=Đợt thử R1")
    page.wait_for_selector("#units")
    assert "chờ duyệt 5" in page.inner_text("#reviews")
    shot(page, "review-round")
    page.click('#units tr[data-unit="G02"] [data-field="review"] a')
    page.wait_for_selector("#submissions")
    with Session(make_engine(url)) as s:
        sid = s.exec(select(Submission.id).where(Submission.unit_id == unit_ids["G02"])).one()
    comment = "Số đoàn viên không khớp danh sách, đề nghị kiểm tra lại"
    page.fill(f"#comment-{sid}", comment)
    shot(page, "review-comment")
    page.click(f"#return-{sid}")
    assert "Đã trả lại báo cáo của CĐCS số 02" in page.inner_text("#result")
    shot(page, "review-returned")

    told = chairs["G02"].wait_for(lambda m: "đã bị trả lại để kiểm tra" in m.text, timeout=30)
    assert comment in told.text
    assert "Sửa ngay" in texts([told]) or any("Sửa ngay" in b.get("text", "") for row in
                                               (told.reply_markup or {}).get("inline_keyboard", []) for b in row)
    summary = texts(press(chairs["G02"], "Sửa ngay"))  # the push's button starts the correction
    assert "Tóm tắt" in summary

    # the unit page keeps the history beside the figures; the report is no longer offered for a decision
    page.click("#back")
    history = page.inner_text("table.reviews")
    assert "trả lại" in history and comment in history
    assert page.query_selector(f"#return-{sid}") is None
    with Session(make_engine(url)) as s:
        assert s.get(Submission, sid).review == review.RETURNED
    fake.assert_clean()
