"""Benchmark of a notice broadcast (issue #6), not a timed test.

A province of N registered CĐCS chairs (default 2.000: 20 upper-level unions × 100) and
one staff member. The real bot process (`python -m bot.cli run`, as tests/e2e.BotProcess
starts it) runs against the Bot API stand-in (tests/standin), which admits 30 send
requests per second (a sliding window) and answers 429 with retry_after above it. The
bot paces itself just under the limit (CONGDOAN_SEND_RATE; the bench uses the shipped
default unless --rate is given).

The staff member composes the notice in the chat (/thongbao, text, "all CĐCS chairs",
preview, "Gửi"); the clock runs from the "Gửi" press until every chair holds the notice
(and the final report has reached the staff member). Printed: total time, the ideal time
(recipients ÷ the stand-in's limit) and the ratio, 429s received, duplicates and losses.

    .venv/bin/python bench/notice_broadcast.py [--chairs 2000] [--limit 30] [--rate R]

Exit status: 1 on any duplicate or loss, 2 when the time exceeds --max-ratio × ideal
(default 1.15), 0 otherwise.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "support")]

from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session, func, select  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.db import make_engine, session_scope, upgrade  # noqa: E402
from bot.models import ChatIdentity, Outbox, Person, Role, Unit  # noqa: E402
from e2e import BotProcess, press, say, texts  # noqa: E402
from standin import FakeTelegram  # noqa: E402

CHAIR_BASE = 900_000
STAFF_ID = 899_999
PER_UNION = 100
TOKEN = "123456:BENCH-NOTICE"


def build_province(url: str, chairs: int) -> list[int]:
    """Province → unions → CĐCS, one registered chair each; returns the chairs' chat ids."""
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        province = Unit(code="P", name="LĐLĐ tỉnh Thử", level="province")
        s.add(province)
        s.flush()
        unions = []
        for n in range((chairs + PER_UNION - 1) // PER_UNION):
            union = Unit(code=f"U{n + 1:03d}", name=f"LĐLĐ huyện {n + 1:03d}", level="upper", parent_id=province.id)
            s.add(union)
            unions.append(union)
        s.flush()
        s.execute(insert(Unit), [
            dict(code=f"G{n + 1:05d}", name=f"CĐCS số {n + 1:05d}", level="grassroots", sector="hcsn",
                 parent_id=unions[n // PER_UNION].id, type_label="", active=True, contact="")
            for n in range(chairs)])
        unit_ids = dict(s.execute(select(Unit.code, Unit.id)).all())
        s.execute(insert(Person), [dict(full_name=f"Chủ tịch {n + 1:05d}", unit_id=unit_ids[f"G{n + 1:05d}"],
                                        role=Role.CHAIR, active=True) for n in range(chairs)])
        staff = Person(full_name="Cán bộ tỉnh", unit_id=province.id, role=Role.STAFF)
        s.add(staff)
        s.flush()
        people = dict(s.execute(select(Person.full_name, Person.id).where(Person.role == Role.CHAIR)).all())
        s.execute(insert(ChatIdentity), [
            dict(person_id=people[f"Chủ tịch {n + 1:05d}"], channel="telegram", external_id=str(CHAIR_BASE + n),
                 chat_id=str(CHAIR_BASE + n), reachable=True) for n in range(chairs)])
        s.add(ChatIdentity(person_id=staff.id, channel="telegram", external_id=str(STAFF_ID), chat_id=str(STAFF_ID)))
    engine.dispose()
    return [CHAIR_BASE + n for n in range(chairs)]


def report_arrived(staff) -> bool:  # type: ignore[no-untyped-def]
    return any("Kết quả gửi thông báo" in (m.text or "") for m in staff.messages())


def last_arrival(fake: FakeTelegram, chat_ids: list[int]) -> float | None:
    """When the last chair got its first message (the stand-in stamps every event)."""
    with fake._cond:
        firsts = [next((e.at for e in fake._chats[c].events if e.kind == "sent"), None) for c in chat_ids]
    return None if None in firsts else max(firsts)  # type: ignore[type-var]


def first_arrival(fake: FakeTelegram, chat_id: int, fragment: str) -> float | None:
    with fake._cond:
        return next((e.at for e in fake._chats[chat_id].events
                     if e.kind == "sent" and fragment in (e.message.text or "")), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chairs", type=int, default=2000)
    parser.add_argument("--limit", type=float, default=30.0, help="the stand-in's send limit per second")
    parser.add_argument("--rate", type=float, default=None,
                        help="the bot's pacing (CONGDOAN_SEND_RATE); default: the bot's own default")
    parser.add_argument("--max-ratio", type=float, default=1.15)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, bot log)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="notice-bench-"))
    url = f"sqlite:///{folder / 'bench.sqlite'}"
    print(f"machine: {platform.machine()} · {platform.python_implementation()} {platform.python_version()} · "
          f"{platform.system()} {platform.release()}")
    started = time.monotonic()
    chat_ids = build_province(url, args.chairs)
    print(f"province: {args.chairs} chairs under {len(chat_ids) // PER_UNION or 1} unions "
          f"(built in {time.monotonic() - started:.1f}s)")

    status = 0
    with FakeTelegram(token=TOKEN) as fake:
        chairs = [fake.user(cid, started=True) for cid in chat_ids]
        staff = fake.user(STAFF_ID, first_name="Staff", started=True)
        pacing = {} if args.rate is None else {"CONGDOAN_SEND_RATE": str(args.rate)}
        bot = BotProcess(fake, url, folder / "bot.log", CONGDOAN_PLANNER_INTERVAL="0", CONGDOAN_PROGRESS_INTERVAL="3",
                         **pacing).start()
        try:
            say(staff, "/thongbao")
            say(staff, "Kính gửi các CĐCS: đề nghị hoàn thành thu Quỹ Xã hội Công đoàn trước ngày 20/12.")
            press(staff, "Tất cả Chủ tịch CĐCS")
            preview = texts(press(staff, "Xem trước"))
            assert f"Số người nhận: {args.chairs}" in preview, preview
            fake.set_rate_limit(args.limit)  # the limit applies from here; the conversation above is not timed
            requests_before = len(fake.requests)
            t0 = time.monotonic()
            press(staff, "Gửi")
            # poll rarely: the stand-in serves the bot from this process, so a busy loop here would slow it
            deadline = t0 + args.chairs / args.limit * 3 + 60
            while time.monotonic() < deadline and not report_arrived(staff):
                time.sleep(1.0)
            fake.wait_idle(timeout=30, quiet=0.5)
            t_all = last_arrival(fake, chat_ids)
            t_report = first_arrival(fake, STAFF_ID, "Kết quả gửi thông báo") or time.monotonic()
            counts = [len(u.messages()) for u in chairs]
            duplicates = sum(n - 1 for n in counts if n > 1)
            losses = sum(1 for n in counts if n == 0)
            edits = sum(1 for c in fake.requests[requests_before:] if c.method == "editMessageText")
            with Session(make_engine(url)) as s:
                left = s.exec(select(func.count()).select_from(Outbox)
                              .where(Outbox.status.in_(["pending", "sending"]))).one()
            total = (t_all or t_report) - t0
            ideal = args.chairs / args.limit
            ratio = total / ideal
            rate = args.rate if args.rate is not None else Settings().send_rate_per_second
            print(f"recipients: {args.chairs} · stand-in limit {args.limit:g}/s · bot pacing {rate:g}/s"
                  f"{'' if args.rate is not None else ' (the default)'}")
            print(f"total time (Gửi → every chair has it): {total:.2f}s")
            print(f"ideal (recipients ÷ limit): {ideal:.2f}s · ratio {ratio:.3f} ({ratio * 100:.1f}% of ideal)")
            print(f"final report after: {t_report - t0:.2f}s · progress edits: {edits}")
            with fake._cond:
                firsts = sorted(next(e.at for e in fake._chats[c].events if e.kind == "sent")
                                for c in chat_ids if fake._chats[c].events)
            if firsts:
                paced = firsts[-1] - firsts[0]
                print(f"first chair after {firsts[0] - t0:.2f}s (queueing in the chat update); first → last chair: "
                      f"{paced:.2f}s ({paced / ((args.chairs - 1) / args.limit) * 100:.1f}% of its ideal)")
            print(f"429 received: {fake.count_429}")
            print(f"duplicates: {duplicates} · losses: {losses} · outbox rows left: {left}")
            violations = [v for v in fake.violations]
            if violations:
                print("stand-in violations:\n  " + "\n  ".join(violations[:10]))
            if duplicates or losses:
                status = 1
            elif ratio > args.max_ratio:
                print(f"slower than {args.max_ratio:.0%} of ideal")
                status = 2
        finally:
            bot.stop()
    if args.keep:
        print(f"kept: {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
