"""The browser playground end to end: headless Chromium against the real `congdoan run`,
started exactly as README's run command says, in a fresh folder, with no channel token.

One process serves the whole module (loading the demo province takes seconds); each test
plays its own personas (units of its own), so the tests do not depend on one another.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import Session, select

from browser import shot
from bot.db import make_engine
from bot.models import ChatIdentity, NoticeDelivery, Unit
from cli_runner import CONGDOAN
from e2e import free_port, wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README_RUN = ".venv/bin/congdoan run"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Playground:
    url: str
    folder: Path
    proc: subprocess.Popen
    log: Path

    def units_under(self, upper_code: str) -> list[str]:
        """CĐCS codes under an upper-level union, read from the playground's own database."""
        engine = make_engine(f"sqlite:///{self.folder / 'data' / 'playground.sqlite'}")
        with Session(engine) as s:
            parent = s.exec(select(Unit).where(Unit.code == upper_code)).one()
            codes = s.exec(select(Unit.code).where(Unit.parent_id == parent.id, Unit.active == True)  # noqa: E712
                           .order_by(Unit.code)).all()
        engine.dispose()
        return list(codes)

    def database(self) -> str:
        return f"sqlite:///{self.folder / 'data' / 'playground.sqlite'}"


@pytest.fixture(scope="module")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Playground]:
    """README's run command in a fresh folder: only the port is chosen (8080 may be taken here)."""
    folder = tmp_path_factory.mktemp("fresh-clone")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "ZALO_", "CONGDOAN_", "DATABASE_URL", "PUBLIC_BASE_URL"))}
    env.update(CONGDOAN_HTTP_PORT=str(port), PYTHONUNBUFFERED="1")
    log = folder / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([CONGDOAN, "run"], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while url not in log.read_text("utf-8", errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the playground did not start:\n{log.read_text('utf-8', errors='replace')}")
        time.sleep(0.1)
    try:
        yield Playground(url=url, folder=folder, proc=proc, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


# ---- driving the page ---------------------------------------------------------------------


def open_page(page, playground: Playground, chat: str = ""):  # type: ignore[no-untyped-def]
    page.goto(playground.url + (f"playground/#{chat}" if chat else ""))
    page.locator("body[data-ready='1']").wait_for(state="attached")  # the script has loaded the personas
    return page


def become(page, role: str, unit: str = "") -> str:  # type: ignore[no-untyped-def]
    """Choose a persona in the picker; returns its chat id (the chat opens with the menu)."""
    if page.locator("#picker").is_hidden():
        page.click("#add-persona")
    if role != "staff":
        page.select_option(f"#{role}-unit", unit)
    before = page.locator(".chip.current").count() and page.locator(".chip.current").get_attribute("data-chat")
    page.click(f"form[data-role={role}] button[type=submit]")
    page.locator(".chip.current").first.wait_for()
    wait_until(lambda: page.locator(".chip.current").get_attribute("data-chat") != before, what="the new persona")
    page.locator(".msg.bot").first.wait_for()
    return page.locator(".chip.current").get_attribute("data-chat")


def bot_texts(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator(".msg.bot").all_inner_texts()


def settle(page, before: int):  # type: ignore[no-untyped-def]
    """Wait for the answer to an action: at least one new bot message; return the new ones' text."""
    page.locator(".msg.bot").nth(before).wait_for()
    page.wait_for_timeout(150)
    return "\n".join(bot_texts(page)[before:])


def type_text(page, text: str) -> str:  # type: ignore[no-untyped-def]
    before = page.locator(".msg.bot").count()
    page.fill("#text", text)
    page.click("#send")
    return settle(page, before)


def press(page, label: str) -> str:  # type: ignore[no-untyped-def]
    """Press the button showing `label` (or 'N. label') in the newest message that has it."""
    pattern = re.compile(rf"^(\d+\. )?{re.escape(label)}$")
    before = page.locator(".msg.bot").count()
    page.locator(".msg.bot .options button").filter(has_text=pattern).last.click()
    return settle(page, before)


def last_value(question: str) -> str:
    """The figure reported last time, as the question shows it ('Lần báo cáo trước: 1.234 người')."""
    found = re.search(r"Lần báo cáo trước: ([\d.,]+)", question)
    return found[1] if found else "1"


# ---- the acceptance points ----------------------------------------------------------------


def test_readme_run_command_serves_the_playground(playground, browser_page):
    readme = (ROOT / "README.md").read_text("utf-8")
    assert README_RUN in readme and "http://127.0.0.1:8080" in readme
    assert f"Sân chơi thử: mở {playground.url}" in playground.log.read_text("utf-8")
    # its own database (the demo) in the data folder; the DATABASE_URL default is never touched
    assert (playground.folder / "data" / "playground.sqlite").is_file()
    assert not (playground.folder / "db.sqlite").exists()

    page = browser_page
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    answer = page.goto(playground.url)
    assert answer is not None and answer.ok and page.url.endswith("/playground/")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "sân chơi thử" in page.title()
    assert page.locator("html").get_attribute("lang") == "vi"
    assert "Chọn vai" in page.inner_text("#picker") and "Giả lập thời gian" in page.inner_text("#clock")
    assert page.locator("#chair-unit option").count() == 286 and page.locator("#officer-unit option").count() == 8
    if page.locator(".chip[data-chat]").count() == 0:  # the first visit: nothing to type into yet
        assert page.locator("#composer").is_hidden()
    assert page.evaluate("(() => { const c = document.getElementById('composer'); c.hidden = true;"
                         " return getComputedStyle(c).display; })()") == "none"
    # a phone-sized screen: nothing wider than the viewport
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "01-picker")
    assert all(u.startswith(playground.url) for u in requests), requests  # every asset is served locally
    assert errors == []


def test_chair_reports_a_round_by_buttons_and_another_by_typing(playground, browser_page):
    page = open_page(browser_page, playground)
    chair = become(page, "chair", playground.units_under("CDX_TNU")[0])
    assert chair.startswith("chair-")
    assert "Chủ tịch CĐCS" in bot_texts(page)[-1]
    shot(page, "01-chair-menu")

    # the yearly round by buttons: menu, round, Có/Không, (figures typed: there is no button for a number), Gửi
    listing = press(page, "Báo cáo")
    assert "Báo cáo kết quả thực hiện chỉ tiêu năm 2026" in listing
    question = press(page, "Báo cáo kết quả thực hiện chỉ tiêu năm 2026")
    pressed = 0
    while "Tóm tắt" not in question:
        assert "mục " in question, question
        if "Trả lời Có hoặc Không" in question:
            question = press(page, "Có")
            pressed += 1
        else:
            question = type_text(page, "2")
    assert pressed >= 3
    shot(page, "02-summary")
    receipt = press(page, "Gửi")
    assert "Đã nhận báo cáo" in receipt and re.search(r"Mã tiếp nhận: BC-\w+", receipt)
    shot(page, "03-receipt-buttons")

    # the quarterly round by typing only: no button is pressed
    question = type_text(page, "/baocao 2026-Q4")
    while "Tóm tắt" not in question:
        assert "mục " in question or "Đúng" in question, question
        question = type_text(page, "1" if "Nhập lại" in question else last_value(question))
    receipt = type_text(page, "1")  # "1. Gửi"
    assert "Đã nhận báo cáo" in receipt and "Báo cáo số liệu quý IV/2026" in receipt
    assert page.locator(".msg.me").filter(has_text=re.compile(r"^\d+\. ")).count() == 1 + 1 + pressed + 1
    shot(page, "04-receipt-typed")


def test_staff_excel_download_and_chart_image(playground, browser_page, tmp_path):
    page = open_page(browser_page, playground)
    become(page, "staff")
    with page.expect_download() as download:
        type_text(page, "/xuatexcel")
        page.locator(".msg.bot .file a").last.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".xlsx"
    workbook = openpyxl.load_workbook(saved)
    assert "Tình hình nộp" in workbook.sheetnames
    shot(page, "01-excel")

    type_text(page, "/bieudo")
    image = page.locator(".msg.bot img").last
    image.wait_for()
    wait_until(lambda: image.evaluate("i => i.complete && i.naturalWidth") > 200, what="the chart to load")
    assert image.get_attribute("src").startswith("/f/")
    shot(page, "02-chart")


def test_notice_to_one_union_arrives_live_and_is_acknowledged(playground, browser):
    union = "CDX_PT"
    first, second = playground.units_under(union)[:2]
    other = playground.units_under("CDX_MT")[0]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    context.set_default_timeout(15_000)
    try:
        staff_page, chair_page = context.new_page(), context.new_page()
        staff_page.test_name = chair_page.test_name = "test_notice_to_one_union"  # type: ignore[attr-defined]
        open_page(chair_page, playground)
        outsider = become(chair_page, "chair", other)
        second_chat = become(chair_page, "chair", second)
        chair = become(chair_page, "chair", first)
        open_page(staff_page, playground)
        become(staff_page, "staff")

        assert "Soạn thông báo mới" in type_text(staff_page, "/thongbao")
        body = "Kính gửi các CĐCS: họp giao ban ngày 10/12."
        # the letter as a PDF, the text typed beside it as its caption
        before = staff_page.locator(".msg.bot").count()
        staff_page.fill("#text", body)
        staff_page.set_input_files("#file", files=[{"name": "cong-van-10-12.pdf", "mimeType": "application/pdf",
                                                    "buffer": PDF}])
        assert "Gửi thông báo này cho ai" in settle(staff_page, before)
        press(staff_page, "Chủ tịch CĐCS thuộc công đoàn cấp trên được chọn")
        press(staff_page, "Công đoàn xã Phong Thổ")
        assert "Xác nhận đã nhận: có yêu cầu" in press(staff_page, "Xong")
        preview = press(staff_page, "Xem trước")
        assert "Số người nhận: 2" in preview
        chair_messages = chair_page.locator(".msg.bot").count()
        assert "đã được xếp lịch gửi tới 2 người nhận" in press(staff_page, "Gửi")
        shot(staff_page, "01-staff-sent")

        # the notice appears in the open chair chat without reloading, and the other chair gets a badge
        notice = chair_page.locator(".msg.bot.push").filter(has_text=body)
        notice.wait_for()
        assert chair_page.locator(".msg.bot").count() > chair_messages
        badge = chair_page.locator(f".chip[data-chat='{second_chat}'] .badge")
        badge.wait_for()
        assert chair_page.locator(f".chip[data-chat='{outsider}'] .badge").count() == 0
        link = notice.locator(".file a")
        assert link.inner_text().startswith("📎 cong-van-10-12.pdf")
        assert chair_page.request.get(playground.url.rstrip("/") + link.get_attribute("href")).body() == PDF
        shot(chair_page, "02-chair-received")
        before = chair_page.locator(".msg.bot").count()
        notice.locator(".options button", has_text="Đã nhận").click()
        assert "Đã ghi nhận" in settle(chair_page, before)
        shot(chair_page, "03-chair-acknowledged")

        # staff's tracking shows it: the final report, then the list of who has not acknowledged
        report = staff_page.locator(".msg.bot").filter(has_text="Kết quả gửi thông báo")
        report.wait_for()
        assert "Đã gửi đến: 2/2" in report.inner_text()
        engine = make_engine(playground.database())
        with Session(engine) as s:
            acked = s.exec(select(NoticeDelivery).where(NoticeDelivery.acked_at != None)).all()  # noqa: E711
        engine.dispose()
        assert len(acked) == 1
        detail = press(staff_page, "Chi tiết")
        assert "đã gửi 2/2, lỗi 0, đã xác nhận 1" in detail and "Chưa xác nhận (1)" in detail, detail
        shot(staff_page, "04-staff-tracking")
        assert chair.startswith("chair-")
    finally:
        context.close()


def test_clock_panel_reminds_owing_chairs_at_nine_and_nobody_at_night(playground, browser_page):
    page = open_page(browser_page, playground)
    owing, done = playground.units_under("CDX_SH")[:2]
    owing_chat = become(page, "chair", owing)
    done_chat = become(page, "chair", done)
    officer_chat = become(page, "officer", "CDX_SH")
    # one chair reports the yearly round by typing, the other owes it
    page.locator(f".chip[data-chat='{done_chat}']").click()
    question = type_text(page, "/baocao 2026-NAM")
    while "Tóm tắt" not in question:
        question = type_text(page, "1" if ("Có hoặc Không" in question or "Nhập lại" in question) else "3")
    assert "Đã nhận báo cáo" in type_text(page, "1")
    page.locator(f".chip[data-chat='{owing_chat}']").click()
    messages_before = page.locator(".msg.bot").count()

    page.click("#clock summary")
    page.fill("#clock-date", "2026-12-17")
    page.fill("#clock-time", "23:00")
    page.click("#clock-run")
    result = page.locator("#clock-result")
    result.filter(has_text="17/12/2026").wait_for()
    assert "0 tin cần gửi" in result.inner_text() or "không có gì cần gửi" in result.inner_text()
    page.wait_for_timeout(2500)  # two polls: nothing arrives at night
    assert page.locator(".msg.bot").count() == messages_before
    assert page.locator(".chip .badge").count() == 0
    shot(page, "01-night-nothing")

    page.locator("button.preset", has_text="2026-NAM").click()  # three days before its deadline, 09:00
    assert page.input_value("#clock-date") == "2026-12-17" and page.input_value("#clock-time") == "09:00"
    page.click("#clock-run")
    result.filter(has_text="09:00").wait_for()
    assert "-3@09:00" in result.inner_text()
    reminder = page.locator(".msg.bot.push").filter(has_text="Báo cáo kết quả thực hiện chỉ tiêu năm 2026")
    reminder.wait_for()
    assert reminder.locator(".options button").count() >= 1  # a button that starts the report
    shot(page, "02-reminder-at-nine")
    # the chair who reported gets no reminder of that round
    page.locator(f".chip[data-chat='{done_chat}']").click()
    page.wait_for_timeout(1500)
    pushed = " ".join(page.locator(".msg.bot.push").all_inner_texts())
    assert "chỉ tiêu năm 2026" not in pushed

    # the day after the deadline the officer gets the digest of who is missing
    page.fill("#clock-date", "2026-12-21")
    page.fill("#clock-time", "09:00")
    page.click("#clock-run")
    result.filter(has_text="21/12/2026").wait_for()
    page.locator(f".chip[data-chat='{officer_chat}']").click()
    digest = page.locator(".msg.bot.push").filter(has_text="Báo cáo kết quả thực hiện chỉ tiêu năm 2026")
    digest.first.wait_for()
    assert owing in digest.first.inner_text() or "chưa nộp" in digest.first.inner_text().lower()
    shot(page, "03-officer-digest")


def test_beside_a_real_channel_only_when_asked_and_never_reaching_real_people(fake, demo_db, tmp_path):
    """CONGDOAN_PLAYGROUND=1 with a Telegram token: the page runs on its own database; a notice to
    every chair sent from the page reaches the page's chairs and no Telegram user."""
    import httpx

    from bot.models import Notice
    from e2e import BotProcess
    from worlds import bind

    real = make_engine(demo_db)
    bind(real, "TD_001", 8101)
    telegram_chair = fake.user(8101, started=True)
    port = free_port()
    sandbox = tmp_path / "sandbox.sqlite"
    process = BotProcess(fake, demo_db, tmp_path / "bot.log", CONGDOAN_HTTP_PORT=str(port), CONGDOAN_PLAYGROUND="1",
                         CONGDOAN_PLAYGROUND_DATABASE_URL=f"sqlite:///{sandbox}").start(timeout=120)
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").json()["channels"] == ["telegram"]
        api = httpx.Client(base_url=f"{base}/playground/api/", headers={"X-Playground": "1"}, timeout=30)
        chair = api.post("persona", json={"role": "chair", "unit": "TD_001"}).json()["persona"]["chat"]
        staff = api.post("persona", json={"role": "staff"}).json()["persona"]["chat"]

        def last(chat: str) -> dict:
            return [m for m in api.get("updates?after=0").json()["messages"] if m["chat"] == chat][-1]

        def press(chat: str, label: str) -> None:
            message = last(chat)
            position = next(o["n"] for row in message["options"] for o in row if label in o["label"])
            assert api.post("press", json={"chat": chat, "message": message["id"], "option": position}).json()["ok"]

        for text in ("/thongbao", "Thông báo thử từ sân chơi."):
            assert api.post("send", json={"chat": staff, "text": text}).json()["ok"]
        press(staff, "Tất cả Chủ tịch CĐCS")
        press(staff, "Xem trước")
        assert "Số người nhận: <b>1</b>" in last(staff)["html"]  # the page's one chair, not the Telegram one
        press(staff, "Gửi")
        wait_until(lambda: "Thông báo thử từ sân chơi." in last(chair)["html"], what="the notice on the page")
        fake.wait_idle()
        assert telegram_chair.messages() == []
        with Session(real) as s:
            assert s.exec(select(Notice)).all() == []  # the real database never saw it
            assert s.exec(select(ChatIdentity).where(ChatIdentity.channel == "web")).all() == []
        assert sandbox.is_file()
        fake.assert_clean()
    finally:
        process.stop()
        real.dispose()


def test_a_taken_port_is_said_plainly(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TELEGRAM_", "ZALO_", "CONGDOAN_", "DATABASE_URL", "PUBLIC_BASE_URL"))}
        result = subprocess.run([CONGDOAN, "run"], cwd=tmp_path, env={**env, "CONGDOAN_HTTP_PORT": str(port)},
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"127.0.0.1:{port}" in result.stderr and "CONGDOAN_HTTP_PORT=8081" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "playground.sqlite").exists()  # nothing was started
