"""The `congdoan` console script end to end, run as an operator would (a child process per command)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.db import make_engine
from bot.models import Invite, Submission, Unit, UnitEvent
from cli_runner import CONGDOAN, congdoan  # noqa: F401

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parents[1] / "data"
ROOT = Path(__file__).resolve().parents[2]


def sheet_rows(ws) -> list[dict]:  # type: ignore[no-untyped-def]
    """The rows of a workbook sheet under its header (row 2) as dicts."""
    header = [c.value for c in ws[2]]
    return [dict(zip(header, r)) for r in ws.iter_rows(min_row=3, values_only=True) if any(v is not None for v in r)]


def count(db_url: str, table) -> int:  # type: ignore[no-untyped-def]
    with Session(make_engine(db_url)) as s:
        return s.exec(select(func.count()).select_from(table)).one()


def test_help_lists_every_command(db_url):
    out = congdoan(db_url, "--help").stdout
    for command in ("run", "chat", "demo", "import", "invite", "round", "migrate"):
        assert command in out
    assert "--role" in congdoan(db_url, "invite", "--help").stdout


def test_argparse_speaks_vietnamese(db_url):
    """Under vi (the default) argparse's own words are translated too: usage, options, help, errors."""
    for args in (["--help"], ["invite", "--help"], ["import", "--help"]):
        out = congdoan(db_url, *args).stdout
        assert out.startswith("Cách dùng: congdoan"), out
        assert "tùy chọn:" in out and "hiện hướng dẫn này rồi thoát" in out
        for english in ("usage:", "options:", "show this help message", "positional arguments"):
            assert english not in out, (args, english)
    bad = congdoan(db_url, "import", "bogus", "x.csv")
    assert bad.returncode == 2
    assert "congdoan import: lỗi: tham số kind: lựa chọn không hợp lệ: 'bogus'" in bad.stderr
    assert "còn thiếu tham số bắt buộc: file" in congdoan(db_url, "import", "units").stderr


def test_units_import_is_all_or_nothing_and_idempotent(db_url):
    bad = congdoan(db_url, "import", "units", str(DATA / "units_bad.csv"))
    assert bad.returncode == 1
    assert "dòng 6" in bad.stderr and "LDLD_TX" in bad.stderr
    assert count(db_url, Unit) == 0

    good = congdoan(db_url, "import", "units", str(DATA / "units_ok.csv"))
    assert good.returncode == 0, good.stderr
    rows = sum(1 for _ in csv.DictReader((DATA / "units_ok.csv").open(encoding="utf-8-sig")))
    assert count(db_url, Unit) == rows
    assert f"{rows} mới" in good.stdout

    events = count(db_url, UnitEvent)
    again = congdoan(db_url, "import", "units", str(DATA / "units_ok.csv"))
    assert again.returncode == 0
    assert f"0 mới, 0 cập nhật, {rows} không đổi" in again.stdout
    assert count(db_url, Unit) == rows and count(db_url, UnitEvent) == events


def test_demo_twice_then_invites(db_url, tmp_path):
    first = congdoan(db_url, "demo")
    assert first.returncode == 0, first.stderr
    units = count(db_url, Unit)
    assert f"Tỉnh mẫu: {units} đơn vị (8 công đoàn cấp trên, " in first.stdout
    assert "Lần chạy này: " in first.stdout and "mới" in first.stdout
    assert "DemoSummary" not in first.stdout and "reports=" not in first.stdout  # no Python object dump
    second = congdoan(db_url, "demo")
    assert second.returncode == 0
    assert "Không có gì thay đổi: dữ liệu mẫu đã có sẵn." in second.stdout
    assert count(db_url, Unit) == units

    one = congdoan(db_url, "invite", "TD_001")
    assert one.returncode == 0, one.stderr
    assert "(Chủ tịch CĐCS)" in one.stdout and "(chair)" not in one.stdout  # the role in words
    code = one.stdout.strip().splitlines()[-2]
    assert f"https://t.me/congdoan_bot?start={code}" in one.stdout

    assert congdoan(db_url, "invite", "CDX_TD").returncode == 1  # a chair invite needs a CĐCS
    assert congdoan(db_url, "invite", "CDX_TD", "--role", "officer").returncode == 0
    assert congdoan(db_url, "invite", "NOPE").returncode == 1

    out = tmp_path / "invites.csv"
    every = congdoan(db_url, "invite", "--all", "--out", str(out))
    assert every.returncode == 0, every.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    with Session(make_engine(db_url)) as s:
        active = s.exec(select(func.count()).select_from(Unit).where(Unit.level == "grassroots", Unit.active == True)).one()  # noqa: E712
        codes = {i.code for i in s.exec(select(Invite)).all()}
    assert len(rows) == active
    assert set(rows[0]) == {"unit_code", "unit_name", "role", "code", "link"}
    assert all(r["code"] in codes and r["link"].endswith(r["code"]) for r in rows)
    assert len({r["code"] for r in rows}) == len(rows)

    # run again: the same codes (no second valid code per unit); --new replaces them and ends the old ones
    again = congdoan(db_url, "invite", "--all", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert f"{active} mã trong số đó đã cấp từ trước và vẫn còn hạn" in again.stdout
    assert [r["code"] for r in csv.DictReader(out.open(encoding="utf-8-sig"))] == [r["code"] for r in rows]
    assert count(db_url, Invite) == len(codes)
    fresh = congdoan(db_url, "invite", "--all", "--new", "--out", str(out))
    assert fresh.returncode == 0, fresh.stderr
    new_rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert not {r["code"] for r in new_rows} & {r["code"] for r in rows}
    with Session(make_engine(db_url)) as s:
        from bot.clock import utcnow
        valid = s.exec(select(Invite).where(Invite.used_at == None, Invite.expires_at > utcnow(),  # noqa: E711
                                            Invite.role == "chair")).all()
    assert sorted(i.code for i in valid) == sorted(r["code"] for r in new_rows)  # one valid code per CĐCS


def test_plan_reminders_at_a_future_time_refuses_unless_asked(db_url):
    from datetime import timedelta

    from bot.clock import to_local, utcnow
    from bot.models import Outbox

    congdoan(db_url, "demo")
    future = (to_local(utcnow()) + timedelta(days=20)).strftime("%d/%m/%Y 09:00")
    refused = congdoan(db_url, "plan-reminders", "--at", future)
    assert refused.returncode == 2
    assert "là thời điểm trong tương lai: chưa xếp tin nào" in refused.stderr and "--send-now" in refused.stderr
    assert count(db_url, Outbox) == 0
    dry = congdoan(db_url, "plan-reminders", "--at", future, "--dry-run")
    assert dry.returncode == 0 and "Chạy thử: chưa xếp tin nào vào hàng gửi." in dry.stdout, dry.stdout
    assert count(db_url, Outbox) == 0
    sent = congdoan(db_url, "plan-reminders", "--at", future, "--send-now")
    assert sent.returncode == 0, sent.stderr
    assert "được gửi ngay, không đợi đến" in sent.stdout


def test_round_lock(db_url):
    congdoan(db_url, "demo")
    result = congdoan(db_url, "round", "lock", "2026-Q1")
    assert result.returncode == 0 and "2026-Q1" in result.stdout
    assert congdoan(db_url, "round", "lock", "NOPE").returncode == 1


def test_round_review_setting_and_the_approved_only_workbook(db_url, tmp_path):
    from bot.models import Round

    congdoan(db_url, "demo")
    shown = congdoan(db_url, "round", "review", "2026-Q3")
    assert shown.returncode == 0 and "không yêu cầu" in shown.stdout
    changed = congdoan(db_url, "round", "review", "2026-Q3", "--on", "--approval-notice", "off")
    assert changed.returncode == 0 and "có yêu cầu" in changed.stdout
    with Session(make_engine(db_url)) as s:
        rnd = s.exec(select(Round).where(Round.code == "2026-Q3")).one()
        assert rnd.requires_review is True and rnd.approval_notice is False
        states = set(s.exec(select(Submission.review).where(Submission.round_id == rnd.id)).all())
        assert states == {"waiting"}  # the reports already in wait for review
    out = tmp_path / "q3.xlsx"
    assert congdoan(db_url, "export", "2026-Q3", "--approved-only", "--out", str(out)).returncode == 0
    import openpyxl
    notes = [r[0] for r in openpyxl.load_workbook(out)["Tổng hợp"].iter_rows(values_only=True) if r and r[0]]
    assert any("chỉ tính báo cáo đã duyệt (0/" in str(n) for n in notes)
    assert congdoan(db_url, "round", "review", "NOPE", "--on").returncode == 1


def test_run_with_no_token_and_the_playground_off_says_what_to_do(db_url):
    env = dict(os.environ, DATABASE_URL=db_url, CONGDOAN_PLAYGROUND="0")
    for name in ("TELEGRAM_BOT_TOKEN", "ZALO_BOT_TOKEN"):
        env.pop(name, None)
    result = subprocess.run([CONGDOAN, "run"], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2 and "congdoan chat" in result.stderr


def test_chat_starts_console_chat_on_demo_data(db_url):
    result = congdoan(db_url, "chat", stdin="/baocao\n/thoat\n")
    assert result.returncode == 0, result.stderr
    assert "Chủ tịch CĐCS" in result.stdout
    assert "Các đợt báo cáo của" in result.stdout
    assert "  1. " in result.stdout  # choices are listed by number
    assert count(db_url, Unit) > 300
    assert "INFO" not in result.stderr and "audit" not in result.stderr  # no log lines in the chat


def test_alembic_upgrade_head_on_empty_and_demo_databases(db_url):
    env = dict(os.environ, DATABASE_URL=db_url)
    alembic = str(Path(sys.executable).parent / "alembic")
    empty = subprocess.run([alembic, "upgrade", "head"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert empty.returncode == 0, empty.stderr
    assert congdoan(db_url, "demo").returncode == 0
    again = subprocess.run([alembic, "upgrade", "head"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    current = subprocess.run([alembic, "current"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert "(head)" in current.stdout


def test_congdoan_export_writes_the_demo_workbook(demo_url, tmp_path):
    out = tmp_path / "q3.xlsx"
    result = congdoan(demo_url, "export", "2026-Q3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    wb = openpyxl.load_workbook(out)
    done = sheet_rows(wb["Tình hình nộp"])
    # the province's children: 8 upper-level unions and the 31 CĐCS directly under it, then the total
    assert len(done) == 8 + 31 + 1 and done[-1]["Đơn vị phải báo cáo"] == 286
    assert sum(r["Đơn vị phải báo cáo"] for r in done[:-1]) == 286
    assert len(sheet_rows(wb["Danh sách đơn vị"])) == 286
