"""Several senders on one outbox (issue 15): leases, an atomic claim, the claim index, pruning.

Two senders (two threads, each with its own engine and event loop) drain one outbox on a
SQLite file and on PostgreSQL: every push goes out exactly once. A start takes back only
expired leases and those of dead processes, never the rows a live sender is sending.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.db import make_engine, session_scope, upgrade
from bot.models import Outbox, OutboxStatus
from bot.services.outbox import Push, claim_next, enqueue
from outbox_support import push, row
from scheduler.sender import HOST, OutboxSender

PUSHES = 200


def queue_many(engine, n: int = PUSHES) -> None:
    due = utcnow() - timedelta(seconds=1)
    with session_scope(engine) as s:
        enqueue(s, [Push(key=f"k{i}", kind="test", person_id=None, channel="test", chat_id=str(i),  # type: ignore[arg-type]
                         payload={"text": f"m{i}"}, not_before=due) for i in range(n)])


def two_senders(url: str) -> Counter:
    """Drain the outbox with two senders at once; return how often each push was delivered."""
    delivered: Counter = Counter()
    guard = threading.Lock()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    async def deliver(channel: str, chat_id: str, payload: dict) -> str:
        with guard:
            delivered[payload["text"]] += 1
        await asyncio.sleep(0.001)  # the network
        return "1"

    def worker() -> None:
        engine = make_engine(url)
        try:
            sender = OutboxSender(engine, deliver, rate_per_second=100_000, idle_poll=0.01)
            start.wait()
            for _ in range(20):  # drain returns when nothing is due; a lease of the other may still be open
                asyncio.run(sender.drain())
                with Session(engine) as s:
                    if not s.exec(select(func.count()).select_from(Outbox)
                                  .where(Outbox.status != OutboxStatus.SENT)).one():
                        return
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return delivered


def check_exactly_once(url: str, delivered: Counter) -> None:
    assert len(delivered) == PUSHES, f"lost {PUSHES - len(delivered)}"
    assert [k for k, n in delivered.items() if n > 1] == [], "duplicated"
    engine = make_engine(url)
    with Session(engine) as s:
        statuses = Counter(s.exec(select(Outbox.status)).all())
    engine.dispose()
    assert statuses == {OutboxStatus.SENT: PUSHES}


def test_two_senders_on_one_sqlite_file_send_each_push_once(db_url):
    upgrade(db_url)
    engine = make_engine(db_url)
    queue_many(engine)
    engine.dispose()
    check_exactly_once(db_url, two_senders(db_url))


@pytest.mark.postgres
def test_two_senders_on_postgres_send_each_push_once(pg_url):
    upgrade(pg_url)
    engine = make_engine(pg_url)
    queue_many(engine)
    engine.dispose()
    check_exactly_once(pg_url, two_senders(pg_url))


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.mark.asyncio
async def test_a_start_takes_back_only_expired_leases_and_those_of_dead_processes(engine):
    now = utcnow()
    live = push(engine, "live", 1, "live", status=OutboxStatus.SENDING, lease_owner="other-host:41:aa",
                lease_until=now + timedelta(seconds=60))
    expired = push(engine, "expired", 2, "expired", status=OutboxStatus.SENDING, lease_owner="other-host:42:bb",
                   lease_until=now - timedelta(seconds=1))
    crashed = push(engine, "crashed", 3, "crashed", status=OutboxStatus.SENDING,
                   lease_owner=f"{HOST}:{dead_pid()}:cc", lease_until=now + timedelta(seconds=60))
    waiting = push(engine, "waiting", 4, "waiting")
    sent: list[str] = []

    async def deliver(channel: str, chat_id: str, payload: dict) -> str:
        sent.append(payload["text"])
        return "1"

    neighbour = OutboxSender(engine, deliver)  # a live sender of this process holds a lease too
    mine = push(engine, "neighbour", 5, "neighbour", status=OutboxStatus.SENDING, lease_owner=neighbour.owner,
                lease_until=now + timedelta(seconds=60))
    await OutboxSender(engine, deliver).drain()
    assert sorted(sent) == ["crashed", "expired", "waiting"]
    for row_id, owner in ((live, "other-host:41:aa"), (mine, neighbour.owner)):
        assert (row(engine, row_id).status, row(engine, row_id).lease_owner) == (OutboxStatus.SENDING, owner)
    assert {row(engine, r).status for r in (expired, crashed, waiting)} == {OutboxStatus.SENT}


def test_a_claim_takes_only_a_pending_row_and_leases_it(engine):
    row_id = push(engine, "p", 1, "p")
    with session_scope(engine) as s:
        claimed = claim_next(s, utcnow(), "me:1:x")
        assert claimed is not None and claimed.id == row_id
    with session_scope(engine) as s:
        assert claim_next(s, utcnow(), "you:2:y") is None  # already taken: never twice
    taken = row(engine, row_id)
    assert (taken.status, taken.lease_owner, taken.attempts) == (OutboxStatus.SENDING, "me:1:x", 1)
    assert taken.lease_until is not None


@pytest.mark.asyncio
async def test_old_delivered_rows_lose_their_payload_but_keep_their_key(engine):
    long_ago = utcnow() - timedelta(days=40)
    old_sent = push(engine, "old-sent", 1, "x" * 2000, not_before=long_ago, status=OutboxStatus.SENT)
    old_failed = push(engine, "old-failed", 2, "y" * 2000, not_before=long_ago, status=OutboxStatus.FAILED,
                      error="unreachable: blocked")
    recent = push(engine, "recent", 3, "recent", not_before=utcnow() - timedelta(days=1), status=OutboxStatus.SENT)
    old_pending = push(engine, "old-pending", 4, "late", not_before=long_ago, status=OutboxStatus.PENDING)

    async def deliver(channel: str, chat_id: str, payload: dict) -> str:
        return "1"

    await OutboxSender(engine, deliver, keep_for=timedelta(days=30)).drain()
    for row_id in (old_sent, old_failed):
        pruned = row(engine, row_id)
        assert pruned.payload == {} and pruned.pruned_at is not None
    assert row(engine, old_failed).error == "unreachable: blocked"  # notices' failure lists still read it
    assert row(engine, recent).payload == {"text": "recent"}
    assert row(engine, old_pending).status == OutboxStatus.SENT  # sent, not pruned
    with session_scope(engine) as s:  # the key still keeps the push from being queued again
        assert enqueue(s, [Push(key="old-sent", kind="test", person_id=None, channel="telegram",  # type: ignore[arg-type]
                                chat_id="1", payload={"text": "again"}, not_before=utcnow())]) == 0


@pytest.mark.postgres
def test_postgres_claims_a_broadcast_through_the_claim_index_without_sorting(pg_url):
    """A broadcast queues all its rows with one due time: the claim must not sort them all by id."""
    upgrade(pg_url)
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO outbox (key, kind, channel, chat_id, payload, status, attempts, not_before, created_at) "
            "SELECT 'k' || g, 'notice', 'telegram', g::text, '{}', "
            "CASE WHEN g <= 20000 THEN 'sent' ELSE 'pending' END, 0, "
            "timestamptz '2026-12-01 02:00+00', now() FROM generate_series(1, 100000) g"))
        conn.execute(text("ANALYZE outbox"))
    with session_scope(engine) as s:
        claimed = claim_next(s, utcnow(), "me:1:x")
        assert claimed is not None and claimed.chat_id == "20001"
        plan = "\n".join(r[0] for r in s.execute(text(
            "EXPLAIN SELECT id FROM outbox WHERE status = 'pending' AND not_before <= now() "
            "ORDER BY not_before, id LIMIT 1 FOR UPDATE SKIP LOCKED")).all())
    engine.dispose()
    assert "ix_outbox_claim" in plan and "Sort" not in plan, plan
