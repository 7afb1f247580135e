"""Notices: audience resolution, the send-once enqueue, deliveries, acknowledgements and progress
(service tests on a real SQLite file), and the compose conversation in-process (tests/dialog.py).

World (tests/worlds.small_province): province P, unions U1 (G01–G12) and U2 (G13–G20), one
chair per CĐCS (chat ids 8001–8020), officers of U1/U2 (8101, 8102), staff on P (8201).
"""

from __future__ import annotations

import copy
from pathlib import Path
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.channels.telegram import payload_sends, plan
from bot.clock import to_local, to_utc
from bot.db import make_engine, session_scope
from bot.messages import reply_from_json, split_text
from bot.models import ChatIdentity, Notice, NoticeDelivery, Outbox, Person, Unit
from bot.services import notices
from bot.services.notices import AckOutcome, AudienceKind
from dialog import CoreChat
from worlds import small_province
from sqlite_templates import build_template, copy_sqlite

NOW = to_utc(datetime(2026, 12, 5, 9, 0))


def _docx() -> bytes:
    """A minimal Word document (its content is checked, not only its name)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("[Content_Types].xml", "_rels/.rels", "word/document.xml"):
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


DOCX_BYTES = _docx()


@pytest.fixture(scope="module")
def province(empty_template, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The small province built once per module: (its template file, the world's chat ids)."""
    path = tmp_path_factory.mktemp("province") / "province.sqlite"
    return path, build_template(empty_template, path, lambda eng: small_province(eng, opens=date(2026, 12, 1), deadline=date(2026, 12, 18), submitted_units=0))


@pytest.fixture
def engine(db_url, province):  # type: ignore[no-untyped-def]
    """The small province at db_url: a fresh copy of the module's template for each test."""
    copy_sqlite(province[0], Path(db_url.removeprefix("sqlite:///")))
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def world(engine, province):  # type: ignore[no-untyped-def]
    return copy.deepcopy(province[1])


def person_of(session: Session, chat_id: int) -> Person:
    ident = session.exec(select(ChatIdentity).where(ChatIdentity.external_id == str(chat_id))).one()
    return session.get(Person, ident.person_id)


def unit_id(session: Session, code: str) -> int:
    return session.exec(select(Unit).where(Unit.code == code)).one().id


def codes(recipients: list[notices.Recipient]) -> list[str]:
    return [r.unit.code for r in recipients]


def draft(session: Session, sender: Person, audience: dict, **kw) -> Notice:
    return notices.save_draft(session, sender, None, body=kw.pop("body", "Họp giao ban"), file_id=kw.pop("file_id", None),
                              file_name=kw.pop("file_name", None), audience=audience,
                              requires_ack=kw.pop("requires_ack", True), send_at=kw.pop("send_at", None), now=NOW)


def send(session: Session, sender: Person, audience: dict, **kw) -> notices.Queued:
    notice = draft(session, sender, audience, **kw)
    found = notices.resolve_audience(session, sender, audience)
    queued = notices.queue(session, notice.id, sender, found, progress_to=("telegram", "8201"), now=NOW)
    assert queued is not None
    return queued


# ---- audience ------------------------------------------------------------------------------


def test_audience_of_staff_for_every_kind(engine, world):
    with session_scope(engine) as s:
        for code in ("G03", "G14"):
            s.get(Unit, unit_id(s, code)).sector = "dnnn"
        staff = person_of(s, world["staff"])
        all_g = [f"G{n:02d}" for n in range(1, 21)]
        assert codes(notices.resolve_audience(s, staff, {"kind": AudienceKind.CHAIRS})) == all_g
        assert codes(notices.resolve_audience(s, staff, {"kind": AudienceKind.UNIONS, "units": [unit_id(s, "U2")]})) \
            == all_g[12:]
        both = {"kind": AudienceKind.UNIONS, "units": [unit_id(s, "U1"), unit_id(s, "U2")]}
        assert codes(notices.resolve_audience(s, staff, both)) == all_g
        assert codes(notices.resolve_audience(s, staff, {"kind": AudienceKind.SECTOR, "sector": "dnnn"})) \
            == ["G03", "G14"]
        officers = notices.resolve_audience(s, staff, {"kind": AudienceKind.OFFICERS})
        assert codes(officers) == ["U1", "U2"] and {r.person.role for r in officers} == {"officer"}
        listed = notices.resolve_audience(s, staff, {"kind": AudienceKind.UNITS, "codes": ["g01", "U2"]})
        assert codes(listed) == ["G01", "U2"]
        assert notices.units_by_codes(s, staff, ["G01", "X99"])[1] == ["X99"]
        assert notices.resolve_audience(s, staff, {"kind": "nonsense"}) == []


def test_an_officer_reaches_only_their_own_subtree(engine, world):
    with session_scope(engine) as s:
        officer = person_of(s, world["officers"]["U1"])
        u1 = [f"G{n:02d}" for n in range(1, 13)]
        assert codes(notices.resolve_audience(s, officer, {"kind": AudienceKind.CHAIRS})) == u1
        assert notices.resolve_audience(s, officer, {"kind": AudienceKind.UNIONS, "units": [unit_id(s, "U2")]}) == []
        assert codes(notices.resolve_audience(s, officer, {"kind": AudienceKind.UNITS, "codes": ["G01", "G13"]})) \
            == ["G01"]
        assert notices.units_by_codes(s, officer, ["G13", "P"])[1] == ["G13", "P"]
        assert notices.resolve_audience(s, officer, {"kind": AudienceKind.OFFICERS}) == []  # only themselves
        assert [u.code for u in notices.upper_unions(s, officer)] == ["U1"]


# ---- the send-once enqueue ---------------------------------------------------------------------


def test_queue_enqueues_once_with_unreachable_recipients_recorded(engine, world):
    with session_scope(engine) as s:
        ident = s.exec(select(ChatIdentity).where(ChatIdentity.external_id == "8003")).one()
        ident.reachable = False
        staff = person_of(s, world["staff"])
        audience = {"kind": AudienceKind.UNIONS, "units": [unit_id(s, "U1")]}
        notice = draft(s, staff, audience)
        found = notices.resolve_audience(s, staff, audience)
        first = notices.queue(s, notice.id, staff, found, progress_to=("telegram", "8201"), now=NOW)
        again = notices.queue(s, notice.id, staff, found, progress_to=("telegram", "8201"), now=NOW)
        assert first is not None and (first.total, first.reachable) == (12, 11)
        assert again is None
    with Session(engine) as s:
        keys = sorted(s.exec(select(Outbox.key)).all())
        assert len(keys) == 12 and f"ntcp|{notice.id}" in keys
        deliveries = s.exec(select(NoticeDelivery)).all()
        assert len(deliveries) == 12
        assert [d.failed for d in deliveries].count(True) == 1
        assert all(d.outbox_id is not None for d in deliveries if not d.failed)
        assert s.get(Notice, notice.id).status == "queued"


def test_a_scheduled_notice_waits_for_its_time(engine, world):
    with session_scope(engine) as s:
        staff = person_of(s, world["staff"])
        later = NOW + timedelta(hours=20)
        send(s, staff, {"kind": AudienceKind.CHAIRS}, send_at=later)
        rows = s.exec(select(Outbox)).all()
        assert {r.not_before.replace(tzinfo=later.tzinfo) for r in rows} == {later}
        # the progress message goes first (lowest id), so it can be edited from the start
        assert min(rows, key=lambda r: r.id).key.startswith("ntcp|")


def test_acknowledgement_is_counted_once(engine, world):
    with session_scope(engine) as s:
        queued = send(s, person_of(s, world["staff"]), {"kind": AudienceKind.CHAIRS})
        chair = person_of(s, world["chairs"]["G07"])
        outcome1 = notices.acknowledge(s, queued.notice.id, chair.id, NOW)
        outcome2 = notices.acknowledge(s, queued.notice.id, chair.id, NOW + timedelta(minutes=5))
        officer = person_of(s, world["officers"]["U1"])
        outcome3 = notices.acknowledge(s, queued.notice.id, officer.id, NOW)
        assert outcome1[0] == AckOutcome.RECORDED and outcome2[0] == AckOutcome.ALREADY
        assert outcome2[2].replace(tzinfo=NOW.tzinfo) == NOW  # the first time is kept
        assert outcome3[0] == AckOutcome.NOT_RECIPIENT
        assert notices.acknowledge(s, 999, chair.id, NOW)[0] == AckOutcome.NOT_RECIPIENT
        c = notices.delivery_counts(s, queued.notice.id)
        assert (c.acked, c.total) == (1, 20)


def test_deliveries_progress_final_report_and_reminders(engine, world):
    with session_scope(engine) as s:
        staff = person_of(s, world["staff"])
        queued = send(s, staff, {"kind": AudienceKind.UNIONS, "units": [unit_id(s, "U2")]})
        notice_id = queued.notice.id
        rows = s.exec(select(Outbox).order_by(Outbox.id)).all()
        progress, deliveries = rows[0], rows[1:]
        progress.status, progress.message_id = "sent", "77"
        for n, row in enumerate(deliveries):  # what the sender does: mark, then the hook, one transaction
            row.status = "sent" if n < 3 else "pending"
            s.add(row)
            if n < 3:
                notices.record_delivery(s, row, True, NOW)
        s.flush()
        edits = notices.progress_work(s, NOW)
        assert [(e.message_id, e.text) for e in edits] == [("77", "📤 Thông báo TB-%05d: đã gửi 3/8" % notice_id)]
        notices.progress_shown(s, notice_id, edits[0].text)
        assert notices.progress_work(s, NOW) == []  # nothing changed: no edit ("message is not modified")
        for n, row in enumerate(deliveries[3:]):
            row.status = "sent" if n else "failed"
            s.add(row)
            notices.record_delivery(s, row, bool(n), NOW)
        s.flush()
        final = notices.progress_work(s, NOW)
        assert "đã gửi xong — đến tay 7/8, không gửi được 1" in final[0].text
        assert s.get(Notice, notice_id).status == "queued"  # finishes only once the final figures are shown
        notices.progress_shown(s, notice_id, final[0].text)
        assert notices.progress_work(s, NOW) == []
        assert s.get(Notice, notice_id).status == "sent"
        report = s.exec(select(Outbox).where(Outbox.key == f"ntcr|{notice_id}")).one()
        assert "Đã gửi đến: 7/8" in report.payload["text"] and "CĐCS số 16 — Chủ tịch 16 (gửi lỗi)" in report.payload["text"]
        assert notices.progress_work(s, NOW) == []  # finished: no second report

        chair14 = person_of(s, world["chairs"]["G14"])
        notices.acknowledge(s, notice_id, chair14.id, NOW)
        notice = s.get(Notice, notice_id)
        assert notices.resend_unacknowledged(s, notice, staff, NOW) == 7
        assert notices.resend_unacknowledged(s, notice, staff, NOW + timedelta(hours=1)) == 7
        reminder_keys = s.exec(select(Outbox.key).where(Outbox.key.like(f"ntc|{notice_id}|%|r%"))).all()
        assert len(reminder_keys) == 14 and len(set(reminder_keys)) == 14
        assert not [k for k in reminder_keys if k.startswith(f"ntc|{notice_id}|{chair14.id}|")]


def test_rendering_long_texts_and_documents():
    notice = Notice(id=7, reference="TB-00007", body="Dòng đầu\n" + "q " * 2200, sender_unit_id=1, requires_ack=True)
    payload = notices.render(notice, "LĐLĐ tỉnh", NOW, "vi")
    chunks = split_text(payload["text"], 4096)
    assert payload_sends(payload) == len(chunks) >= 2 and all(len(c) <= 4096 for c in chunks)
    assert "".join(chunks).count("q") == 2200
    assert payload["options"] == [[["Đã nhận", "/danhan 7"]]]
    notice.file_id, notice.file_name = "BQAC123", "cv.pdf"  # an older row: a bare Telegram file id
    notice.body = "Công văn & <ghi chú>"
    short = plan(reply_from_json(notices.render(notice, "LĐLĐ tỉnh", NOW, "vi")))
    assert [p.kind for p in short] == ["document"] and "Công văn &amp; &lt;ghi chú&gt;" in short[0].text
    assert short[0].markup  # the "Đã nhận" button goes with the document
    assert reply_from_json(notices.render(notice, "LĐLĐ tỉnh", NOW, "vi")).file.file_channel == "telegram"
    notice.body = "y" * 1500
    long = notices.render(notice, "LĐLĐ tỉnh", NOW, "vi")
    parts = plan(reply_from_json(long))
    assert [p.kind for p in parts] == ["document", "text"] and len(parts[0].text) <= 1024
    assert parts[1].text.startswith("y" * 100) and parts[1].markup and not parts[0].markup
    assert payload_sends(long) == 2
    english = notices.render(notice, "LĐLĐ tỉnh", NOW, "en")
    assert "NOTICE" in english["file"]["caption"] and english["options"][0][0][0] == "Received"
    # without buttons (Zalo): the text says to type 1 or "đã nhận", and the choice is numbered
    typed = notices.render(notice, "LĐLĐ tỉnh", NOW, "vi", buttons=False)
    assert typed["numbered"] and "Trả lời 1" in typed["text"]


# ---- the compose conversation, in-process ----------------------------------------------------------


def chat_of(engine, settings, user_id: int) -> CoreChat:
    return CoreChat(engine, settings, user_id=str(user_id), channel="telegram", now=NOW)


def outbox_keys(engine) -> list[str]:
    with Session(engine) as s:
        return list(s.exec(select(Outbox.key)).all())


def test_compose_with_typed_choices_only(engine, settings, world):
    chat = chat_of(engine, settings, world["staff"])
    chat.send("/thongbao")
    chat.send("Kính gửi các CĐCS: nộp báo cáo trước 20/12.")
    assert "Gửi thông báo này cho ai?" in chat.text
    chat.send("2")
    assert "1. " not in chat.text and chat.options()[:2] == ["LĐLĐ huyện U1", "LĐLĐ huyện U2"]
    chat.send("1 u2")
    assert "Đã chọn: 2" in chat.text
    chat.send("1")  # typing a listed number toggles that union
    assert "Đã chọn: 1" in chat.text and chat.options()[1] == "✓ LĐLĐ huyện U2"
    chat.send("xong")
    assert "Người nhận: Chủ tịch CĐCS thuộc LĐLĐ huyện U2" in chat.text
    chat.send("3")  # Không yêu cầu xác nhận
    assert "Xác nhận đã nhận: không yêu cầu" in chat.text
    chat.send("1")  # Xem trước
    assert "Số người nhận: 8" in chat.text and "Đã nhận" not in chat.text
    assert outbox_keys(engine) == []  # nothing before Gửi
    chat.send("1")  # Gửi
    assert "xếp lịch gửi tới 8 người nhận" in chat.text
    assert len(outbox_keys(engine)) == 9


def test_a_double_send_enqueues_once(engine, settings, world):
    chat = chat_of(engine, settings, world["staff"])
    chat.send("/thongbao")
    chat.send("Thông báo")
    chat.press("Tất cả Chủ tịch CĐCS")
    chat.press("Xem trước")
    send_data = next(o.data for o in chat.last_reply.flat_options() if o.label == "Gửi")
    chat.press_data(send_data)
    assert "xếp lịch gửi tới 20 người nhận" in chat.text
    chat.press_data(send_data)  # the same button again (a double tap, or a redelivered update)
    assert "đã qua" in chat.text
    assert len(outbox_keys(engine)) == 21
    with Session(engine) as s:
        notice_id = s.exec(select(Notice.id)).one()
        assert notices.queue(s, notice_id, person_of(s, world["staff"]), [], progress_to=None, now=NOW) is None


def test_chairs_cannot_broadcast_even_with_forged_buttons(engine, settings, world):
    chat = chat_of(engine, settings, world["chairs"]["G01"])
    chat.send("/thongbao")
    assert "Chỉ cán bộ LĐLĐ tỉnh" in chat.text
    chat.send("/menu")
    with Session(engine) as s:
        from bot.models import ConversationState

        version = s.exec(select(ConversationState.version).where(ConversationState.external_id == "8001")).one()
    for action in ("aud:chairs", "send", "preview", "resend:1", "export:1"):
        chat.press_data(f"s{version}:notice:{action}")
        assert "Chỉ cán bộ LĐLĐ tỉnh" in chat.text
        version += 1
    chat.send("/thongbao_ds")
    assert "Chỉ cán bộ LĐLĐ tỉnh" in chat.text
    assert outbox_keys(engine) == []


def test_an_officer_cannot_reach_outside_their_union(engine, settings, world):
    chat = chat_of(engine, settings, world["officers"]["U1"])
    chat.send("/thongbao")
    chat.send("Thông báo của huyện")
    chat.press("Chủ tịch CĐCS thuộc công đoàn cấp trên được chọn")
    assert chat.options() == ["LĐLĐ huyện U1", "Xong", "Hủy"]
    u1_data = chat.last_reply.flat_options()[0].data
    with Session(engine) as s:
        u2 = unit_id(s, "U2")
    chat.press_data(u1_data.rsplit(":", 1)[0] + f":{u2}")  # forged: the right version, another union
    assert "Chỉ chọn được các công đoàn thuộc đơn vị của đồng chí" in chat.text
    chat.send("xong")
    assert "Hãy chọn ít nhất một công đoàn" in chat.text
    chat.send("/thongbao")
    chat.send("Thông báo của huyện")
    chat.press("Danh sách mã đơn vị")
    chat.send("G01 G13")
    assert "không phải đơn vị thuộc công đoàn của đồng chí: G13" in chat.text
    chat.send("G01, G02")
    chat.press("Xem trước")
    assert "Số người nhận: 2" in chat.text
    chat.press("Gửi")
    assert sorted(k.split("|")[0] for k in outbox_keys(engine)) == ["ntc", "ntc", "ntcp"]


def test_an_empty_audience_is_refused(engine, settings, world):
    chat = chat_of(engine, settings, world["officers"]["U1"])
    chat.send("/thongbao")
    chat.send("Gửi các cán bộ")
    chat.press("Tất cả cán bộ công đoàn cấp trên")  # in U1's subtree that is only the officer
    chat.press("Xem trước")
    assert "Nhóm người nhận này không có ai" in chat.text and "Gửi thông báo này cho ai?" in chat.text
    with session_scope(engine) as s:  # every chair of U1 blocked the bot
        for ident in s.exec(select(ChatIdentity)).all():
            if int(ident.external_id) <= 8012:
                ident.reachable = False
    chat.press("Tất cả Chủ tịch CĐCS")
    chat.press("Xem trước")
    assert "Cả 12 người trong nhóm này đều không liên lạc được" in chat.text
    assert outbox_keys(engine) == []


def test_too_long_texts_wrong_files_and_a_scheduled_time(engine, settings, world):
    from bot.messages import FileRef, Incoming
    from handlers import router

    chat = chat_of(engine, settings, world["staff"])
    chat.send("/thongbao")
    chat.send("x" * (notices.MAX_BODY + 1))
    assert "Nội dung quá dài: 4001 ký tự, tối đa 4000" in chat.text
    photo = Incoming(channel="telegram", user_id=str(world["staff"]), chat_id=str(world["staff"]),
                     file=FileRef("AgAC1", None, "image/jpeg"))
    response = router.handle(engine, settings, photo, now=NOW)
    assert "PDF hoặc DOCX" in response.replies[0].text
    document = Incoming(channel="telegram", user_id=str(world["staff"]), chat_id=str(world["staff"]),
                        file=FileRef("BQAC1", "cv.docx", None, read=lambda: DOCX_BYTES))
    response = router.handle(engine, settings, document, now=NOW)
    assert "Đã nhận tệp: cv.docx" in response.replies[0].text
    chat.send("Công văn kèm theo")
    chat.press("Tất cả Chủ tịch CĐCS")
    chat.press("Hẹn giờ gửi")
    chat.send("25 giờ")
    assert "không đọc được" in chat.text
    chat.send("07:30")  # before 09:00 today, so tomorrow
    assert "Thời điểm gửi: 07:30 06/12/2026" in chat.text
    chat.press("Xem trước")
    assert chat.history[-1].replies[0].file.file_id == "BQAC1"
    chat.press("Gửi")
    assert "Sẽ gửi lúc 07:30 06/12/2026" in chat.text
    with Session(engine) as s:
        when = {to_local(r.not_before).strftime("%H:%M %d/%m") for r in s.exec(select(Outbox)).all()}
        assert when == {"07:30 06/12"}
        assert notices.split_file_id(s.exec(select(Notice)).one().file_id) == ("telegram", "BQAC1")


# ---- PostgreSQL (when a local server answers) ------------------------------------------------------


@pytest.fixture
def pg_engine(pg_url):
    from bot.db import make_engine, upgrade

    upgrade(pg_url)
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_send_once_deliveries_and_acks_on_postgres(pg_engine):
    world = small_province(pg_engine, opens=date(2026, 12, 1), deadline=date(2026, 12, 18), submitted_units=0)
    with session_scope(pg_engine) as s:
        staff = person_of(s, world["staff"])
        queued = send(s, staff, {"kind": AudienceKind.CHAIRS})
        assert notices.queue(s, queued.notice.id, staff, [], progress_to=None, now=NOW) is None
    with session_scope(pg_engine) as s:
        for row in s.exec(select(Outbox).where(Outbox.kind == "notice")).all():
            notices.record_delivery(s, row, True, NOW)
        chair = person_of(s, world["chairs"]["G01"])
        assert notices.acknowledge(s, queued.notice.id, chair.id, NOW)[0] == AckOutcome.RECORDED
        assert notices.acknowledge(s, queued.notice.id, chair.id, NOW)[0] == AckOutcome.ALREADY
    with Session(pg_engine) as s:
        c = notices.delivery_counts(s, queued.notice.id)
        assert (c.total, c.delivered, c.acked, c.failed) == (20, 20, 1, 0)
        assert len(s.exec(select(Outbox)).all()) == 21
