"""The playground's web channel and personas against a real demo database and the real core
(no HTTP server: the channel's coroutines are called directly; the routes through Starlette's
test client)."""

from __future__ import annotations

import asyncio
import pytest
from sqlmodel import Session, select

from bot.app import make_core, make_services
from bot.channels import web
from bot.config import Settings
from bot.db import make_engine, session_scope
from bot.limits import limits_of
from bot.messages import Option, OutFile, Reply, reply_to_json
from bot.models import ChatIdentity, Person, Role
from bot.web.playground import personas
from bot.web.playground.world import playground_wanted, with_playground_port


@pytest.fixture
def sandbox(demo_url, tmp_path):  # type: ignore[no-untyped-def]
    settings = Settings(database_url=demo_url, data_dir=str(tmp_path / "data"), http_port=8080)
    engine = make_engine(demo_url)
    services, signer = make_services(settings, engine=engine)
    channel = web.build(settings, make_core(engine, settings), services)
    yield settings, engine, channel, signer
    channel.executor.shutdown(wait=True)
    engine.dispose()


def bind(engine, role: str, unit: str | None) -> personas.Persona:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        persona = personas.bind(session, role, unit)
    assert persona is not None
    return persona


def test_markup_is_escaped_except_the_reply_tags():
    assert web.to_html("<b>Đơn vị &amp; A</b> <script>x</script> a<b") == \
        "<b>Đơn vị &amp; A</b> &lt;script&gt;x&lt;/script&gt; a&lt;b"
    assert web.to_html('<i onclick="x">y</i>') == '&lt;i onclick="x"&gt;y</i>'


def test_limits_are_found_by_name_and_the_channel_is_never_started_as_a_real_one():
    assert limits_of("web") is web.LIMITS and web.LIMITS.buttons and web.LIMITS.callback_size is None
    assert web.configured(Settings(telegram_token="x")) is False


def test_playground_switch_and_its_own_database():
    assert playground_wanted(Settings(), channels_configured=False)
    assert not playground_wanted(Settings(), channels_configured=True)
    assert playground_wanted(Settings(playground=True), channels_configured=True)
    assert not playground_wanted(Settings(playground=False), channels_configured=False)
    settings = Settings.from_env({"CONGDOAN_DATA_DIR": "/srv/cd", "CONGDOAN_PLAYGROUND": "1"})
    assert settings.playground is True
    assert settings.sandbox_database_url == "sqlite:////srv/cd/playground.sqlite" != settings.database_url
    assert Settings.from_env({"CONGDOAN_PLAYGROUND": "0"}).playground is False
    assert with_playground_port(Settings()).http_port == 8080
    assert with_playground_port(Settings(http_port=9000)).http_port == 9000


def test_personas_are_bound_once_to_a_unit_of_the_right_level(demo_engine):
    with session_scope(demo_engine) as session:
        chair = personas.bind(session, "chair", "TD_001")
        again = personas.bind(session, "chair", "TD_001")
        staff = personas.bind(session, "staff", None)
        assert personas.bind(session, "chair", "LDLD_TD") is None  # a chair needs a CĐCS
        assert personas.bind(session, "officer", "TD_001") is None  # an officer needs an upper-level union
        assert personas.bind(session, "admin", "LDLD_LC") is None
        assert personas.bind(session, "chair", "NOPE") is None
    assert chair is not None and again == chair and chair.chat.startswith("chair-")
    assert staff is not None and staff.unit_code == "LDLD_LC" and staff.role == "staff"
    with Session(demo_engine) as session:
        identities = session.exec(select(ChatIdentity).where(ChatIdentity.channel == "web")).all()
        assert sorted(i.external_id for i in identities) == sorted([chair.chat, staff.chat])
        person = session.get(Person, next(i.person_id for i in identities if i.external_id == chair.chat))
        assert person.role == Role.CHAIR
        assert personas.persona_of(session, chair.chat) == chair
        assert personas.persona_of(session, "chair-999999") is None
        assert personas.persona_of(session, "chair-1; drop") is None
    assert personas.parse_chat("officer-12") == (Role.OFFICER, 12)
    assert personas.parse_chat("../chair-1") is None


def test_a_chat_through_the_real_core_with_buttons_by_position(sandbox):
    settings, engine, channel, _signer = sandbox
    chair = bind(engine, "chair", "TD_001")

    async def play():  # type: ignore[no-untyped-def]
        await channel.type_text(chair.chat, "/start")
        menu = channel.transcript.chat(chair.chat)[-1]
        assert menu.sender == "bot" and "Chủ tịch CĐCS" in menu.html
        labels = [label for row in menu.options for label, _data in row]
        assert labels[0] == "1. Báo cáo"
        page = menu.as_json()
        assert "data" not in str(page["options"]) and page["options"][0][0] == {"label": "1. Báo cáo", "n": 0}
        await channel.press(chair.chat, menu.id, 0)
        listing = channel.transcript.chat(chair.chat)[-1]
        assert "Các đợt báo cáo" in listing.html
        assert channel.transcript.chat(chair.chat)[-2].sender == "me"
        # a button that does not exist, a message of another chat, the visitor's own message: nothing happens
        assert await channel.press(chair.chat, menu.id, 99) is None
        assert await channel.press("chair-0", menu.id, 0) is None
        assert await channel.press(chair.chat, listing.id - 1, 0) is None
        # typing the number works as pressing it
        await channel.type_text(chair.chat, "2")
        assert "mục 1/" in channel.transcript.chat(chair.chat)[-1].html
        too_long = await channel.type_text(chair.chat, "x" * (web.MAX_TYPED + 1))
        assert too_long.toast and "quá dài" in too_long.toast

    asyncio.run(play())


def test_pushes_files_edits_and_changes_since_a_revision(sandbox):
    settings, engine, channel, signer = sandbox

    async def play():  # type: ignore[no-untyped-def]
        start = channel.transcript.rev
        payload = reply_to_json(Reply(text="📢 <b>THÔNG BÁO</b> & x", options=[[Option("Đã nhận", "/danhan 1")]],
                                      numbered=False))
        message_id = await channel.deliver("chair-1", payload)
        pushed = channel.transcript.find("chair-1", int(message_id))
        assert pushed.push and pushed.html == "📢 <b>THÔNG BÁO</b> &amp; x"
        assert pushed.options == [[("Đã nhận", "/danhan 1")]]  # not numbered: shown as the label alone
        assert await channel.edit("chair-1", message_id, "đã gửi <b>2/2</b>")
        assert not await channel.edit("chair-1", "nope", "x")
        changed = channel.transcript.since(start)
        assert [m.id for m in changed] == [pushed.id] and changed[0].html == "đã gửi <b>2/2</b>"

        ids = await channel.send("staff-1", Reply(text="", file=OutFile("tổng hợp.xlsx", content=b"PK\x03\x04",
                                                                         caption="Excel: <b>Q4</b>")))
        shown = channel.transcript.find("staff-1", int(ids[0])).file
        assert shown["url"].startswith("/f/") and shown["caption"] == "Excel: <b>Q4</b>"
        key = signer.unsign(shown["url"].removeprefix("/f/"))
        assert key is not None and key.endswith("tong-hop.xlsx")

        long = await channel.send("staff-1", Reply(text="dòng\n" * 2000, options=[[Option("A", "a")]]))
        assert len(long) == 3  # split under the text limit; the choices on the last part
        parts = [channel.transcript.find("staff-1", int(i)) for i in long]
        assert [bool(p.options) for p in parts] == [False, False, True]

    asyncio.run(play())


def test_transcript_keeps_the_newest_messages():
    transcript = web.Transcript(kept=3)
    for n in range(5):
        transcript.add("c", "bot", str(n))
    assert [m.html for m in transcript.chat("c")] == ["2", "3", "4"]
    assert [m.html for m in transcript.since(3)] == ["3", "4"]


def test_routes_refuse_requests_that_are_not_the_pages_own(sandbox):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from bot.web.playground.world import Playground

    settings, engine, channel, _signer = sandbox
    playground = Playground(settings=settings, engine=engine, channel=channel, background=None)
    client = TestClient(Starlette(routes=playground.routes()))
    page = client.get("/playground/")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text  # no inline script: only the JSON texts and the local file
    ok = {"X-Playground": "1"}
    assert client.post("/playground/api/persona", json={"role": "chair", "unit": "TD_001"}).status_code == 403
    assert client.post("/playground/api/persona", headers=ok, json={"role": "chair", "unit": "LDLD_TD"}).status_code == 400
    made = client.post("/playground/api/persona", headers=ok, json={"role": "chair", "unit": "TD_001"}).json()
    chat = made["persona"]["chat"]
    assert client.get("/playground/api/updates?after=0").json()["messages"][-1]["chat"] == chat  # /start answered
    assert client.post("/playground/api/send", headers=ok, json={"chat": "chair-424242", "text": "hi"}).status_code == 403
    assert client.post("/playground/api/send", headers=ok, json={"chat": chat, "text": 5}).status_code == 403
    assert client.post("/playground/api/press", headers=ok, json={"chat": chat, "message": "1", "option": 0}).status_code == 400
    assert client.post("/playground/api/press", headers=ok, json={"chat": chat, "message": 10**6, "option": 0}).status_code == 404
    bad = client.post("/playground/api/clock", headers=ok, json={"date": "17/12", "time": "9h"})
    assert bad.status_code == 400 and "17/12/2026" in bad.json()["error"]
    night = client.post("/playground/api/clock", headers=ok, json={"date": "2026-12-17", "time": "23:00"}).json()
    assert night["queued"] == 0 and night["lines"] == []
    nine = client.post("/playground/api/clock", headers=ok, json={"date": "2026-12-17", "time": "09:00"}).json()
    assert nine["queued"] >= 1 and any("2026-NAM" in line and "-3@09:00" in line for line in nine["lines"])
    assert client.get("/playground/api/state").json()["personas"][0]["chat"] == chat
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 307 and home.headers["location"] == "/playground/"


def test_chats_are_kept_across_a_restart(sandbox, tmp_path):
    settings, engine, channel, _signer = sandbox
    chair = bind(engine, "chair", "TD_001")
    kept = tmp_path / "playground.chats.json"

    async def first_run() -> int:
        first = web.build(settings, channel.core, channel.services, kept_in=kept)
        await first.type_text(chair.chat, "/start")
        await first.deliver("chair-424242", reply_to_json(Reply(text="gone")))  # a chat whose persona is gone
        await first.close()
        return first.transcript.rev

    rev = asyncio.run(first_run())
    assert kept.is_file()
    again = web.build(settings, channel.core, channel.services, kept_in=kept)
    again.load(keep={chair.chat}.__contains__)
    restored = again.transcript.chat(chair.chat)
    assert [m.sender for m in restored] == ["me", "bot"] and "Chủ tịch CĐCS" in restored[-1].html
    assert restored[-1].option(0) == ("1. Báo cáo", restored[-1].options[0][0][1])
    assert again.transcript.chat("chair-424242") == [] and again.transcript.rev == rev

    async def second_run() -> None:  # revisions and ids go on: the page's "after" keeps working
        await again.type_text(chair.chat, "/menu")
        assert again.transcript.since(rev)[0].id > restored[-1].id
        await again.close()

    asyncio.run(second_run())
    kept.write_text("{not json", "utf-8")
    broken = web.build(settings, channel.core, channel.services, kept_in=kept)
    broken.load()
    assert broken.transcript.rev == 0
    broken.executor.shutdown()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_notice_file_sent_from_the_page_is_checked_by_content_and_kept(sandbox):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from bot.web.playground.world import Playground

    settings, engine, channel, _signer = sandbox
    playground = Playground(settings=settings, engine=engine, channel=channel, background=None)
    client = TestClient(Starlette(routes=playground.routes()))
    ok = {"X-Playground": "1", "Content-Type": "application/octet-stream"}
    page = {"X-Playground": "1"}
    staff = client.post("/playground/api/persona", headers=page, json={"role": "staff"}).json()["persona"]["chat"]
    client.post("/playground/api/send", headers=page, json={"chat": staff, "text": "/thongbao"})
    assert client.post(f"/playground/api/file?chat={staff}&name=a.pdf", content=PDF).status_code == 403  # no header
    assert client.post("/playground/api/file?chat=staff-0&name=a.pdf", headers=ok, content=PDF).status_code == 403
    fake = client.post(f"/playground/api/file?chat={staff}&name=fake.pdf", headers=ok, content=b"hello").json()
    assert fake["ok"]
    assert "không phải" in channel.transcript.chat(staff)[-1].html  # judged by its content, refused politely
    sent = client.post(f"/playground/api/file?chat={staff}&name=../cong-van.pdf&caption=Kính gửi các CĐCS",
                       headers=ok, content=PDF).json()
    assert sent["ok"]
    mine, answer = channel.transcript.chat(staff)[-2:]
    assert mine.sender == "me" and mine.file["name"] == "cong-van.pdf" and mine.file["url"].startswith("/f/")
    assert "Gửi thông báo này cho ai" in answer.html  # the caption became the notice's text

