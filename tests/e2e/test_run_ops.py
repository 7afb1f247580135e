"""Operating `congdoan run`: a bad token, a token in the logs, a Bot API that is not up yet,
two bots on one database (the real process against the Bot API stand-in)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from bot.db import make_engine
from e2e import ROOT, BotProcess, say, wait_until
from standin import FakeTelegram
from worlds import bind

pytestmark = pytest.mark.e2e

REAL_LOOKING = "7012345678:AAH3xYq-Z_realistic-secret-0123456789ab"


def run_cli(process: BotProcess, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    environment = process.env()
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def test_a_bad_token_ends_run_with_one_vietnamese_line_and_code_2(fake, demo_db, tmp_path):
    process = BotProcess(fake, demo_db, tmp_path / "bot.log")
    result = run_cli(process, "run", TELEGRAM_BOT_TOKEN=REAL_LOOKING)  # the stand-in knows another token
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and REAL_LOOKING not in output and "AAH3xYq" not in output
    assert result.stderr.strip().splitlines()[-1] == (
        "Telegram từ chối mã bot (TELEGRAM_BOT_TOKEN): hãy kiểm tra lại mã với @BotFather.")


def test_no_log_line_carries_the_token_even_verbose(demo_db, tmp_path):
    with FakeTelegram(token=REAL_LOOKING) as fake:
        bind(make_engine(demo_db), "TD_001", 7201)
        process = BotProcess(fake, demo_db, tmp_path / "bot.log", CONGDOAN_LOG_LEVEL="DEBUG")
        process.start()
        chair = fake.user(7201)
        say(chair, "/help")
        fake.fail_next("sendMessage", 502, "Bad Gateway", times=2)  # network trouble is logged
        fake.inject_update({"message": {"message_id": 9, "date": 0, "chat": {"id": 7201, "type": "private"}}})
        say(chair, "/menu")
        process.stop()
    log = process.log()
    assert "DEBUG" in log and "getUpdates" in log  # verbose indeed
    assert REAL_LOOKING not in log and REAL_LOOKING.split(":")[1] not in log


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_bot_api_at_start_is_retried(demo_db, tmp_path):
    bind(make_engine(demo_db), "TD_001", 7202)
    fake = FakeTelegram(autostart=False, port=free_port())
    process = BotProcess(fake, demo_db, tmp_path / "bot.log")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=process.env(),
                            stdout=(tmp_path / "bot.log").open("ab"), stderr=subprocess.STDOUT)
    process.proc = proc
    try:
        # the Bot API is down while the bot starts: it says so and keeps trying (however slow the machine)
        wait_until(lambda: "not reachable" in process.log() or proc.poll() is not None, timeout=60,
                   what="the bot to report the Bot API unreachable")
        assert proc.poll() is None, process.log()
        fake.start()
        wait_until(lambda: fake.calls("getUpdates"), timeout=90, what="the bot to reach the Bot API")
        assert say(fake.user(7202), "/help")
        assert "not reachable" in process.log() and "Traceback" not in process.log()
    finally:
        process.stop()
        fake.stop()


def test_a_second_run_on_the_same_database_refuses_to_start(fake, bot, demo_db):
    bind(make_engine(demo_db), "TD_001", 7203)
    try:
        result = run_cli(bot, "run", timeout=40)
    except subprocess.TimeoutExpired:
        pytest.fail("the second `congdoan run` kept running beside the first")
    assert result.returncode == 2
    assert "đang dùng cơ sở dữ liệu" in result.stderr and "Traceback" not in result.stderr
    assert say(fake.user(7203), "/help")  # the first one goes on undisturbed
    fake.assert_clean()
