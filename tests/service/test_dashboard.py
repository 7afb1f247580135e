"""The web dashboard in process (Starlette's TestClient over the real app and a demo database copy):
sign-in links, sessions, scope checks on every id, CSRF, the security headers, and the same
figures as the chat's /tonghop."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from bot.clock import utcnow
from bot.config import Settings
from bot.db import session_scope
from bot.models import ChatIdentity, Outbox, Person, Role, Round, Unit, WebLogin
from bot.services import web_login
from bot.web.app import build_app
from bot.web.dashboard.auth import COOKIE, RateLimit
from bot.web.links import Signer
from worlds import bind

SECRET = "test-secret-for-the-dashboard"


@pytest.fixture
def app(demo_engine, demo_url, tmp_path):
    settings = Settings(database_url=demo_url, data_dir=str(tmp_path / "data"), http_port=8080)
    return build_app(settings, {}, Signer(SECRET, 3600), demo_engine, SECRET)


def link_token(engine, person_id: int, now=None) -> str:
    with session_scope(engine) as session:
        token = web_login.issue(session, session.get(Person, person_id), now or utcnow())
        assert token is not None
        return token


def signed_in(app, engine, person_id: int) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    token = link_token(engine, person_id)
    assert client.get(f"/dashboard/login/{token}").status_code == 200
    answer = client.post(f"/dashboard/login/{token}")
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Max-Age=28800" in cookie
    return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]


def unit_id(engine, code: str) -> int:
    with Session(engine) as s:
        return s.exec(select(Unit.id).where(Unit.code == code)).one()


def round_id(engine, code: str) -> int:
    with Session(engine) as s:
        return s.exec(select(Round.id).where(Round.code == code)).one()


def test_a_link_signs_in_once_and_a_reused_or_old_one_is_refused(app, demo_engine):
    staff = bind(demo_engine, "LDLD_LC", 9001, role=Role.STAFF)
    client = signed_in(app, demo_engine, staff)
    home = client.get("/dashboard/")
    assert home.status_code == 200 and "Các đợt báo cáo" in home.text and "Báo cáo số liệu quý III/2026" in home.text

    # the same link again: refused, in Vietnamese, and no new session
    with session_scope(demo_engine) as s:
        used = s.exec(select(WebLogin).where(WebLogin.person_id == staff)).one()
        assert used.used_at is not None and used.session_hash is not None
        from bot.models import AuditLog
        assert s.exec(select(AuditLog).where(AuditLog.action == "web.sign_in", AuditLog.person_id == staff)).one()
    token = link_token(demo_engine, staff)
    fresh = TestClient(app, follow_redirects=False)
    assert fresh.post(f"/dashboard/login/{token}").status_code == 303
    again = TestClient(app, follow_redirects=False)
    refused = again.post(f"/dashboard/login/{token}")
    assert refused.status_code == 410 and "đã được sử dụng" in refused.text and COOKIE not in refused.headers.get("set-cookie", "")
    assert "đã được sử dụng" in again.get(f"/dashboard/login/{token}").text

    old = link_token(demo_engine, staff, now=utcnow() - timedelta(minutes=11))
    expired = TestClient(app, follow_redirects=False).post(f"/dashboard/login/{old}")
    assert expired.status_code == 410 and "đã hết hạn" in expired.text
    assert TestClient(app).get("/dashboard/login/not-a-token").status_code == 404


def test_a_forged_or_ended_session_is_refused(app, demo_engine):
    staff = bind(demo_engine, "LDLD_LC", 9002, role=Role.STAFF)
    client = signed_in(app, demo_engine, staff)
    good = client.cookies.get(COOKIE)
    forged = TestClient(app, cookies={COOKIE: good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")})
    answer = forged.get("/dashboard/")
    assert answer.status_code == 401 and "Báo cáo số liệu" not in answer.text
    # signed with another secret
    from bot.web.dashboard.auth import Cookies

    other = TestClient(app, cookies={COOKIE: Cookies("another-secret").value("whatever")})
    assert other.get("/dashboard/").status_code == 401

    page = client.get("/dashboard/")
    out = client.post("/dashboard/logout", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 200 and "đã đăng xuất" in out.text
    replay = TestClient(app, cookies={COOKIE: good})  # the old cookie, kept by someone
    assert replay.get("/dashboard/").status_code == 401

    # a person who is no longer active loses the session at once
    client = signed_in(app, demo_engine, staff)
    with session_scope(demo_engine) as s:
        s.get(Person, staff).active = False
    assert client.get("/dashboard/").status_code == 401


def test_pages_send_the_security_headers(app, demo_engine):
    staff = bind(demo_engine, "LDLD_LC", 9003, role=Role.STAFF)
    client = signed_in(app, demo_engine, staff)
    for path in ("/dashboard/", "/dashboard/static/style.css", "/dashboard/login/x"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY"
        assert "script-src 'none'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
    assert "<script" not in client.get(f"/dashboard/rounds/{round_id(demo_engine, '2026-Q3')}").text
    assert "strict-transport-security" not in headers  # plain http (a local port)


def test_behind_https_the_cookie_is_secure_and_hsts_is_sent(demo_engine, demo_url, tmp_path):
    settings = Settings(database_url=demo_url, data_dir=str(tmp_path / "data"), public_base_url="https://cd.example.vn")
    app = build_app(settings, {}, Signer(SECRET, 3600), demo_engine, SECRET)
    staff = bind(demo_engine, "LDLD_LC", 9011, role=Role.STAFF)
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    answer = client.post(f"/dashboard/login/{link_token(demo_engine, staff)}")
    assert answer.status_code == 303 and "Secure" in answer.headers["set-cookie"]
    assert answer.headers["strict-transport-security"] == "max-age=31536000"


def test_an_officer_sees_only_their_union(app, demo_engine):
    officer = bind(demo_engine, "CDX_TD", 9004, role=Role.OFFICER)
    client = signed_in(app, demo_engine, officer)
    rid = round_id(demo_engine, "2026-Q3")
    own = client.get(f"/dashboard/rounds/{rid}")
    assert own.status_code == 200 and "Tam Đường" in own.text and 'id="units"' in own.text
    for other in ("CDX_MT", "LDLD_LC"):
        uid = unit_id(demo_engine, other)
        for path in (f"/dashboard/rounds/{rid}?unit={uid}", f"/dashboard/units/{uid}",
                     f"/dashboard/rounds/{rid}/workbook.xlsx?unit={uid}", f"/dashboard/rounds/{rid}/chart.png?unit={uid}"):
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert "đơn vị đã nộp" not in answer.text and "Mường Tè" not in answer.text
    for bad in ("abc", "-1", "99999999999", "1e3", "٣"):
        assert client.get(f"/dashboard/rounds/{rid}?unit={bad}").status_code == 404
        assert client.get(f"/dashboard/units/{bad}").status_code == 404
    mine = client.get(f"/dashboard/units/{unit_id(demo_engine, 'CDX_TD')}").text
    assert 'id="children"' in mine and "TD_001" in mine and "MT_0" not in mine
    mt = unit_id(demo_engine, "CDX_MT")
    page = client.get(f"/dashboard/rounds/{rid}")
    before = outbox_count(demo_engine)
    refused = client.post(f"/dashboard/rounds/{rid}/remind", data={"csrf": csrf_of(page.text), "unit": str(mt)})
    assert refused.status_code == 404 and outbox_count(demo_engine) == before
    # officers do not lock rounds
    assert client.post(f"/dashboard/rounds/{rid}/lock", data={"csrf": csrf_of(page.text)}).status_code == 403


def test_a_chair_sees_their_own_unit_only(app, demo_engine):
    chair = bind(demo_engine, "TD_001", 9005)
    client = signed_in(app, demo_engine, chair)
    rid = round_id(demo_engine, "2026-Q3")
    own = client.get(f"/dashboard/rounds/{rid}")
    assert own.status_code == 200 and 'id="own-status"' in own.text and 'id="remind"' not in own.text
    assert client.get(f"/dashboard/rounds/{rid}/workbook.xlsx").status_code == 403
    assert client.get(f"/dashboard/units/{unit_id(demo_engine, 'TD_001')}").status_code == 200
    assert client.get(f"/dashboard/units/{unit_id(demo_engine, 'TD_005')}").status_code == 404
    assert client.get(f"/dashboard/rounds/{rid}?unit={unit_id(demo_engine, 'CDX_TD')}").status_code == 404
    assert client.get("/dashboard/notices").status_code == 403


def outbox_count(engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(Outbox.id)).all())


def test_a_post_without_the_csrf_token_changes_nothing(app, demo_engine):
    staff = bind(demo_engine, "LDLD_LC", 9006, role=Role.STAFF)
    bind(demo_engine, "TD_001", 9007)
    client = signed_in(app, demo_engine, staff)
    rid = round_id(demo_engine, "2026-Q4")
    page = client.get(f"/dashboard/rounds/{rid}")
    for data in ({}, {"csrf": "0" * 64}, {"csrf": csrf_of(page.text)[:-1] + "x"}):
        assert client.post(f"/dashboard/rounds/{rid}/lock", data=data).status_code == 403
        assert client.post(f"/dashboard/rounds/{rid}/remind", data=data).status_code == 403
    with Session(demo_engine) as s:
        assert not s.get(Round, rid).locked
    assert outbox_count(demo_engine) == 0
    # the CSRF token of another session does not do either
    other = signed_in(app, demo_engine, staff)
    assert other.post(f"/dashboard/rounds/{rid}/lock", data={"csrf": csrf_of(page.text)}).status_code == 403
    locked = client.post(f"/dashboard/rounds/{rid}/lock", data={"csrf": csrf_of(page.text)})
    assert locked.status_code == 200 and "đã khóa" in locked.text
    with Session(demo_engine) as s:
        assert s.get(Round, rid).locked


def test_sign_in_is_rate_limited(app, demo_engine):
    client = TestClient(app)
    answers = [client.get(f"/dashboard/login/guess{n}").status_code for n in range(25)]
    assert answers[:20] == [404] * 20 and set(answers[20:]) == {429}

    ticks = [0.0]
    limit = RateLimit(2, 60, clock=lambda: ticks[0])
    assert limit.allow("a") and limit.allow("a") and not limit.allow("a") and limit.allow("b")
    ticks[0] = 61
    assert limit.allow("a")


def test_links_per_person_are_limited(demo_engine):
    staff = bind(demo_engine, "LDLD_LC", 9008, role=Role.STAFF)
    now = utcnow()
    with session_scope(demo_engine) as s:
        person = s.get(Person, staff)
        tokens = [web_login.issue(s, person, now) for _ in range(web_login.MAX_LINKS + 1)]
    assert all(tokens[:-1]) and tokens[-1] is None
    with session_scope(demo_engine) as s:  # only hashes are kept
        assert not s.exec(select(WebLogin).where(WebLogin.token_hash.in_(tokens[:-1]))).all()
        assert len(s.exec(select(WebLogin).where(WebLogin.person_id == staff)).all()) == web_login.MAX_LINKS
    with session_scope(demo_engine) as s:  # a month later the old rows are forgotten
        assert web_login.issue(s, s.get(Person, staff), now + timedelta(days=31)) is not None
    with session_scope(demo_engine) as s:
        assert len(s.exec(select(WebLogin).where(WebLogin.person_id == staff)).all()) == 1


NOW = datetime(2026, 11, 21, 3, 0, tzinfo=timezone.utc)  # the demo's today: Q3's deadline has passed


def test_web_in_the_chat_sends_a_link_that_signs_in(demo_engine, demo_url, app, tmp_path):
    from dialog import CoreChat

    bind(demo_engine, "CDX_TD", "701", channel="test", role=Role.OFFICER)
    off = Settings(database_url=demo_url, data_dir=str(tmp_path / "data"))
    chat = CoreChat(demo_engine, off, user_id="701", now=NOW)
    chat.send("/web")
    assert "chưa được bật" in chat.text and "/dashboard/" not in chat.text

    on = Settings(database_url=demo_url, data_dir=str(tmp_path / "data"), public_base_url="https://cd.example.vn")
    chat = CoreChat(demo_engine, on, user_id="701", now=utcnow())
    chat.send("/web")
    link = re.search(r"https://cd\.example\.vn(/dashboard/login/[\w-]+)", chat.text)
    assert link is not None and "dùng một lần, trong 10 phút" in chat.text
    client = TestClient(app, follow_redirects=False)
    assert client.post(link.group(1)).status_code == 303
    assert "Tam Đường" in client.get("/dashboard/").text

    stranger = CoreChat(demo_engine, on, user_id="702", now=utcnow())
    stranger.send("/web")
    assert "/dashboard/" not in stranger.text


def test_the_round_page_shows_the_figures_of_tonghop(demo_engine, settings, app):
    from dialog import CoreChat

    bind(demo_engine, "LDLD_LC", "703", channel="test", role=Role.STAFF)
    chat = CoreChat(demo_engine, settings, user_id="703", now=NOW)
    chat.send("/tonghop 2026-Q3")
    lines = dict((name, tuple(int(n) for n in rest)) for name, *rest in
                 re.findall(r"• (.+?): (\d+)/(\d+) — muộn (\d+), chưa nộp (\d+)", chat.text))
    assert len(lines) == 8

    staff = bind(demo_engine, "LDLD_LC", 9010, role=Role.STAFF)
    client = signed_in(app, demo_engine, staff)
    html = client.get(f"/dashboard/rounds/{round_id(demo_engine, '2026-Q3')}").text
    rows = re.findall(r'<tr data-unit="[^"]+">\s*<td><a href="[^"]+">([^<]+)</a>.*?'
                      r'data-field="reported">(\d+)/(\d+)</td>.*?data-field="late">(\d+)</td>.*?'
                      r'data-field="missing">(\d+)</td>', html, re.S)
    shown = {name: tuple(int(n) for n in rest) for name, *rest in rows}
    shown = {name: (s, e, late, missing) for name, (s, e, late, missing) in shown.items()}
    # the page lists every unit under the province: the 8 upper unions as /tonghop does, and the 31 CĐCS
    # directly under the province since 01/07/2025, each one expected unit
    assert {name: shown[name] for name in lines} == lines
    direct = {name: row for name, row in shown.items() if name not in lines}
    assert len(direct) == 31 and all(e == 1 and s + missing == 1 for s, e, _late, missing in direct.values())
    assert sum(s for s, *_r in shown.values()) == 250
    assert "250/286 đơn vị đã nộp" in html and "250/286 đơn vị đã nộp" in chat.text
    for figure in ("24.156 người", "24.500 người (2023-2028)", "98,6%", "92,5% (25.187/27.217)",
                   "286/286 đơn vị đã báo cáo"):
        assert figure in chat.text and figure in html, figure


def test_the_remind_button_uses_the_planners_keys(engine):
    from bot.services import reminders
    from worlds import small_province

    small_province(engine, opens=date(2026, 12, 1), deadline=date(2026, 12, 18))
    at = datetime(2026, 12, 15, 2, 30, tzinfo=timezone.utc)  # 09:30 local: the -3@09:00 step is due
    with session_scope(engine) as s:
        assert reminders.run_planner(s, at) >= 15
    with session_scope(engine) as s:
        rnd = s.exec(select(Round).where(Round.code == "R1")).one()
        under = {u for u in s.exec(select(Unit.id)).all()}
        done = reminders.remind_owing(s, rnd, under, at + timedelta(hours=1))
    assert (done.queued, done.already) == (0, 15)  # the planner reminded them at this step already
    with session_scope(engine) as s:
        rnd = s.exec(select(Round).where(Round.code == "R1")).one()
        done = reminders.remind_owing(s, rnd, under, datetime(2026, 12, 17, 3, 0, tzinfo=timezone.utc))
        assert (done.queued, done.already) == (15, 0)  # the next step (-1@09:00): once more
        again = reminders.remind_owing(s, rnd, under, datetime(2026, 12, 17, 4, 0, tzinfo=timezone.utc))
        assert (again.queued, again.already) == (0, 15)
        night = reminders.remind_owing(s, rnd, under, datetime(2026, 12, 17, 15, 0, tzinfo=timezone.utc))
        assert night.queued == 0  # 22:00 local is still the -1 step: nobody twice


def test_notices_show_delivery_and_remind_once_per_press(engine, db_url, tmp_path):
    from bot.models import ChatIdentity, Notice
    from bot.services import notices
    from worlds import small_province

    world = small_province(engine, opens=date(2026, 12, 1), deadline=date(2026, 12, 18), submitted_units=0)
    now = utcnow()

    def person(s, chat_id):  # type: ignore[no-untyped-def]
        ident = s.exec(select(ChatIdentity).where(ChatIdentity.external_id == str(chat_id))).one()
        return s.get(Person, ident.person_id)

    with session_scope(engine) as s:
        staff = person(s, world["staff"])
        audience = {"kind": "unions", "units": [s.exec(select(Unit.id).where(Unit.code == "U2")).one()]}
        notice = notices.save_draft(s, staff, None, body="Họp giao ban quý IV", file_id=None, file_name=None,
                                    audience=audience, requires_ack=True, send_at=None, now=now)
        found = notices.resolve_audience(s, staff, audience)
        assert notices.queue(s, notice.id, staff, found, progress_to=None, now=now) is not None
        notice_id = notice.id
        for n, row in enumerate(s.exec(select(Outbox).where(Outbox.kind == "notice").order_by(Outbox.id)).all()[:3]):
            row.status = "sent"
            s.add(row)
            notices.record_delivery(s, row, True, now)
        notices.acknowledge(s, notice_id, person(s, world["chairs"]["G13"]).id, now)
        staff_id = staff.id
        officer_id = person(s, world["officers"]["U2"]).id

    settings = Settings(database_url=db_url, data_dir=str(tmp_path / "data"), http_port=8080)
    app = build_app(settings, {}, Signer(SECRET, 3600), engine, SECRET)
    client = signed_in(app, engine, staff_id)
    listing = client.get("/dashboard/notices").text
    assert "Họp giao ban quý IV" in listing and "đã nhận 3/8 · đã xác nhận 1 · lỗi 0" in listing
    page = client.get(f"/dashboard/notices/{notice_id}")
    assert page.status_code == 200
    assert re.search(r'data-field="delivered">3<', page.text) and re.search(r'data-field="acked">1<', page.text)
    assert "Chủ tịch 14" in page.text and "Chủ tịch 13" not in page.text  # G13 acknowledged

    before = outbox_count(engine)
    token = csrf_of(page.text)
    first = client.post(f"/dashboard/notices/{notice_id}/remind", data={"csrf": token, "seen": "0"})
    assert first.status_code == 200 and "tới 7 người chưa xác nhận" in first.text
    assert outbox_count(engine) == before + 7
    second = client.post(f"/dashboard/notices/{notice_id}/remind", data={"csrf": token, "seen": "0"})
    assert "không gửi lại" in second.text and outbox_count(engine) == before + 7  # the same page pressed twice
    assert client.post(f"/dashboard/notices/{notice_id}/remind", data={"seen": "1"}).status_code == 403

    # an officer of U2 did not send it (the province did): not theirs to follow
    officer = signed_in(app, engine, officer_id)
    assert officer.get(f"/dashboard/notices/{notice_id}").status_code == 404
    assert "Họp giao ban" not in officer.get("/dashboard/notices").text
    with Session(engine) as s:
        assert s.get(Notice, notice_id).remind_count == 1


def test_the_round_page_shows_the_review_states_per_union(demo_engine, app):
    from bot.services import reporting, review

    officer_id = bind(demo_engine, "CDX_TD", 9020, role=Role.OFFICER)
    with session_scope(demo_engine) as s:
        rnd = s.exec(select(Round).where(Round.code == "2026-Q3")).one()
        review.set_required(s, rnd, True, utcnow())
        s.flush()
        officer = s.get(Person, officer_id)
        unit = s.exec(select(Unit).where(Unit.code == "TD_001")).one()
        sub = reporting.submission_of(s, rnd, unit)
        rnd.locked = False
        review.approve(s, sub, rnd, unit, officer, utcnow(), "test")
    staff = bind(demo_engine, "LDLD_LC", 9021, role=Role.STAFF)
    html = signed_in(app, demo_engine, staff).get(f"/dashboard/rounds/{round_id(demo_engine, '2026-Q3')}").text
    assert "Tình trạng duyệt: đã duyệt 1 · chờ duyệt 249 · trả lại 0" in html  # 250 reports in
    row = re.search(r'<tr data-unit="CDX_TD">.*?</tr>', html, re.S).group(0)  # type: ignore[union-attr]
    assert 'data-field="review">đã duyệt 1 · chờ duyệt 23 · trả lại 0 <a class="bulk"' in row  # 24 of CDX_TD's


def test_remind_pressed_in_quiet_hours_waits_for_the_morning_and_says_when(engine, db_url, tmp_path, monkeypatch):
    from bot.web.dashboard import views
    from worlds import small_province

    people = small_province(engine, opens=date(2026, 12, 1), deadline=date(2026, 12, 18))
    app = build_app(Settings(database_url=db_url, data_dir=str(tmp_path / "data"), http_port=8080), {},
                    Signer(SECRET, 3600), engine, SECRET)
    with Session(engine) as s:
        staff = s.exec(select(ChatIdentity.person_id).where(ChatIdentity.chat_id == str(people["staff"]))).one()
    client = signed_in(app, engine, staff)
    rid = round_id(engine, "R1")
    night = datetime(2026, 12, 15, 16, 30, tzinfo=timezone.utc)  # 23:30 local, quiet hours 21:00–07:00
    pressed_at = [night]  # the clock of the press only (the session's own times stay real)
    real_remind = views.remind
    monkeypatch.setattr(views, "remind", lambda s, person, r, u, now: real_remind(s, person, r, u, pressed_at[0]))
    page = client.get(f"/dashboard/rounds/{rid}")
    answer = client.post(f"/dashboard/rounds/{rid}/remind", data={"csrf": csrf_of(page.text)})
    text = re.sub(r"\s+", " ", answer.text)
    assert answer.status_code == 200
    assert "giờ nghỉ" in text and "15 chủ tịch" in text and "07:00 16/12/2026" in text, text
    morning = datetime(2026, 12, 16, 0, 0, tzinfo=timezone.utc)  # 07:00 local
    with Session(engine) as s:
        rows = s.exec(select(Outbox).where(Outbox.kind == "reminder")).all()
    assert len(rows) == 15 and {r.not_before.replace(tzinfo=timezone.utc) for r in rows} == {morning}
    # by day the same button sends at once and says so
    pressed_at[0] = datetime(2026, 12, 17, 3, 0, tzinfo=timezone.utc)
    page = client.get(f"/dashboard/rounds/{rid}")
    day = re.sub(r"\s+", " ", client.post(f"/dashboard/rounds/{rid}/remind", data={"csrf": csrf_of(page.text)}).text)
    assert "giờ nghỉ" not in day and "15 chủ tịch" in day


# --------------------------------------------------------------------------- review in the dashboard


@pytest.fixture
def review_world(engine, db_url, tmp_path):
    """small_province with round R1 requiring review: G01–G05 (union U1) and G13 (U2) reported, waiting."""
    from bot.models import ChatIdentity
    from bot.services import review
    from worlds import small_province, submit_directly

    world = small_province(engine, opens=date(2026, 11, 1), deadline=date(2026, 12, 20))
    submit_directly(engine, "R1", "G13")
    with session_scope(engine) as s:
        review.set_required(s, s.exec(select(Round).where(Round.code == "R1")).one(), True, utcnow())

    def person(chat_id: int) -> int:
        with Session(engine) as s:
            return s.exec(select(ChatIdentity.person_id).where(ChatIdentity.external_id == str(chat_id))).one()

    settings = Settings(database_url=db_url, data_dir=str(tmp_path / "data"), http_port=8080)
    app = build_app(settings, {}, Signer(SECRET, 3600), engine, SECRET)
    return app, world, person


def submission_of(engine, unit_code: str):  # type: ignore[no-untyped-def]
    from bot.models import Submission

    with Session(engine) as s:
        return s.exec(select(Submission).join(Unit, Unit.id == Submission.unit_id).where(Unit.code == unit_code)).one()


def pushes_to(engine, chat_id: int) -> list[str]:
    from bot.messages import reply_from_json

    with Session(engine) as s:
        rows = s.exec(select(Outbox).where(Outbox.chat_id == str(chat_id), Outbox.kind == "review")
                      .order_by(Outbox.id)).all()
        return [reply_from_json(r.payload).text for r in rows]


def test_an_officer_approves_and_returns_from_the_dashboard_and_the_chair_is_told(review_world, engine):
    from bot.models import SubmissionReview

    app, world, person = review_world
    officer_id = person(world["officers"]["U1"])
    client = signed_in(app, engine, officer_id)
    rid = round_id(engine, "R1")

    page = client.get(f"/dashboard/rounds/{rid}").text
    row = re.search(r'<tr data-unit="G01".*?</tr>', page, re.S).group(0)  # type: ignore[union-attr]
    assert 'data-field="review"' in row and "chờ duyệt" in row
    assert "Duyệt 5 báo cáo đang chờ của LĐLĐ huyện U1" in page  # G13 lies in U2: not theirs

    g01, g02 = submission_of(engine, "G01"), submission_of(engine, "G02")
    unit_page = client.get(f"/dashboard/units/{unit_id(engine, 'G01')}").text
    assert "Tình trạng duyệt: chờ duyệt" in unit_page and f'id="return-{g01.id}"' in unit_page
    token = csrf_of(unit_page)

    approved = client.post(f"/dashboard/submissions/{g01.id}/review",
                           data={"csrf": token, "action": "approve", "revision": "1"})
    assert approved.status_code == 200 and "Đã duyệt: CĐCS số 01." in approved.text
    assert submission_of(engine, "G01").review == "approved"
    assert len(pushes_to(engine, world["chairs"]["G01"])) == 1 and "đã được cấp trên duyệt" in pushes_to(
        engine, world["chairs"]["G01"])[0]
    again = client.post(f"/dashboard/submissions/{g01.id}/review",
                        data={"csrf": token, "action": "approve", "revision": "1"})  # a double click
    assert again.status_code == 409 and "không còn chờ duyệt" in again.text
    assert len(pushes_to(engine, world["chairs"]["G01"])) == 1

    empty = client.post(f"/dashboard/submissions/{g02.id}/review",
                        data={"csrf": token, "action": "return", "comment": "   ", "revision": "1"})
    assert empty.status_code == 409 and "Vui lòng gõ nhận xét" in empty.text
    assert submission_of(engine, "G02").review == "waiting" and pushes_to(engine, world["chairs"]["G02"]) == []

    comment = "Số đoàn viên không khớp danh sách, đề nghị kiểm tra lại " + "ữ" * 600  # long, all %-encoded
    returned = client.post(f"/dashboard/submissions/{g02.id}/review",
                           data={"csrf": token, "action": "return", "comment": comment, "revision": "1"})
    assert returned.status_code == 200 and "Đã trả lại báo cáo của CĐCS số 02" in returned.text
    assert submission_of(engine, "G02").review == "returned"
    [told] = pushes_to(engine, world["chairs"]["G02"])
    assert "bị trả lại" in told and "Số đoàn viên không khớp danh sách" in told
    twice = client.post(f"/dashboard/submissions/{g02.id}/review",
                        data={"csrf": token, "action": "return", "comment": "lần nữa", "revision": "1"})
    assert twice.status_code == 409 and len(pushes_to(engine, world["chairs"]["G02"])) == 1
    with Session(engine) as s:
        steps = s.exec(select(SubmissionReview.state, SubmissionReview.person_id, SubmissionReview.comment)
                       .where(SubmissionReview.submission_id == g02.id).order_by(SubmissionReview.id)).all()
    assert steps == [("waiting", None, ""), ("returned", officer_id, comment)]

    history = client.get(f"/dashboard/units/{unit_id(engine, 'G02')}").text
    table = re.search(r'<table class="reviews">.*?</table>', history, re.S).group(0)  # type: ignore[union-attr]
    assert "Cán bộ U1" in table and "trả lại" in table and "Số đoàn viên không khớp danh sách" in table
    assert f'id="return-{g02.id}"' not in history  # no longer waiting: nothing to decide

    # the chair sees their state and the comment, and cannot review
    chair = signed_in(app, engine, person(world["chairs"]["G02"]))
    own = chair.get(f"/dashboard/units/{unit_id(engine, 'G02')}").text
    assert "Tình trạng duyệt: trả lại" in own and "Số đoàn viên không khớp danh sách" in own
    assert 'name="action"' not in own
    assert "Duyệt: trả lại" in chair.get(f"/dashboard/rounds/{rid}").text
    g03 = submission_of(engine, "G03")
    chair_g03 = signed_in(app, engine, person(world["chairs"]["G03"]))
    refused = chair_g03.post(f"/dashboard/submissions/{g03.id}/review",
                             data={"csrf": csrf_of(chair_g03.get("/dashboard/").text), "action": "approve"})
    assert refused.status_code == 403 and "Không được phép" in refused.text
    assert submission_of(engine, "G03").review == "waiting"


def test_forged_ids_a_missing_csrf_token_and_a_locked_round_are_refused(review_world, engine):
    from bot.services import reporting

    app, world, person = review_world
    rid = round_id(engine, "R1")
    g01 = submission_of(engine, "G01")
    other = signed_in(app, engine, person(world["officers"]["U2"]))
    token = csrf_of(other.get("/dashboard/").text)
    before = outbox_count(engine)
    for action in ("approve", "return"):
        answer = other.post(f"/dashboard/submissions/{g01.id}/review",
                            data={"csrf": token, "action": action, "comment": "x", "revision": "1"})
        assert answer.status_code == 404 and "Không tìm thấy" in answer.text and "CĐCS số 01" not in answer.text
    assert other.post("/dashboard/submissions/999999/review", data={"csrf": token, "action": "approve"}).status_code == 404
    u1 = unit_id(engine, "U1")
    assert other.get(f"/dashboard/rounds/{rid}/approve?unit={u1}").status_code == 404
    forged_bulk = other.post(f"/dashboard/rounds/{rid}/approve", data={"csrf": token, "unit": str(u1), "mark": "99999"})
    assert forged_bulk.status_code == 404
    assert submission_of(engine, "G01").review == "waiting" and outbox_count(engine) == before

    officer = signed_in(app, engine, person(world["officers"]["U1"]))
    page = officer.get(f"/dashboard/units/{unit_id(engine, 'G01')}").text
    for data in ({"action": "approve", "revision": "1"}, {"csrf": "0" * 64, "action": "approve"},
                 {"csrf": csrf_of(page)[:-1] + "x", "action": "return", "comment": "x"}):
        assert officer.post(f"/dashboard/submissions/{g01.id}/review", data=data).status_code == 403
    assert officer.post(f"/dashboard/rounds/{rid}/approve", data={"unit": str(u1), "mark": "99999"}).status_code == 403
    assert submission_of(engine, "G01").review == "waiting" and outbox_count(engine) == before

    with session_scope(engine) as s:
        reporting.lock_round(s, s.get(Round, rid), utcnow())
    locked = officer.post(f"/dashboard/submissions/{g01.id}/review",
                          data={"csrf": csrf_of(page), "action": "approve", "revision": "1"})
    assert locked.status_code == 409 and "đã khóa sổ nên không duyệt được nữa" in locked.text
    bulk = officer.get(f"/dashboard/rounds/{rid}/approve?unit={u1}")
    assert bulk.status_code == 409 and "đã khóa sổ" in bulk.text
    after = officer.get(f"/dashboard/units/{unit_id(engine, 'G01')}").text
    assert "đã khóa sổ nên không duyệt được nữa" in after and f'id="approve-{g01.id}"' not in after
    assert submission_of(engine, "G01").review == "waiting" and outbox_count(engine) == before


def test_a_report_corrected_after_the_page_was_opened_is_not_approved_unseen(review_world, engine):
    from bot.services import review

    app, world, person = review_world
    officer = signed_in(app, engine, person(world["officers"]["U1"]))
    g01 = submission_of(engine, "G01")
    page = officer.get(f"/dashboard/units/{unit_id(engine, 'G01')}").text
    with session_scope(engine) as s:  # the chair corrects a figure meanwhile
        from bot.models import Submission
        sub = s.get(Submission, g01.id)
        sub.revision = 2
        s.add(sub)
    answer = officer.post(f"/dashboard/submissions/{g01.id}/review",
                          data={"csrf": csrf_of(page), "action": "approve", "revision": "1"})
    assert answer.status_code == 409 and "đã sửa báo cáo này sau khi bạn mở trang" in answer.text
    assert submission_of(engine, "G01").review == review.WAITING


def test_staff_bulk_approve_a_union_with_one_confirmation(review_world, engine):
    from bot.models import Submission
    from bot.services import review
    from worlds import submit_directly

    app, world, person = review_world
    staff = signed_in(app, engine, person(world["staff"]))
    rid, u1 = round_id(engine, "R1"), unit_id(engine, "U1")
    page = staff.get(f"/dashboard/rounds/{rid}").text
    row = re.search(r'<tr data-unit="U1">.*?</tr>', page, re.S).group(0)  # type: ignore[union-attr]
    assert f'href="/dashboard/rounds/{rid}/approve?unit={u1}"' in row

    confirm = staff.get(f"/dashboard/rounds/{rid}/approve?unit={u1}")
    assert confirm.status_code == 200 and "Duyệt 5 báo cáo đang chờ của LĐLĐ huyện U1?" in confirm.text
    listed = re.findall(r"<tr><td>(CĐCS số \d+)</td>", confirm.text)
    assert listed == [f"CĐCS số 0{n}" for n in range(1, 6)]
    mark = re.search(r'name="mark" value="(\d+)"', confirm.text).group(1)  # type: ignore[union-attr]

    # G06 reports after the confirmation was shown: it is not approved unseen
    submit_directly(engine, "R1", "G06")
    with session_scope(engine) as s:
        rnd = s.get(Round, rid)
        sub = s.exec(select(Submission).join(Unit, Unit.id == Submission.unit_id).where(Unit.code == "G06")).one()
        review.on_submitted(s, rnd, sub, None, utcnow(), corrected=False, changed=1)

    done = staff.post(f"/dashboard/rounds/{rid}/approve",
                      data={"csrf": csrf_of(confirm.text), "unit": str(u1), "mark": mark})
    assert done.status_code == 200 and "Đã duyệt 5 báo cáo" in done.text and "1 báo cáo của LĐLĐ huyện U1 vẫn đang chờ" in done.text
    states = {code: submission_of(engine, code).review for code in ("G01", "G02", "G03", "G04", "G05", "G06", "G13")}
    assert states == {"G01": "approved", "G02": "approved", "G03": "approved", "G04": "approved", "G05": "approved",
                      "G06": "waiting", "G13": "waiting"}
    assert all(len(pushes_to(engine, world["chairs"][c])) == 1 for c in ("G01", "G02", "G03", "G04", "G05"))
    pressed_again = staff.post(f"/dashboard/rounds/{rid}/approve",
                               data={"csrf": csrf_of(confirm.text), "unit": str(u1), "mark": mark})
    assert pressed_again.status_code == 200 and "Đã duyệt 0 báo cáo" in pressed_again.text
    assert submission_of(engine, "G06").review == "waiting"
    assert all(len(pushes_to(engine, world["chairs"][c])) == 1 for c in ("G01", "G02", "G03", "G04", "G05"))


def test_the_round_page_switches_between_approved_figures_and_every_report(review_world, engine):
    from bot.services import review

    app, world, person = review_world
    staff_id = person(world["staff"])
    with session_scope(engine) as s:
        from bot.models import Person as P

        rnd = s.exec(select(Round).where(Round.code == "R1")).one()
        for code in ("G01", "G02"):
            unit = s.exec(select(Unit).where(Unit.code == code)).one()
            from bot.services import reporting
            review.approve(s, reporting.submission_of(s, rnd, unit), rnd, unit, s.get(P, staff_id), utcnow(), "test")
    staff = signed_in(app, engine, staff_id)
    rid = round_id(engine, "R1")
    every = staff.get(f"/dashboard/rounds/{rid}").text
    assert "Số liệu tính mọi báo cáo đã nộp; đã duyệt 2/6 (33,3%)." in every and "180 người" in every
    link = re.search(r'id="basis-approved" href="([^"]+)"', every).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    only = staff.get(link).text
    assert "Số liệu chỉ tính báo cáo đã duyệt (2/6 báo cáo đã nộp)." in only and "60 người" in only
    assert "180 người" not in only and 'id="basis-all"' in only
    assert "approved=1" in re.search(r'id="workbook"[^>]*href="([^"]+)"', only).group(1)  # type: ignore[union-attr]
    assert "approved=1" in re.search(r'img class="chart" src="([^"]+)"', only).group(1)  # type: ignore[union-attr]
    import io

    import openpyxl

    book = staff.get(re.search(r'id="workbook"[^>]*href="([^"]+)"', only).group(1).replace("&amp;", "&"))  # type: ignore[union-attr]
    summary = " ".join(str(c) for row in openpyxl.load_workbook(io.BytesIO(book.content)).worksheets[0]
                       .iter_rows(values_only=True) for c in row if c is not None)
    assert "chỉ tính báo cáo đã duyệt" in summary
