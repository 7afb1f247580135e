"""End-to-end harness: the real `congdoan run` process against the Bot API stand-in.

The bot runs as a child process (so tests can SIGKILL it) with its Telegram base URL
pointed at the stand-in; tests play users through tests/standin and read what arrived.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from standin import FakeTelegram, FakeUser
from standin.server import FakeMessage

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nobody listens on now (for the bot's HTTP server)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BotProcess:
    """`python -m bot.cli run` with a token, pointed at the stand-in (and at the Zalo one, if given)."""

    def __init__(self, fake: FakeTelegram, db_url: str, log_path: Path, zalo=None, **env: str) -> None:  # type: ignore[no-untyped-def]
        self.fake = fake
        self.zalo = zalo
        self.db_url = db_url
        self.log_path = log_path
        self.extra_env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            TELEGRAM_BOT_TOKEN=self.fake.token,
            TELEGRAM_API_BASE_URL=self.fake.base_url,
            TELEGRAM_FILE_BASE_URL=self.fake.file_base_url,
            TELEGRAM_BOT_USERNAME=self.fake.bot_username,
            DATABASE_URL=self.db_url,
            CONGDOAN_POLL_TIMEOUT="2",
            PYTHONUNBUFFERED="1",
            CONGDOAN_PLANNER_INTERVAL="0",  # tests travel in time with `congdoan plan-reminders --at`
            CONGDOAN_DATA_DIR=str(self.log_path.parent / "data"),  # files the bot keeps, per test
        )
        if self.zalo is not None:
            env.update(ZALO_BOT_TOKEN=self.zalo.token, ZALO_API_BASE_URL=self.zalo.base_url)
        env.update(self.extra_env)
        return env

    def _counts(self) -> tuple[int, int]:
        telegram = len(self.fake.calls("getUpdates")) + len(self.fake.calls("setWebhook"))
        zalo = len(self.zalo.calls("getUpdates")) + len(self.zalo.calls("setWebhook")) if self.zalo else 0
        return telegram, zalo

    def _ready(self, before: tuple[int, int]) -> bool:
        """Each channel has polled (or set its webhook) since the start."""
        telegram, zalo = self._counts()
        return telegram > before[0] and (self.zalo is None or zalo > before[1])

    def start(self, timeout: float = 30.0, *, follower: bool = False) -> "BotProcess":
        """Start and wait until it polls; a `follower` (a second process on one PostgreSQL database,
        which does not poll while another leads) until it says it runs."""
        before = self._counts()
        logged = len(self.log())
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT,
                                     env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not (("running:" in self.log()[logged:]) if follower else self._ready(before)):
            if self.proc.poll() is not None:
                raise AssertionError(f"bot exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"bot did not start polling:\n{self.log()}")
            time.sleep(0.05)
        return self

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or a power cut."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def find_button(message: FakeMessage, label: str) -> str | None:
    """Callback data of the button showing `label` (numbered buttons read '3. label')."""
    for row in (message.reply_markup or {}).get("inline_keyboard", []):
        for button in row:
            text = button.get("text", "")
            if text == label or re.fullmatch(rf"\d+\. {re.escape(label)}", text):
                return button.get("callback_data")
    return None


def press(user: FakeUser, label: str) -> list[FakeMessage]:
    """Press the button `label` in the newest message that has it; return the replies."""
    for message in reversed(user.messages()):
        data = find_button(message, label)
        if data is not None:
            query_id = user.press(data=data, message_id=message.message_id)
            replies = user.wait_replies()
            user.wait_answer(query_id)
            return replies
    raise AssertionError(f"no button {label!r}; last buttons: {user.buttons()}")


def press_forged(user: FakeUser, datas: list[str], message_id: int | None = None, timeout: float = 60.0) -> None:
    """Send callback queries with forged data and wait until the bot has answered every one
    (a busy machine may take longer than a quiet moment on the stand-in suggests)."""
    queries = [user.press_raw(data, message_id=message_id) for data in datas]
    for query in queries:
        user.wait_answer(query, timeout=timeout)


def say(user: FakeUser, text: str) -> list[FakeMessage]:
    """Send text and return the bot's replies (waits for them)."""
    user.send(text)
    return user.wait_replies()


def texts(messages: list[FakeMessage]) -> str:
    return "\n".join(m.text or m.caption or "" for m in messages)


def province_users(fake: FakeTelegram, world: dict) -> tuple[dict[str, FakeUser], dict[str, FakeUser], FakeUser]:
    """Chairs by unit code, officers by union code, and the staff member of a worlds.small_province."""
    chairs = {code: fake.user(uid, started=True) for code, uid in world["chairs"].items()}
    officers = {code: fake.user(uid, started=True) for code, uid in world["officers"].items()}
    return chairs, officers, fake.user(world["staff"], started=True)


def wait_until(predicate, timeout: float = 20.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    """Poll a condition (every 50 ms) until it holds, or fail naming what was awaited."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
