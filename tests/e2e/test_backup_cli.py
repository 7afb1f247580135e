"""`congdoan backup FILE` while the database is being written; `congdoan invite --days` bounds."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from cli_runner import congdoan

pytestmark = pytest.mark.e2e  # the real console script, one child process per command

BATCH = 10


def sqlite_file(url: str) -> Path:
    return Path(make_url(url).database)


def test_backup_is_consistent_while_another_process_writes(demo_url, tmp_path):
    source = sqlite_file(demo_url)
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE probe (batch INTEGER, n INTEGER)")
    stop = threading.Event()
    batches = []

    def write() -> None:  # whole batches of BATCH rows, each in one transaction, as the bot writes
        conn = sqlite3.connect(source, timeout=30, isolation_level=None)
        batch = 0
        while not stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO probe VALUES (?, ?)", [(batch, n) for n in range(BATCH)])
            conn.execute("COMMIT")
            batch += 1
            batches.append(batch)
        conn.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(batches) < 20:
            stop.wait(0.01)
        target = tmp_path / "backup.sqlite"
        before = len(batches)
        done = congdoan(demo_url, "backup", str(target))
        after = len(batches)
    finally:
        stop.set()
        writer.join()
    assert done.returncode == 0, done.stderr
    assert "Đã sao lưu" in done.stdout and str(target) in done.stdout
    assert after > before  # the writer went on while the copy was made
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    rows = copy.execute("SELECT count(*), count(DISTINCT batch) FROM probe").fetchone()
    assert rows[0] == rows[1] * BATCH and rows[1] >= 20  # only whole transactions
    with sqlite3.connect(source) as original:
        units = original.execute("SELECT count(*) FROM unit").fetchone()[0]
    assert copy.execute("SELECT count(*) FROM unit").fetchone()[0] == units > 0
    copy.close()
    assert not list(tmp_path.glob("*.partial"))


def test_backup_does_not_wait_for_an_open_write_nor_copy_it(demo_url, tmp_path):
    source = sqlite_file(demo_url)
    holder = sqlite3.connect(source, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # e.g. a long import holding the write lock
    holder.execute("UPDATE unit SET name = 'chưa lưu' WHERE id = 1")
    try:
        target = tmp_path / "b.sqlite"
        done = congdoan(demo_url, "backup", str(target), timeout=60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT name FROM unit WHERE id = 1").fetchone()[0] != "chưa lưu"
    again = congdoan(demo_url, "backup", str(target))
    assert again.returncode == 1 and "đã có" in again.stderr  # never overwritten silently
    assert congdoan(demo_url, "backup", str(target), "--force").returncode == 0
    same = congdoan(demo_url, "backup", str(source), "--force")
    assert same.returncode == 1 and source.stat().st_size > 0


def test_backup_of_postgresql_shows_pg_dump_without_the_password(tmp_path):
    done = congdoan("postgresql+psycopg://congdoan:s3cret@db.example:5433/congdoan", "backup", "x.dump")
    assert done.returncode == 2
    assert "pg_dump --format=custom --file=x.dump --host=db.example --port=5433 --username=congdoan congdoan" \
        in done.stdout
    assert "s3cret" not in done.stdout + done.stderr


def test_invite_days_must_be_positive_and_bounded(db_url):
    assert congdoan(db_url, "demo").returncode == 0
    for days in ("0", "-3", "100000000"):
        done = congdoan(db_url, "invite", "TD_001", "--days", days)
        assert done.returncode == 2, (days, done.stdout)
        assert "từ 1 đến 365 ngày" in done.stderr and "Traceback" not in done.stderr
    assert congdoan(db_url, "invite", "TD_001", "--days", "7").returncode == 0


def test_backup_while_the_real_bot_broadcasts(fake, tmp_path):
    from datetime import date

    from sqlmodel import Session, select

    from bot.db import make_engine, upgrade
    from bot.models import Notice
    from e2e import BotProcess, press, province_users, say, texts, wait_until
    from worlds import small_province

    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    upgrade(url)
    world = small_province(make_engine(url), opens=date(2026, 12, 1), deadline=date(2026, 12, 18),
                           submitted_units=0)
    chairs, _officers, staff = province_users(fake, world)
    bot = BotProcess(fake, url, tmp_path / "bot.log", CONGDOAN_SEND_RATE="4",
                     CONGDOAN_PROGRESS_INTERVAL="0.3").start()
    try:
        say(staff, "/thongbao")
        say(staff, "Họp ban chấp hành lúc 14:00")
        press(staff, "Tất cả Chủ tịch CĐCS")
        press(staff, "Xem trước")
        assert "xếp lịch gửi tới 20" in texts(press(staff, "Gửi"))
        wait_until(lambda: sum(len(u.messages()) for u in chairs.values()) >= 3, what="the first deliveries")
        target = tmp_path / "copy.sqlite"
        done = congdoan(url, "backup", str(target))  # while the sender is writing deliveries
        assert done.returncode == 0, done.stderr
        wait_until(lambda: all(u.messages() for u in chairs.values()), timeout=30, what="every chair")
    finally:
        bot.stop()
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Session(make_engine(f"sqlite:///{target}")) as s:
        assert s.exec(select(Notice)).one().status in ("queued", "sent")
    shown = congdoan(f"sqlite:///{target}", "outbox")  # the copy is a working database
    assert shown.returncode == 0, shown.stderr
