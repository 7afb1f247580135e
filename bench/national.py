"""National-scale benchmark of the paths of issue 15 that used to stall the bot (not a timed test).

Builds a province of N CĐCS (default 20 000; `--units 130000` for the national size), each
with a chair bound to a chat, N/200 upper unions with an officer each, and a round whose
deadline has passed (so a planner pass plans reminders and digests); 10% of the units have
reported. Then, in this process (no bot, no HTTP), it prints:

- the reminder planner: one pass that queues every reminder of a new step, and one
  steady-state pass (same step, nothing new: what runs every minute), each with its CPU
  time and tracemalloc peak;
- a notice to all chairs: the preview's count in SQL, "Gửi" (mark queuing), the time to
  the first queued chunk (the first message can go out then), the longest chunk (≈ the
  longest write transaction), the whole queueing, and its tracemalloc peak;
- what a chat pays through the router (no HTTP): a free-text question (first of the process,
  then median and p95 of 30), and /tonghop for an upper union and for the province.

    .venv/bin/python bench/national.py [--units 20000] [--db sqlite|postgres|URL] [--keep]

`--db postgres` creates a scratch database on TEST_POSTGRES_URL's server (default
postgresql+psycopg://postgres@127.0.0.1:5432/test) and drops it afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, insert, select, text  # noqa: E402

from big_world import build  # noqa: E402
from bot.clock import to_utc  # noqa: E402
from bot.db import make_engine, session_scope, upgrade  # noqa: E402
from bot.models import Level, Outbox, Person, Role, Round, Submission, Unit  # noqa: E402
from bot.services import notices  # noqa: E402
from scheduler.planner_job import plan_once  # noqa: E402

AFTER_DEADLINE = to_utc(datetime(2026, 12, 19, 9, 0))  # step +1@09:00 of the round: reminders and digests
NEXT_STEP = to_utc(datetime(2026, 12, 21, 9, 0))  # step +3@09:00: a whole new step


def log(message: str) -> None:
    print(message, flush=True)


def measured(fn, *, memory: bool = True):  # type: ignore[no-untyped-def]
    """(result, wall seconds, CPU seconds, peak MB or None)."""
    if memory:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = None
    if memory:
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return result, wall, cpu, peak


def populate(engine, units: int) -> None:  # type: ignore[no-untyped-def]
    build(engine, units, unions=max(5, units // 200))
    with session_scope(engine) as s:
        rnd = s.execute(select(Round.id)).scalar_one()
        done = s.execute(select(Unit.id).where(Unit.level == Level.GRASSROOTS).order_by(Unit.id)).scalars().all()[::10]
        s.execute(insert(Submission), [dict(round_id=rnd, unit_id=uid, reference=f"B{uid:09d}") for uid in done])
    if engine.dialect.name == "postgresql":  # statistics, as autovacuum keeps them: a fresh bulk load has none
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


def planner(engine) -> None:  # type: ignore[no-untyped-def]
    """The planner job's pass (scheduler/planner_job.plan_once: chunks of reminders, each chunk
    inserted and committed on its own)."""
    new, wall, cpu, peak = measured(lambda: plan_once(engine, AFTER_DEADLINE), memory=False)
    log(f"planner, first pass of a step:  {new:,} pushes queued in {wall:.2f} s (CPU {cpu:.2f} s)")
    again, wall, cpu, _ = measured(lambda: plan_once(engine, AFTER_DEADLINE), memory=False)
    _, _, _, peak = measured(lambda: plan_once(engine, AFTER_DEADLINE))
    log(f"planner, steady pass (nothing new): {again} queued in {wall * 1000:.0f} ms (CPU {cpu * 1000:.0f} ms), "
        f"peak {peak:.1f} MB (tracemalloc)")
    n, wall, cpu, peak = measured(lambda: plan_once(engine, NEXT_STEP))
    log(f"planner, a new step queued under tracemalloc: {n:,} pushes, {wall:.2f} s (CPU {cpu:.2f} s), "
        f"peak {peak:.1f} MB")


def notice(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        staff = s.execute(select(Person).where(Person.role == Role.STAFF)).scalars().one()
        s.expunge(staff)
        draft = notices.save_draft(s, staff, None, body="Thông báo toàn quốc", file_id=None, file_name=None,
                                   audience={"kind": "chairs"}, requires_ack=True, send_at=None,
                                   now=AFTER_DEADLINE)
        notice_id = draft.id
    (total, reachable), wall, _, _ = measured(
        lambda: _in_session(engine, lambda s: notices.count_recipients(s, staff, {"kind": "chairs"})), memory=False)
    log(f"notice to all chairs: preview count {total:,} recipients ({reachable:,} reachable) in {wall * 1000:.0f} ms")
    _, wall, _, _ = measured(lambda: _in_session(engine, lambda s: notices.start_queuing(
        s, notice_id, staff, total=total, reachable=reachable, progress_to=("telegram", "1"), now=AFTER_DEADLINE)),
        memory=False)
    log(f"  Gửi (mark queuing, queue the progress message): {wall * 1000:.0f} ms")
    chunks: list[float] = []
    locks = WriteLocks(engine)

    def fill() -> None:
        done = False
        while not done:
            t = time.perf_counter()
            done = _in_session(engine, lambda s: notices.fill_chunk(s, notice_id))
            chunks.append(time.perf_counter() - t)

    _, wall, cpu, _ = measured(fill, memory=False)
    locks.stop()
    with session_scope(engine) as s:
        rows = s.execute(select(func.count()).select_from(Outbox).where(Outbox.kind == "notice")).scalar_one()
    log(f"  background queueing: {rows:,} rows in {len(chunks) - 1} chunks, {wall:.1f} s (CPU {cpu:.1f} s); "
        f"first chunk after {chunks[0] * 1000:.0f} ms; chunk median {sorted(chunks)[len(chunks) // 2] * 1000:.0f} ms, "
        f"longest {max(chunks) * 1000:.0f} ms; longest write transaction (first write to commit) "
        f"{max(locks.held) * 1000:.0f} ms")
    with session_scope(engine) as s:  # a second notice to everyone, queued under tracemalloc for the peak
        again = notices.save_draft(s, staff, None, body="Thông báo toàn quốc (2)", file_id=None, file_name=None,
                                   audience={"kind": "chairs"}, requires_ack=True, send_at=None, now=AFTER_DEADLINE)
        notice_id = again.id
        notices.start_queuing(s, notice_id, staff, total=total, reachable=reachable, progress_to=None,
                              now=AFTER_DEADLINE)
    chunks.clear()
    _, wall, _, peak = measured(fill)
    log(f"  a second such notice queued under tracemalloc: peak {peak:.1f} MB ({wall:.1f} s)")


class WriteLocks:
    """How long each transaction held SQLite's write lock: from its first write statement to its
    commit or rollback (on PostgreSQL: how long each writing transaction lasted after its first write)."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        self.held: list[float] = [0.0]
        self._since: dict[int, float] = {}
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)

    def _statement(self, conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            self._since.setdefault(id(conn), time.perf_counter())

    def _end(self, conn) -> None:  # type: ignore[no-untyped-def]
        start = self._since.pop(id(conn), None)
        if start is not None:
            self.held.append(time.perf_counter() - start)

    def stop(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._end)
        event.remove(self.engine, "rollback", self._end)


def chat_paths(engine, url: str) -> None:  # type: ignore[no-untyped-def]
    """What a chat pays, through the router (the core the channels call; no HTTP): a free-text
    question (the first one builds the vocabulary of unit names once per process) and /tonghop
    for an upper union and for the province, which in this one-province world is the nation."""
    from bot.config import Settings
    from bot.messages import Incoming
    from bot.services.imports.indicators import import_indicators
    from handlers import router

    with session_scope(engine) as s:
        import_indicators(s, ROOT / "examples" / "indicators.csv")
        staff_id = s.execute(select(Person.id).where(Person.role == Role.STAFF)).scalar_one()
        units = s.execute(select(func.count()).select_from(Unit).where(Unit.level == Level.GRASSROOTS)).scalar_one()
        union_units = s.execute(select(func.count()).select_from(Unit).join(Person, Person.unit_id == Unit.id)
                                .where(Unit.parent_id == select(Unit.id).where(Unit.code == "U0")
                                       .scalar_subquery())).scalar_one()
        chair_id = s.execute(select(Person.id).join(Unit, Unit.id == Person.unit_id)
                             .where(Unit.code == "G001234", Person.role == Role.CHAIR)).scalar_one()
    settings = Settings(database_url=url, bot_username="national_bench_bot")

    def say(text: str, person_id: int = staff_id) -> str:
        chat = str(7_000_000 + person_id)  # big_world binds everyone to telegram chat 7 000 000 + person id
        response = router.handle(engine, settings, Incoming(channel="telegram", user_id=chat, chat_id=chat,
                                                            text=text, language_code="vi"), now=AFTER_DEADLINE)
        return " / ".join(r.text.split("\n")[0] for r in response.replies)[:90]

    asked = {
        "a chair (their own CĐCS)": (chair_id, ["số đoàn viên", "kết nạp đoàn viên năm nay", "đã báo cáo chưa",
                                                 "tổng số đoàn viên nữ", "quỹ xã hội còn thiếu bao nhiêu"]),
        "the provincial staff": (staff_id, ["số đoàn viên của CĐCS số 1234", "kết nạp đoàn viên năm nay",
                                            "CĐCS số 99 đã báo cáo chưa", "tổng số đoàn viên nữ",
                                            "quỹ xã hội còn thiếu bao nhiêu"]),
    }
    for who, (person_id, questions) in asked.items():
        first, wall, cpu, _ = measured(lambda: say(questions[0], person_id), memory=False)
        log(f"question by {who}, first of the process: {wall * 1000:.0f} ms (CPU {cpu * 1000:.0f} ms) — {first!r}")
        times, cpus = [], []
        for n in range(30):
            t, c = time.perf_counter(), time.process_time()
            say(questions[n % len(questions)], person_id)
            times.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        times.sort()
        cpus.sort()
        log(f"question by {who} as the bot pays it (router, 30 questions): median {times[15] * 1000:.1f} ms, "
            f"p95 {times[28] * 1000:.1f} ms (CPU median {cpus[15] * 1000:.1f} ms, p95 {cpus[28] * 1000:.1f} ms)")
    for label, args in ((f"an upper union ({union_units:,} CĐCS)", "R1 U0"), (f"the province = nation ({units:,} CĐCS)", "R1 P")):
        say(f"/tonghop {args}")  # warm
        answer, wall, cpu, _ = measured(lambda: say(f"/tonghop {args}"), memory=False)
        log(f"/tonghop for {label}: {wall * 1000:.0f} ms (CPU {cpu * 1000:.0f} ms) — {answer!r}")


def _in_session(engine, fn):  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return fn(s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=20_000)
    parser.add_argument("--db", default="sqlite", help="sqlite (a temporary file), postgres (a scratch database), "
                                                       "or a database URL")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    parser.add_argument("--parts", default="planner,notice,chat",
                        help="what to measure, comma-separated: planner, notice, chat (default: all)")
    args = parser.parse_args()
    path = scratch = admin = None
    if args.db == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="national_bench_")) / "national.sqlite"
        url = f"sqlite:///{path}"
    elif args.db == "postgres":
        base = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        scratch = f"national_bench_{os.getpid()}"
        admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        url = base.rsplit("/", 1)[0] + f"/{scratch}"
    else:
        url = args.db
    try:
        upgrade(url)
        engine = make_engine(url)
        t = time.perf_counter()
        populate(engine, args.units)
        log(f"database {engine.dialect.name}: {args.units:,} CĐCS with chairs built in {time.perf_counter() - t:.1f} s")
        parts = args.parts.split(",")
        if "planner" in parts:
            planner(engine)
        if "notice" in parts:
            notice(engine)
        if "chat" in parts:
            chat_paths(engine, url)
        engine.dispose()
    finally:
        if scratch and admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        if path and not args.keep:
            for f in path.parent.iterdir():
                f.unlink()
            path.parent.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
