"""Load benchmark of the reporting conversation (issue #3), not a timed test.

N simulated chairs (default 200), each bound to its own CĐCS, complete the test round
at the same time through the Bot API stand-in (tests/standin) against the real bot
process (`python -m bot.cli run`, as tests/e2e.BotProcess starts it):

    /baocao TEST-Q4, ten typed answers, then the "Gửi" button   (12 updates per chair)

Every chair acts again as soon as the bot's reply to its last action has arrived (a
closed loop, no think time). The latency of one action runs from the moment the update
is handed to the stand-in to the moment the bot's reply message reaches the stand-in.
Afterwards the database must hold exactly N submissions with the typed values.

The same N users then drive a bare python-telegram-bot echo bot (a child process of this
script, one MessageHandler and one CallbackQueryHandler, against a second stand-in) with
the same 12 actions each, as a baseline for what PTB and the stand-in cost by themselves.

    .venv/bin/python bench/report_load.py [--chairs 200] [--db sqlite|URL]

Only the machine's figures are printed; the exit status is non-zero only when a
submission is lost, duplicated or wrong, or when something crashed.
"""

from __future__ import annotations

import argparse
import html
import math
import os
import platform
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"

ECHO_FLAG = "--run-echo-bot"  # internal: this script re-runs itself as the echo bot

# (typed, indicator, value stored) in the order of tests/worlds.TEST_INDICATORS;
# the same notations as tests/test_e2e_report.py. DV_MOI is made distinct per chair (below)
# so that a value landing in another unit's submission is caught.
ANSWERS: list[tuple[str, str, float]] = [
    ("1.234", "DV_TONG", 1234), ("1 200", "DV_NU", 1200), ("1500", "LD_TONG", 1500),
    ("12", "DV_MOI", 12), ("1.450 người", "TT_CHINHSACH", 1450),
    ("1.500.000đ", "QXH_THU", 1_500_000), ("1,2 tỷ", "KPCD_THU", 1_200_000_000),
    ("500k", "DP_THU", 500_000), ("có", "QCDC", 1), ("87,5%", "TL_SINHHOAT", 87.5),
]
ROUND_CODE = "TEST-Q4"
WARMUP_ROUND = "WARMUP-Q4"  # reported once, untimed, by a second person of the first unit
USER_ID_BASE = 810_000
WARMUP_USER = USER_ID_BASE - 1
TOKEN = "123456:BENCH-TOKEN"


# ======================================================================== the echo bot


def run_echo_bot() -> None:
    """A bare python-telegram-bot 22 application: echo text, answer button presses."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.constants import ParseMode
    from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Gửi", callback_data="send")]])

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await context.bot.send_message(update.message.chat_id, html.escape(update.message.text),
                                       parse_mode=ParseMode.HTML, reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer()
        await context.bot.send_message(query.message.chat.id, f"Đã nhận: <b>{html.escape(query.data or '')}</b>",
                                       parse_mode=ParseMode.HTML)

    application = (
        ApplicationBuilder()
        .token(os.environ["BENCH_TOKEN"])
        .base_url(os.environ["BENCH_BASE_URL"])
        .base_file_url(os.environ["BENCH_FILE_BASE_URL"])
        .concurrent_updates(32)  # as many updates in flight as our bot allows
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(pressed))
    application.run_polling(allowed_updates=["message", "callback_query"], timeout=2,
                            drop_pending_updates=False)


if __name__ == "__main__" and ECHO_FLAG in sys.argv:
    run_echo_bot()
    sys.exit(0)

# Everything below runs in the benchmark process only.
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS / "support"))
sys.path.insert(0, str(ROOT))

from standin import FakeTelegram, FakeUser  # noqa: E402
from standin.server import FakeMessage  # noqa: E402

from e2e import BotProcess, find_button  # noqa: E402


# ============================================================ the stand-in, with a clock


class TimedTelegram(FakeTelegram):
    """The stand-in, plus a per-chat queue of new bot messages and a service-time tally.

    FakeUser.wait_for() would do for one user, but with hundreds of users waiting on the
    stand-in's single condition variable every bot message wakes all of them (and each
    re-scans its chat): with 200 users that herd costs ~10 ms per API call and cut the echo
    baseline to a third, so the benchmark measured the stand-in, not the bot. Here each
    chat gets its own queue, filled where the stand-in records a message (the same hook
    that wakes wait_for), stamped with the monotonic time of its arrival. Both use the
    stand-in's public hooks (`add_message_hook`, `add_call_hook`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.inboxes: dict[int, queue.SimpleQueue[tuple[float, FakeMessage]]] = {}
        self.service_time = 0.0  # seconds spent inside API calls other than getUpdates
        self.service_calls = 0
        self._tally_lock = threading.Lock()
        super().__init__(*args, **kwargs)
        self.add_message_hook(self._on_message)
        self.add_call_hook(self._on_call)

    def start(self) -> "TimedTelegram":
        super().start()
        server = self._server
        if server is not None:  # a bot dropping its keep-alive connections on exit is no error
            default = server.handle_error

            def handle_error(request: Any, client_address: Any) -> None:
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    default(request, client_address)

            server.handle_error = handle_error  # type: ignore[method-assign]
        return self

    def inbox(self, chat_id: int) -> queue.SimpleQueue[tuple[float, FakeMessage]]:
        return self.inboxes.setdefault(chat_id, queue.SimpleQueue())

    def _on_message(self, chat_id: int, kind: str, msg: FakeMessage) -> None:  # called with the lock held
        if kind == "sent":
            box = self.inboxes.get(chat_id)
            if box is not None:
                box.put((time.monotonic(), msg))

    def _on_call(self, method: str, seconds: float) -> None:
        with self._tally_lock:
            self.service_time += seconds
            self.service_calls += 1


# ============================================================================== driving


@dataclass
class Step:
    """One user action and how to recognise the bot's answer to it."""

    kind: str  # "send" | "press"
    payload: str  # the text, or the button label
    expect: Callable[[str], bool]
    label: str  # for the per-action breakdown


@dataclass
class ChairResult:
    latencies: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    done: bool = False


def our_steps(index: int, round_code: str = ROUND_CODE) -> list[Step]:
    """The whole reporting conversation of one chair, as tests/test_e2e_report.py plays it."""
    steps = [Step("send", f"/baocao {round_code}", lambda t: "mục 1/10" in t, "/baocao")]
    for n, (typed, _code, _value) in enumerate(ANSWERS, start=1):
        typed = dv_moi(index)[0] if _code == "DV_MOI" else typed
        nxt = (lambda t, n=n: f"mục {n + 1}/10" in t) if n < len(ANSWERS) else (lambda t: "Tóm tắt" in t)
        steps.append(Step("send", typed, nxt, "answer"))
    steps.append(Step("press", "Gửi", lambda t: "Đã nhận báo cáo" in t and "Mã tiếp nhận: BC-" in t, "Gửi"))
    return steps


def echo_steps(index: int, round_code: str = ROUND_CODE) -> list[Step]:
    """The same actions for the echo bot, which repeats what it is told."""
    return [
        Step(s.kind, s.payload, (lambda t, p=s.payload: t == p) if s.kind == "send" else (lambda t: "Đã nhận" in t),
             s.label)
        for s in our_steps(index, round_code)
    ]


def dv_moi(index: int) -> tuple[str, float]:
    value = 10 + index  # < DV_TONG (1.234) for every chair the demo can hold
    return str(value), float(value)


def expected_values(index: int) -> dict[str, float]:
    values = {code: float(value) for _typed, code, value in ANSWERS}
    values["DV_MOI"] = dv_moi(index)[1]
    return values


def play(fake: TimedTelegram, user: FakeUser, steps: list[Step], timeout: float,
         start: threading.Barrier, result: ChairResult) -> None:
    """Run one user's actions back to back, timing each reply."""
    box = fake.inbox(user.id)
    try:
        start.wait(timeout=60)
        last_keyboard: FakeMessage | None = None
        for step in steps:
            if step.kind == "press":
                data = find_button(last_keyboard, step.payload) if last_keyboard else None
                if data is None:
                    result.errors.append(f"no button {step.payload!r} to press")
                    return
                t0 = time.monotonic()
                user.press(data=data, message_id=last_keyboard.message_id)
            else:
                t0 = time.monotonic()
                user.send(step.payload)
            try:
                arrived, message = box.get(timeout=timeout)
            except queue.Empty:
                result.errors.append(f"no reply to {step.payload!r} within {timeout:.0f}s")
                return
            result.latencies.append((step.label, arrived - t0))
            text = message.text or message.caption or ""
            if not step.expect(text):
                result.errors.append(f"unexpected reply to {step.payload!r}: {text[:120]!r}")
                return
            if message.reply_markup:
                last_keyboard = message
        result.done = True
    except Exception:  # noqa: BLE001 - a crash of the driver is reported, not hidden
        result.errors.append("driver crashed:\n" + traceback.format_exc())


def warm_up(fake: TimedTelegram, steps: list[Step], timeout: float) -> None:
    """One whole conversation of an extra user before the clock starts, so that first-use
    costs (connections, compiled SQL, locale data) are not counted."""
    user = fake.user(WARMUP_USER, first_name="Khởi động")
    result = ChairResult()
    play(fake, user, steps, timeout, threading.Barrier(1), result)
    if not result.done:
        raise RuntimeError(f"warm-up conversation failed: {result.errors}")


@dataclass
class RunFigures:
    name: str
    updates: int = 0
    wall: float = 0.0
    latencies: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unfinished: int = 0
    extra_messages: int = 0
    bot_cpu: float | None = None  # CPU seconds of the bot process during the timed phase
    loop_cpu: float | None = None  # … of which its main thread (the asyncio event loop)
    bench_cpu: float = 0.0
    service_time: float = 0.0
    service_calls: int = 0
    violations: list[str] = field(default_factory=list)
    unanswered: int = 0

    @property
    def rate(self) -> float:
        return self.updates / self.wall if self.wall else 0.0

    def quantile(self, q: float, label: str | None = None) -> float:
        values = sorted(v for lab, v in self.latencies if label is None or lab == label)
        if not values:
            return float("nan")
        rank = max(0, min(len(values) - 1, math.ceil(q * len(values)) - 1))  # nearest rank
        return values[rank] * 1000


def _cpu_of(stat_path: Path) -> float:
    fields = stat_path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> tuple[float, float] | None:
    """CPU seconds (user + system) of a process so far and of its main thread alone — the
    asyncio event loop; the rest is worker threads (Linux /proc; None elsewhere)."""
    try:
        return _cpu_of(Path(f"/proc/{pid}/stat")), _cpu_of(Path(f"/proc/{pid}/task/{pid}/stat"))
    except (OSError, ValueError, IndexError):
        return None


def drive(name: str, fake: TimedTelegram, pid: int, steps_of: Callable[[int, str], list[Step]],
          chairs: int, timeout: float, profiler: Callable[[], Callable[[], None]] | None = None) -> RunFigures:
    """Run all chairs at once against the bot polling `fake`; collect the figures."""
    warm_up(fake, steps_of(0, WARMUP_ROUND), timeout)
    users = [fake.user(USER_ID_BASE + i, first_name=f"Chủ tịch {i + 1}") for i in range(chairs)]
    results = [ChairResult() for _ in users]
    start = threading.Barrier(chairs + 1)
    threads = [
        threading.Thread(target=play, args=(fake, user, steps_of(i), timeout, start, result),
                         name=f"chair-{i}", daemon=True)
        for i, (user, result) in enumerate(zip(users, results))
    ]
    for thread in threads:
        thread.start()
    stop_profiler = profiler() if profiler else None
    cpu_before, bench_before = process_cpu(pid), time.process_time()
    with fake._cond:
        service_before = (fake.service_time, fake.service_calls)
    start.wait(timeout=60)
    t0 = time.monotonic()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - t0
    cpu_after, bench_after = process_cpu(pid), time.process_time()
    if stop_profiler:
        stop_profiler()
    time.sleep(0.3)  # let any stray (duplicate) reply arrive before counting them
    figures = RunFigures(name, wall=wall)
    for i, result in enumerate(results):
        figures.latencies += result.latencies
        figures.updates += len(result.latencies)
        figures.errors += [f"chair {i + 1}: {e}" for e in result.errors]
        figures.unfinished += not result.done
        if result.done:  # one reply per action: anything left over was sent twice or unasked
            figures.extra_messages += fake.inbox(USER_ID_BASE + i).qsize()
    if cpu_before is not None and cpu_after is not None:
        figures.bot_cpu = cpu_after[0] - cpu_before[0]
        figures.loop_cpu = cpu_after[1] - cpu_before[1]
    figures.bench_cpu = bench_after - bench_before
    with fake._cond:
        figures.service_time = fake.service_time - service_before[0]
        figures.service_calls = fake.service_calls - service_before[1]
        figures.violations = list(fake.violations)
    figures.unanswered = len(fake.unanswered_callbacks())
    return figures


# ============================================================================ databases


class Database:
    """A fresh database for one run: a SQLite file in the work directory, or a new
    PostgreSQL database created next to the one a URL names (dropped afterwards)."""

    def __init__(self, spec: str, workdir: Path) -> None:
        self.spec = spec
        self.created_pg: tuple[str, str] | None = None  # (admin URL, database name)
        if spec == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.sqlite'}"
        elif spec.startswith("sqlite:"):
            path = Path(spec.split(":///", 1)[1]) if ":///" in spec else None
            if path is None or path.exists():
                raise SystemExit(f"--db {spec}: give a SQLite file that does not exist yet (it is built fresh)")
            self.url = spec
        elif spec.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
            from sqlalchemy.engine import make_url

            from bot.db import normalise_url

            admin = make_url(normalise_url(spec))
            name = f"congdoan_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            import psycopg

            admin_dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(admin_dsn, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.created_pg = (admin_dsn, name)
            self.url = admin.set(database=name).render_as_string(hide_password=False)
        else:
            raise SystemExit(f"--db: 'sqlite' or a database URL, not {spec!r}")

    @property
    def label(self) -> str:
        if self.spec == "sqlite":
            return "SQLite (fresh file in a temp dir)"
        if self.created_pg:
            return f"PostgreSQL (fresh database {self.created_pg[1]})"
        return f"SQLite ({self.url})"

    def drop(self) -> None:
        if self.created_pg is None:
            return
        import psycopg

        admin_dsn, name = self.created_pg
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build_world(db_url: str, chairs: int) -> tuple[list[str], float]:
    """Demo province + the open test round + N chairs bound to N distinct CĐCS."""
    from sqlmodel import select

    from bot.clock import local_today
    from bot.db import make_engine, session_scope, upgrade
    from bot.demo import load_demo
    from bot.models import Level, Unit
    from worlds import add_test_round, bind

    started = time.monotonic()
    upgrade(db_url)
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        load_demo(session)
    today = local_today()
    add_test_round(engine, ROUND_CODE, opens=today - timedelta(days=10), deadline=today + timedelta(days=30))
    # its deadline comes later, so it is never "last reported" in the timed round
    add_test_round(engine, WARMUP_ROUND, opens=today - timedelta(days=10), deadline=today + timedelta(days=60))
    with session_scope(engine) as session:
        codes = list(session.exec(
            select(Unit.code).where(Unit.level == Level.GRASSROOTS, Unit.active == True)  # noqa: E712
            .order_by(Unit.code)
        ).all())
    if chairs > len(codes):
        raise SystemExit(f"--chairs {chairs}: the demo province has only {len(codes)} active CĐCS")
    codes = codes[:chairs]
    for i, code in enumerate(codes):
        bind(engine, code, USER_ID_BASE + i, name=f"Chủ tịch {i + 1}")
    bind(engine, codes[0], WARMUP_USER, name="Phó chủ tịch (khởi động)")
    if db_url.startswith("sqlite"):
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return codes, time.monotonic() - started


@dataclass
class Check:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    ok: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.lost or self.duplicated or self.wrong)


def verify(db_url: str, codes: list[str]) -> Check:
    """Every chair's submission is in the database once, as revision 1, with its values."""
    from sqlmodel import Session, func, select

    from bot.db import make_engine
    from bot.models import AuditLog, Indicator, Round, Submission, SubmissionRevision, SubmissionValue, Unit

    check = Check()
    engine = make_engine(db_url)
    with Session(engine) as session:
        round_id = session.exec(select(Round.id).where(Round.code == ROUND_CODE)).one()
        unit_ids = dict(session.exec(select(Unit.code, Unit.id).where(Unit.code.in_(codes))).all())
        indicator_codes = dict(session.exec(select(Indicator.id, Indicator.code)).all())
        subs: dict[int, list[Submission]] = {}
        for sub in session.exec(select(Submission).where(Submission.round_id == round_id)).all():
            subs.setdefault(sub.unit_id, []).append(sub)
        values: dict[int, dict[str, float | None]] = {}
        for sub_id, ind_id, value in session.exec(
            select(SubmissionValue.submission_id, SubmissionValue.indicator_id, SubmissionValue.value)
            .join(Submission, Submission.id == SubmissionValue.submission_id)
            .where(Submission.round_id == round_id)
        ).all():
            values.setdefault(sub_id, {})[indicator_codes[ind_id]] = value
        revisions = dict(session.exec(
            select(SubmissionRevision.submission_id, func.count())
            .join(Submission, Submission.id == SubmissionRevision.submission_id)
            .where(Submission.round_id == round_id).group_by(SubmissionRevision.submission_id)
        ).all())
        audits: dict[tuple[str, int], int] = {}
        for action, entity_id in session.exec(
            select(AuditLog.action, AuditLog.entity_id).where(AuditLog.action.like("submission.%"))
        ).all():
            audits[(action, entity_id)] = audits.get((action, entity_id), 0) + 1
        for i, code in enumerate(codes):
            found = subs.get(unit_ids[code], [])
            if not found:
                check.lost.append(code)
                continue
            sub = found[0]
            if (len(found) > 1 or sub.revision != 1 or revisions.get(sub.id, 0) != len(ANSWERS)
                    or audits.get(("submission.create", sub.id), 0) != 1
                    or audits.get(("submission.correct", sub.id), 0) != 0):
                check.duplicated.append(
                    f"{code}: {len(found)} submission(s), revision {sub.revision}, "
                    f"{revisions.get(sub.id, 0)} revision rows, "
                    f"{audits.get(('submission.create', sub.id), 0)} create / "
                    f"{audits.get(('submission.correct', sub.id), 0)} correct audit rows")
                continue
            want = expected_values(i)
            got = values.get(sub.id, {})
            if got != want:
                diff = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
                check.wrong.append(f"{code}: (stored, typed) {diff}")
                continue
            check.ok += 1
    engine.dispose()
    return check


# ============================================================================ processes


class EchoBotProcess:
    """This script as the echo bot, polling the second stand-in."""

    def __init__(self, fake: FakeTelegram, log_path: Path) -> None:
        self.fake = fake
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> "EchoBotProcess":
        env = dict(os.environ, BENCH_TOKEN=self.fake.token, BENCH_BASE_URL=self.fake.base_url,
                   BENCH_FILE_BASE_URL=self.fake.file_base_url, PYTHONUNBUFFERED="1")
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), ECHO_FLAG], cwd=ROOT,
                                         env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self.fake.calls("getUpdates"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the echo bot did not start polling:\n{self.log_path.read_text()}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def py_spy_profiler(pid: int, output: Path, gil: bool) -> Callable[[], Callable[[], None]]:
    """Record the bot process with py-spy during the timed phase (--py-spy)."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")

    def begin() -> Callable[[], None]:
        fmt = "speedscope" if output.suffix == ".json" else ("raw" if output.suffix == ".txt" else "flamegraph")
        proc = subprocess.Popen([exe, "record", "--pid", str(pid), "--rate", "250", "--format", fmt,
                                 "--output", str(output), "--threads", "--nonblocking"] + (["--gil"] if gil else []),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)  # let it attach

        def end() -> None:
            proc.send_signal(signal.SIGINT)
            try:
                _out, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                return
            if proc.returncode not in (0, -signal.SIGINT):
                print(f"py-spy: {err.decode(errors='replace')[-500:]}", file=sys.stderr)

        return end

    return begin


# ============================================================================== report


def bot_log_errors(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line for line in path.read_text("utf-8", errors="replace").splitlines()
            if " ERROR " in line or "Traceback" in line]


def print_table(ours: RunFigures, echo: RunFigures | None) -> None:
    rows = [ours] + ([echo] if echo else [])
    head = f"{'':<18}{'updates':>8}{'wall s':>8}{'updates/s':>11}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}" \
           f"{'errors':>8}{'bot CPU ms/upd':>16}"
    print(head)
    print("-" * len(head))
    for r in rows:
        cpu = f"{r.bot_cpu * 1000 / r.updates:.2f}" if r.bot_cpu is not None and r.updates else "-"
        errors = len(r.errors) + r.extra_messages
        print(f"{r.name:<18}{r.updates:>8}{r.wall:>8.2f}{r.rate:>11.1f}{r.quantile(0.5):>9.1f}"
              f"{r.quantile(0.95):>9.1f}{r.quantile(1.0):>9.1f}{errors:>8}{cpu:>16}")
    if echo and echo.rate and ours.rate:
        cpu_ratio = "-"
        if ours.bot_cpu and echo.bot_cpu:
            cpu_ratio = f"{(ours.bot_cpu / ours.updates) / (echo.bot_cpu / echo.updates):.2f}"
        print(f"{'ratio ours/echo':<18}{'':>8}{'':>8}{ours.rate / echo.rate:>11.2f}"
              f"{ours.quantile(0.5) / echo.quantile(0.5):>9.2f}{ours.quantile(0.95) / echo.quantile(0.95):>9.2f}"
              f"{ours.quantile(1.0) / echo.quantile(1.0):>9.2f}{'':>8}{cpu_ratio:>16}")
    print()
    print("by action (p50 / p95 ms):")
    for r in rows:
        parts = [f"{label} {r.quantile(0.5, label):.1f} / {r.quantile(0.95, label):.1f}"
                 for label in ("/baocao", "answer", "Gửi")]
        print(f"  {r.name:<16}" + "   ".join(parts))
    print()
    for r in rows:
        if r.bot_cpu is not None and r.loop_cpu is not None and r.updates:
            print(f"bot CPU ({r.name}): {r.bot_cpu:.1f} s = {r.bot_cpu * 1000 / r.updates:.2f} ms/update: "
                  f"event loop {r.loop_cpu * 1000 / r.updates:.2f}, "
                  f"other threads {(r.bot_cpu - r.loop_cpu) * 1000 / r.updates:.2f}")
    for r in rows:
        per_call = r.service_time / r.service_calls * 1000 if r.service_calls else 0.0
        print(f"stand-in ({r.name}): {r.service_calls} API calls, {per_call:.2f} ms mean service time; "
              f"benchmark process CPU {r.bench_cpu:.1f} s; violations {len(r.violations)}, "
              f"unanswered callbacks {r.unanswered}, unfinished chairs {r.unfinished}, "
              f"extra replies {r.extra_messages}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chairs", type=int, default=200, help="simulated chairs (default 200, at most 286: the demo's active CĐCS)")
    parser.add_argument("--db", default="sqlite",
                        help="'sqlite' (a fresh file in a temp dir, the default) or a database URL: "
                             "for PostgreSQL a fresh database is created on that server and dropped after")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one reply (default 60)")
    parser.add_argument("--no-echo", action="store_true", help="skip the echo-bot baseline")
    parser.add_argument("--py-spy", metavar="FILE", type=Path,
                        help="profile our bot with py-spy during the timed phase (.svg flame graph, "
                             ".json speedscope, .txt collapsed stacks); needs py-spy installed")
    parser.add_argument("--py-spy-gil", action="store_true",
                        help="with --py-spy: sample only the thread holding the GIL (where the CPU goes)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (database, logs)")
    parser.add_argument("--paced", action="store_true",
                        help="keep the bot's reply pace of 29/s (Telegram's cap); by default it is lifted, "
                             "as the echo bot has none, so that the ratio compares the cores")
    args = parser.parse_args(argv)
    if args.chairs < 1:
        parser.error("--chairs must be at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="congdoan-bench-"))
    failed = False
    database: Database | None = None
    try:
        database = Database(args.db, workdir)
        print(f"report_load: {args.chairs} chairs × {len(our_steps(0))} updates; {database.label}; "
              f"{os.cpu_count()} CPUs; Python {platform.python_version()}; work dir {workdir}")
        codes, setup_time = build_world(database.url, args.chairs)
        print(f"world built in {setup_time:.1f} s (demo province, round {ROUND_CODE}, {len(codes)} chairs bound)")

        with TimedTelegram(token=TOKEN) as fake:
            # Reminder pushes would land in the chairs' chats mid-conversation: the benchmark
            # measures the conversation, so the in-process planner is off.
            pace = {} if args.paced else {"CONGDOAN_REPLY_RATE": "100000"}  # the echo bot sends unpaced
            process = BotProcess(fake, database.url, workdir / "bot.log", CONGDOAN_PLANNER_INTERVAL="0", **pace)
            process.start(timeout=60)
            assert process.proc is not None
            profiler = py_spy_profiler(process.proc.pid, args.py_spy.resolve(), args.py_spy_gil) if args.py_spy else None
            try:
                ours = drive("our bot", fake, process.proc.pid, our_steps, args.chairs, args.timeout, profiler)
            finally:
                crashed = process.proc.poll() is not None
                process.stop()
        log_errors = bot_log_errors(workdir / "bot.log")

        echo: RunFigures | None = None
        echo_crashed = False
        if not args.no_echo:
            with TimedTelegram(token=TOKEN) as fake2:
                echo_bot = EchoBotProcess(fake2, workdir / "echo.log").start()
                assert echo_bot.proc is not None
                try:
                    echo = drive("echo bot (PTB)", fake2, echo_bot.proc.pid, echo_steps, args.chairs, args.timeout)
                finally:
                    echo_crashed = echo_bot.proc.poll() is not None
                    echo_bot.stop()

        print()
        print_table(ours, echo)
        check = verify(database.url, codes)
        print()
        print(f"submissions: {check.ok}/{len(codes)} correct; lost {len(check.lost)}, "
              f"duplicated {len(check.duplicated)}, wrong values {len(check.wrong)}")
        for label, items in (("lost", check.lost), ("duplicated", check.duplicated), ("wrong", check.wrong)):
            for item in items[:10]:
                print(f"  {label}: {item}")
        for r in [ours] + ([echo] if echo else []):
            for error in r.errors[:5]:
                print(f"  {r.name} error: {error}")
            for violation in r.violations[:5]:
                print(f"  {r.name} Bot API violation: {violation}")
        if log_errors:
            print(f"  bot log: {len(log_errors)} error line(s), e.g. {log_errors[0][:200]}")
        if crashed:
            print("  the bot process exited during the run")
        if echo_crashed:
            print("  the echo bot process exited during the run")
        if args.py_spy:
            print(f"py-spy profile written to {args.py_spy}")
        failed = check.failed or crashed or echo_crashed
        return 2 if crashed or echo_crashed else (1 if check.failed else 0)
    except Exception:
        failed = True
        traceback.print_exc()
        return 2
    finally:
        if database is not None:
            try:
                database.drop()
            except Exception:  # noqa: BLE001
                traceback.print_exc()
        if args.keep or failed:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
