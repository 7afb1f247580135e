"""README's "Bắt đầu cho một tỉnh thật", exactly: its commands on an empty database with the files of
examples/ only, then a chair redeems an invite from invites.csv and completes the open round through
the Telegram stand-in (the real `congdoan run` process)."""

from __future__ import annotations

import csv
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.db import make_engine
from bot.models import Indicator, Round, Submission, Unit
from cli_runner import CONGDOAN
from e2e import BotProcess, press, say, texts
from worlds import submitted

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Bắt đầu cho một tỉnh thật"


def readme_steps() -> tuple[dict[str, str], list[list[str]]]:
    """The environment and the `congdoan` commands of README's section, in order."""
    text = (ROOT / "README.md").read_text("utf-8")
    body = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    block = [line.strip() for line in body.splitlines() if line.startswith("    ") and line.strip()]
    env: dict[str, str] = {}
    commands: list[list[str]] = []
    for line in block:
        if line.startswith("export "):
            name, _sep, value = line.removeprefix("export ").partition("=")
            env[name] = value
        else:
            commands.append(shlex.split(line))
    return env, commands


def test_readme_real_province_steps_from_an_empty_database(fake, tmp_path):
    env, commands = readme_steps()
    assert commands[-1] == ["congdoan", "run"]
    assert [c[:3] for c in commands[:4]] == [["congdoan", "import", k] for k in
                                             ("indicators", "units", "targets", "rounds")]
    # a checkout of the example files only: nothing else is in the working directory
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    run_env = dict(os.environ, **env)
    run_env.pop("TELEGRAM_BOT_TOKEN", None)
    db_url = env["DATABASE_URL"]
    assert db_url.startswith("sqlite:///") and not Path(db_url.removeprefix("sqlite:///")).is_absolute()
    outputs = []
    for command in commands[:-1]:
        assert command[0] == "congdoan"
        done = subprocess.run([CONGDOAN, *command[1:]], cwd=tmp_path, env=run_env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done.stdout)

    url = f"sqlite:///{tmp_path / db_url.removeprefix('sqlite:///')}"
    engine = make_engine(url)
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Indicator)).one() >= 19
        assert s.exec(select(func.count()).select_from(Unit)).one() == 5
        assert {r.code for r in s.exec(select(Round))} == {"2026-Q4", "2026-NAM"}
    staff_code = outputs[-1].split()  # the staff invite printed its code on a line of its own
    assert any(re.fullmatch(r"[A-Z0-9-]{6,}", w) for w in staff_code), outputs[-1]
    with (tmp_path / "invites.csv").open(encoding="utf-8-sig") as f:
        invites = {row["unit_code"]: row for row in csv.DictReader(f)}
    assert set(invites) == {"TD_901", "TD_902", "TD_903"}

    process = BotProcess(fake, url, tmp_path / "bot.log").start()
    try:
        chair = fake.user(8801, first_name="Hoa")
        welcome = texts(say(chair, f"/start {invites['TD_901']['code']}"))
        assert "Xác nhận thành công" in welcome and "Trường Tiểu học Bản Giang" in welcome
        say(chair, "/baocao")
        replies = press(chair, "Báo cáo số liệu quý IV/2026")
        assert "mục 1/8" in texts(replies)
        for typed in ("34", "20", "40", "2", "38", "1.200.000", "3.500.000", "87,5%"):
            replies = say(chair, typed)
        assert "Tóm tắt" in texts(replies)
        receipt = texts(press(chair, "Gửi"))
        assert "Đã nhận báo cáo" in receipt
    finally:
        process.stop()
    values = submitted(engine, "2026-Q4", "TD_901")
    assert values == {"DV_TONG": 34, "DV_NU": 20, "LD_TONG": 40, "DV_MOI": 2, "TT_CHINHSACH": 38,
                      "DP_THU": 1_200_000, "KPCD_THU": 3_500_000, "TL_SINHHOAT": 87.5}
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Submission)).one() == 1
    fake.assert_clean()
