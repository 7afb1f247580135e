"""Large notices: the audience counted and listed in SQL equals the per-person resolution, "Gửi"
returns after a few statements, and the background job queues every recipient in chunks,
resuming after a stop without queueing anyone twice."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from sqlalchemy import event, func, select
from sqlmodel import Session

from big_world import build
from bot.clock import to_utc
from bot.db import session_scope
from bot.models import ChatIdentity, Notice, NoticeDelivery, Outbox, OutboxStatus, Person, Role, Unit
from bot.services import notices
from bot.services.notices import AudienceKind, NoticeStatus
from dialog import CoreChat
from scheduler.notice_queue import NoticeQueuer
from worlds import small_province

NOW = to_utc(datetime(2026, 12, 5, 9, 0))


def person_by_chat(session: Session, chat_id: int | str) -> Person:
    ident = session.execute(select(ChatIdentity).where(ChatIdentity.external_id == str(chat_id))).scalars().one()
    return session.get(Person, ident.person_id)


def test_sql_audience_equals_the_resolution_in_python(engine):
    world = small_province(engine, opens=date(2026, 12, 1), deadline=date(2026, 12, 18), submitted_units=0)
    with session_scope(engine) as s:
        for code in ("G03", "G14"):
            s.execute(select(Unit).where(Unit.code == code)).scalars().one().sector = "dnnn"
        s.execute(select(Unit).where(Unit.code == "G05")).scalars().one().active = False
        blocked = s.execute(select(ChatIdentity).where(ChatIdentity.external_id == str(world["chairs"]["G07"])))
        blocked.scalars().one().reachable = False
    with Session(engine) as s:
        u1, u2 = (s.execute(select(Unit.id).where(Unit.code == c)).scalar_one() for c in ("U1", "U2"))
        audiences = [{"kind": AudienceKind.CHAIRS}, {"kind": AudienceKind.UNIONS, "units": [u2]},
                     {"kind": AudienceKind.UNIONS, "units": [u1, u2]}, {"kind": AudienceKind.SECTOR, "sector": "dnnn"},
                     {"kind": AudienceKind.OFFICERS}, {"kind": AudienceKind.UNITS, "codes": ["g01", "U2", "G13"]},
                     {"kind": "nonsense"}]
        senders = [person_by_chat(s, world["staff"]), person_by_chat(s, world["officers"]["U1"])]
        for sender in senders:
            for audience in audiences:
                expected = notices.resolve_audience(s, sender, audience)
                query = notices.sending.recipients_select(sender, audience)
                rows = [] if query is None else s.execute(query.order_by(Person.id)).all()
                assert sorted((r.person.id, r.reachable) for r in expected) == \
                    [(pid, channel is not None and bool(reachable)) for pid, _l, channel, _c, reachable in rows]
                assert notices.count_recipients(s, sender, audience) == (len(expected),
                                                                         sum(r.reachable for r in expected))
        assert notices.count_recipients(s, senders[0], {"kind": AudienceKind.CHAIRS}) == (19, 18)


class Statements:
    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args, **kwargs) -> None:
        self.count += 1


def count(engine, query) -> int:
    with Session(engine) as s:
        return s.execute(query).scalar_one()


def test_a_large_notice_is_queued_in_the_background_in_chunks(engine, settings):
    build(engine, 800)
    with Session(engine) as s:
        staff = s.execute(select(Person).where(Person.role == Role.STAFF)).scalars().one()
        staff_chat = s.execute(select(ChatIdentity.chat_id).where(ChatIdentity.person_id == staff.id)).scalar_one()
    chat = CoreChat(engine, settings, user_id=staff_chat, channel="telegram", now=NOW)
    chat.send("/thongbao")
    chat.send("Họp trực tuyến toàn tỉnh lúc 14:00")
    chat.press("Tất cả Chủ tịch CĐCS")
    chat.press("Xem trước")
    assert "Số người nhận: <b>800</b>" in chat.history[-1].replies[-1].text

    statements = Statements(engine)
    chat.press("Gửi")
    assert statements.count <= 20  # independent of the 800 recipients (inline it would be thousands of rows)
    assert "800 người nhận" in chat.text
    with Session(engine) as s:
        notice = s.execute(select(Notice)).scalars().one()
        assert notice.status == NoticeStatus.QUEUING
        assert s.execute(select(Outbox.key)).scalars().all() == [f"ntcp|{notice.id}"]
        assert "đang chuẩn bị… đã xếp hàng 0/800" in notice.progress_text

    # one chunk, then a "crash": the progress message shows how far queueing went
    with session_scope(engine) as s:
        assert notices.fill_chunk(s, notice.id, 300) is False
        s.execute(Outbox.__table__.update().where(Outbox.key == f"ntcp|{notice.id}")
                  .values(status=OutboxStatus.SENT, message_id="77"))
    with session_scope(engine) as s:
        edits = notices.progress_work(s, NOW)
    assert [e.text for e in edits] == [f"📤 Thông báo {notice.reference}: đang chuẩn bị… đã xếp hàng 300/800"]

    # the bot's background job resumes after the last recipient recorded
    assert asyncio.run(NoticeQueuer(engine, chunk=300).tick()) == 2
    notice_rows = select(func.count()).select_from(Outbox).where(Outbox.kind == "notice")
    assert count(engine, notice_rows) == 800
    assert count(engine, select(func.count(func.distinct(Outbox.chat_id))).where(Outbox.kind == "notice")) == 800
    assert count(engine, select(func.count()).select_from(NoticeDelivery)
                 .where(NoticeDelivery.outbox_id.is_not(None))) == 800
    with Session(engine) as s:
        assert s.get(Notice, notice.id).status == NoticeStatus.QUEUED
    assert asyncio.run(NoticeQueuer(engine, chunk=300).tick()) == 0  # nothing left, nothing twice
    assert count(engine, notice_rows) == 800


def test_chunks_keyed_by_person_keep_to_the_senders_subtree(engine):
    """The background job reads people in id order and checks their units against the sender's
    subtree in Python (no recursive query per chunk): the same recipients as the resolution in
    Python, even when whole chunks of people lie outside the subtree."""
    from bot.services.notices.audience import Within

    world = small_province(engine, opens=date(2026, 12, 1), deadline=date(2026, 12, 18), submitted_units=0)
    with Session(engine) as s:
        u1, u2 = (s.execute(select(Unit.id).where(Unit.code == c)).scalar_one() for c in ("U1", "U2"))
        officer = person_by_chat(s, world["officers"]["U2"])
        staff = person_by_chat(s, world["staff"])
        for sender in (officer, staff):
            for audience in ({"kind": AudienceKind.CHAIRS}, {"kind": AudienceKind.UNIONS, "units": [u1, u2]},
                             {"kind": AudienceKind.OFFICERS}, {"kind": AudienceKind.UNITS, "codes": ["G01", "G13"]}):
                expected = sorted(r.person.id for r in notices.resolve_audience(s, sender, audience))
                within = Within(s, sender)
                rows = s.execute(notices.sending.recipients_select(sender, audience, by_person=True)
                                 .order_by(Person.id)).all()
                assert [r[0] for r in rows if within(r[5], r[6])] == expected, (sender.role, audience)
    with session_scope(engine) as s:
        officer = s.get(Person, officer.id)
        draft = notices.save_draft(s, officer, None, body="Họp", file_id=None, file_name=None,
                                   audience={"kind": AudienceKind.CHAIRS}, requires_ack=False, send_at=None, now=NOW)
        expected = sorted(r.person.id for r in notices.resolve_audience(s, officer, {"kind": AudienceKind.CHAIRS}))
        assert notices.start_queuing(s, draft.id, officer, total=len(expected), reachable=len(expected),
                                     progress_to=None, now=NOW) is not None
    chunks = 0
    while True:
        with session_scope(engine) as s:
            if notices.fill_chunk(s, draft.id, 2):
                break
        chunks += 1
        assert chunks < 50
    with Session(engine) as s:
        recorded = s.execute(select(NoticeDelivery.person_id).where(NoticeDelivery.notice_id == draft.id)
                             .order_by(NoticeDelivery.person_id)).scalars().all()
        assert s.get(Notice, draft.id).status == NoticeStatus.QUEUED
    assert recorded == expected and len(expected) >= 3 and chunks >= 2
