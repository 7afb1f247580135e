"""A strict local stand-in for the Telegram Bot API, served over real HTTP.

Start a :class:`FakeTelegram`, point the bot under test at it and play users::

    fake = FakeTelegram(token="123456:TEST-TOKEN")
    bot = telegram.Bot(fake.token, base_url=fake.base_url, base_file_url=fake.file_base_url)
    lan = fake.user(1001, first_name="Lan")
    lan.send("/start")
    reply = lan.wait_reply()            # first new bot message + a short quiet period
    cq = lan.press("Báo cáo")           # press an inline button of the latest keyboard
    lan.wait_reply()
    assert fake.violations == [] and fake.unanswered_callbacks() == []

This module holds the server and its HTTP plumbing; the rest is split by concern:
:mod:`.records` (stored state), :mod:`.api` (the API methods), :mod:`.faults` (fault injection),
:mod:`.users` (simulated users).

The server is a :class:`http.server.ThreadingHTTPServer` on ``127.0.0.1`` (ephemeral
port) running in a daemon thread.  URLs, request encodings (JSON, urlencoded,
multipart) and responses mimic ``api.telegram.org``.  Every request is validated
against the Bot API spec (see :mod:`.spec`) and against Telegram's formatting and
keyboard rules (see :mod:`.html_check`); misuse gets the 400 Telegram would send
and is recorded in :attr:`FakeTelegram.violations`.

Simulated conditions — rate limiting (429), injected failures, users that blocked
the bot (403) — are *not* violations by themselves; ignoring a ``retry_after`` is.
All errors returned are logged in :attr:`FakeTelegram.errors`.

The user-side API (:class:`FakeUser`) is synchronous and thread-safe: the bot
under test runs in another thread or process and talks HTTP.  Async tests can use
the ``*_async`` wrappers, which run the blocking waits in a worker thread.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import re
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Callable
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from .spec import ApiError, ApiSpec, UploadedFile, Validator
from .records import (
    _error_body,
    ApiCall,
    BOT_FIRST_NAME,
    BOT_USERNAME,
    ErrorRecord,
    FakeMessage,
    FileRecord,
    JSON,
    _CallbackQuery,
    _Chat,
    _Event,
    _Failure,
    _is_rate_limited,
    _is_send,
)
from .api import ApiMethods
from .faults import FaultInjection
from .users import FakeUser, SimulatedUsers

MessageHook = Callable[[int, str, FakeMessage], None]  # (chat id, "sent" | "edited" | "deleted", message)
CallHook = Callable[[str, float], None]  # (API method, seconds spent serving it)

__all__ = [
    "ApiCall",
    "ErrorRecord",
    "FakeMessage",
    "FakeTelegram",
    "FakeUser",
    "FileRecord",
]


# ============================================================================ server


class FakeTelegram(SimulatedUsers, FaultInjection, ApiMethods):
    """The Bot API stand-in.  See the module docstring for an overview.

    Public state (read it, don't mutate it, except ``latency``):

    * ``violations`` — list of ``"method: reason"`` strings for protocol misuse;
    * ``requests`` — list of :class:`ApiCall` ``(method, params)``;
    * ``errors`` — list of :class:`ErrorRecord` for every error response;
    * ``count_429`` — number of 429 responses;
    * ``latency`` — seconds added to each send* request (default 0).
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        spec_path: str | None = None,
        autostart: bool = True,
        bot_username: str = BOT_USERNAME,
        bot_first_name: str = BOT_FIRST_NAME,
        strict_html: bool = True,
        flood_grace: float = 0.2,
        port: int = 0,
    ) -> None:
        if not re.match(r"^\d+:[A-Za-z0-9_-]+$", token):
            raise ValueError(f"not a bot token: {token!r}")
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.strict_html = strict_html
        #: Requests arriving within this many seconds after a 429 are not counted as
        #: ignoring retry_after (they were probably already in flight).
        self.flood_grace = flood_grace
        self.latency = 0.0
        self._wanted_port = port

        self._spec = ApiSpec.load(spec_path)
        self._validator = Validator(self._spec)
        self._cond = threading.Condition(threading.RLock())

        self.violations: list[str] = []
        self.requests: list[ApiCall] = []
        self.errors: list[ErrorRecord] = []
        self.count_429 = 0

        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, FakeUser] = {}
        self._seq = 0
        self._updates: list[JSON] = []
        self._next_update_id = 1
        self._last_delivered_id = 0
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._webhook_url = ""
        self._callbacks: dict[str, _CallbackQuery] = {}
        self._callback_counter = itertools.count(1)
        self._files: dict[str, FileRecord] = {}
        self._files_by_path: dict[str, FileRecord] = {}
        self._file_counter = itertools.count(1)
        self._commands: dict[str, list[JSON]] = {}
        self._default_menu_button: JSON = {"type": "commands"}
        self._failures: dict[str, collections.deque[_Failure]] = {}
        self._outages: dict[str, tuple[float, int, str]] = {}
        self._rate: float | None = None
        self._sends: collections.deque[float] = collections.deque()
        self._flood_started = 0.0
        self._flood_until = 0.0
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._stopped = False
        self._message_hooks: list[MessageHook] = []
        self._call_hooks: list[CallHook] = []

        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        if autostart:
            self.start()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeTelegram:
        """Start serving (idempotent)."""
        if self._server is not None:
            return self
        self._stopped = False
        server = _Server(("127.0.0.1", self._wanted_port), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01},
            name=f"FakeTelegram:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; pending long polls return, open connections are closed."""
        server = self._server
        if server is None:
            return
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------------- URLs
    @property
    def port(self) -> int:
        if self._server is None:
            if self._wanted_port:  # not started yet (a test of a bot that starts first)
                return self._wanted_port
            raise RuntimeError("FakeTelegram is not running")
        return int(self._server.server_address[1])

    @property
    def api_root(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/bot`` — python-telegram-bot appends the token."""
        return f"{self.api_root}/bot"

    @property
    def file_base_url(self) -> str:
        """``http://127.0.0.1:PORT/file/bot`` — python-telegram-bot appends the token."""
        return f"{self.api_root}/file/bot"

    @property
    def bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def unanswered_callbacks(self) -> list[str]:
        """Ids of injected callback queries the bot has not answered."""
        with self._cond:
            return [cq.id for cq in self._callbacks.values() if not cq.answered]

    def callback_answer(self, callback_query_id: str) -> JSON | None:
        with self._cond:
            cq = self._callbacks.get(callback_query_id)
            return dict(cq.answer) if cq and cq.answer is not None else None

    def calls(self, method: str) -> list[JSON]:
        """Parameters of every logged call of ``method``."""
        with self._cond:
            return [c.params for c in self.requests if c.method == method]

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """Commands set with setMyCommands for this scope/language."""
        with self._cond:
            return list(self._commands.get(self._commands_key(scope, language_code), []))

    def file_content(self, file_id: str) -> bytes:
        with self._cond:
            return self._files[file_id].data

    def clear_violations(self) -> None:
        with self._cond:
            self.violations.clear()

    def assert_clean(self) -> None:
        """Fail if there are violations or unanswered callback queries."""
        problems = list(self.violations)
        unanswered = self.unanswered_callbacks()
        if unanswered:
            problems.append(f"unanswered callback queries: {unanswered}")
        if problems:
            raise AssertionError("Bot API misuse:\n  " + "\n  ".join(problems))

    def add_message_hook(self, hook: MessageHook) -> None:
        """Call ``hook(chat_id, kind, message)`` for every message the stand-in records
        (kind "sent", "edited" or "deleted"), as it records it: with the stand-in's lock held,
        so the hook must be quick and must not call back into the stand-in (a benchmark
        fills a queue per chat here instead of waking every waiting user)."""
        with self._cond:
            self._message_hooks.append(hook)

    def add_call_hook(self, hook: CallHook) -> None:
        """Call ``hook(method, seconds)`` after each API call but getUpdates, with the time
        spent serving it (validation included); called without the stand-in's lock."""
        with self._cond:
            self._call_hooks.append(hook)

    def restart_update_ids(self, next_id: int) -> None:
        """Number the next updates from ``next_id``, as Telegram does after a week without
        updates (it then picks a random id, possibly lower than every id seen before).
        Updates still waiting keep their ids."""
        with self._cond:
            self._next_update_id = next_id
            self._last_delivered_id = min(self._last_delivered_id, next_id - 1)

    def inject_update(self, update: JSON) -> int:
        """Queue a raw update (``update_id`` is assigned); returns the update_id."""
        with self._cond:
            return self._push_update(dict(update))

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot (via getUpdates offset)."""
        with self._cond:
            return len(self._updates)

    def wait_idle(self, timeout: float = 10.0, quiet: float = 0.2) -> None:
        """Block until the bot looks idle.

        Idle means: every injected update has been handed out by getUpdates, no
        request other than a waiting getUpdates is in progress, and no such
        request has finished within the last ``quiet`` seconds.  This is a
        heuristic (the bot may still be computing without talking to the API),
        so choose ``quiet`` larger than the bot's slowest think time.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                delivered = self._last_delivered_id >= self._next_update_id - 1
                idle_for = now - self._last_activity
                if delivered and self._inflight == 0 and idle_for >= quiet:
                    return
                if now >= deadline:
                    raise AssertionError(
                        f"bot not idle after {timeout}s: undelivered updates="
                        f"{self._next_update_id - 1 - self._last_delivered_id}, "
                        f"requests in flight={self._inflight}"
                    )
                wait = deadline - now
                if delivered and self._inflight == 0:
                    wait = min(wait, quiet - idle_for)
                self._cond.wait(max(wait, 0.005))

    async def wait_idle_async(self, timeout: float = 10.0, quiet: float = 0.2) -> None:
        await asyncio.to_thread(self.wait_idle, timeout, quiet)

    # ======================================================== user-side internals
    def _chat_state(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown user/chat {chat_id}; create it with fake.user()")
        return chat

    def _push_update(self, update: JSON) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, **{k: v for k, v in update.items() if k != "update_id"}}
        self._updates.append(update)
        self._cond.notify_all()
        return update_id

    # ========================================================== request handling
    def _record_error(self, method: str, err: ApiError, params: JSON) -> None:
        self.errors.append(ErrorRecord(method, err.error_code, err.description, params))
        if err.violation:
            self.violations.append(f"{method}: {err.description}")
        self._cond.notify_all()

    def _handle_api(
        self, method_name: str, params: JSON, files: dict[str, UploadedFile]
    ) -> tuple[int, JSON]:
        """Process one API call; returns (HTTP status, JSON body)."""
        spec = self._spec.method(method_name)
        if spec is None:
            with self._cond:
                logged = {**params, **files}
                self.requests.append(ApiCall(method_name, logged))
                self._record_error(
                    method_name, ApiError("Not Found", 404), logged
                )
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        method = spec.name
        polling = method == "getUpdates"
        started = time.perf_counter()
        logged = {**params, **files}
        with self._cond:
            if not polling:
                self._inflight += 1
        try:
            try:
                clean, warnings = self._validator.validate(spec, params, files)
                with self._cond:
                    logged = clean
                    self.requests.append(ApiCall(method, clean))
                    self.violations.extend(f"{method}: {w}" for w in warnings)
            except ApiError:
                with self._cond:
                    self.requests.append(ApiCall(method, logged))
                raise
            result = self._execute(method, clean)
            return 200, {"ok": True, "result": result}
        except ApiError as err:
            with self._cond:
                self._record_error(method, err, logged)
            return err.error_code, err.payload()
        finally:
            if not polling:
                with self._cond:
                    self._inflight -= 1
                    self._last_activity = time.monotonic()
                    self._cond.notify_all()
                elapsed = time.perf_counter() - started
                for hook in list(self._call_hooks):
                    hook(method, elapsed)

    def _execute(self, method: str, params: JSON) -> Any:
        limited = _is_rate_limited(method)
        with self._cond:
            if limited:
                self._check_flood(method)
            self._check_injected(method)
            chat: _Chat | None = None
            if "chat_id" in params:
                chat = self._known_chat(params["chat_id"])
                if chat.blocked and (_is_send(method) or method.startswith("edit")):
                    raise ApiError(
                        "Forbidden: bot was blocked by the user", 403, violation=False
                    )
            if limited:
                self._check_rate()
        if _is_send(method) and self.latency > 0:
            time.sleep(self.latency)
        if method == "getUpdates":
            return self._get_updates(params)
        with self._cond:
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                return self._api_generic(method, params, chat)
            return handler(params, chat)

    def _known_chat(self, chat_id: Any) -> _Chat:
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None or not chat.known:
            raise ApiError("Bad Request: chat not found")
        return chat

    # ------------------------------------------------------------------ helpers
    def _event(self, chat: _Chat, kind: str, msg: FakeMessage) -> None:
        self._seq += 1
        chat.events.append(_Event(self._seq, kind, msg, time.monotonic()))
        for hook in self._message_hooks:
            hook(chat.id, kind, msg)
        self._cond.notify_all()

    # ============================================================= API methods



# ======================================================================= HTTP layer

_PARAM_RE = re.compile(r';\s*([\w*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _header_params(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, raw in _PARAM_RE.findall(value):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            raw = raw.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")
        key = key.lower()
        if key.endswith("*"):
            _, _, encoded = raw.partition("''")
            params[key[:-1]] = unquote(encoded or raw)
        else:
            params.setdefault(key, raw)
    return params


def parse_multipart(body: bytes, content_type: str) -> tuple[JSON, dict[str, UploadedFile]]:
    """Split a multipart/form-data body into (text fields, file parts)."""
    match = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type, re.IGNORECASE)
    if not match:
        raise ApiError("Bad Request: multipart boundary is missing")
    boundary = (match.group(1) or match.group(2)).encode("latin-1")
    fields: JSON = {}
    files: dict[str, UploadedFile] = {}
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        _, _, chunk = chunk.partition(b"\r\n")  # rest of the delimiter line
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, content = b"", chunk
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            files[name] = UploadedFile(
                name, disposition["filename"], headers.get("content-type"), content
            )
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    fake: FakeTelegram

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
            self._connections.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "nginx/1.18.0"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._serve()

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self._serve()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) < length:  # the client died mid-request (a killed bot): Telegram sees nothing
            raise ValueError("truncated request body")
        return body

    def _serve(self) -> None:
        fake = self.server.fake
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if fake._stopped:
            self.close_connection = True
            return
        url = urlsplit(self.path)
        path = url.path
        try:
            if path.startswith("/file/bot"):
                token, _, file_path = path[len("/file/bot"):].partition("/")
                status, ctype, data = fake._download(unquote(token), unquote(file_path))
                self._reply(status, data, ctype)
                return
            if not path.startswith("/bot"):
                self._reply(404, _error_body(404, "Not Found"))
                return
            token, _, method = path[len("/bot"):].partition("/")
            if unquote(token) != fake.token:
                self._reply(401, _error_body(401, "Unauthorized"))
                return
            if not method or "/" in method:
                self._reply(404, _error_body(404, "Not Found"))
                return
            try:
                params, files = self._parse_params(url.query, body)
            except ApiError as err:
                with fake._cond:
                    fake._record_error(method, err, {})
                self._reply(err.error_code, json.dumps(err.payload()).encode())
                return
            status, payload = fake._handle_api(method, params, files)
            self._reply(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))
        except Exception:  # noqa: BLE001 - report bugs of the stand-in loudly
            detail = traceback.format_exc()
            with fake._cond:
                fake.violations.append(f"INTERNAL ERROR of the stand-in: {detail}")
            self._reply(500, _error_body(500, "Internal Server Error"))

    def _parse_params(self, query: str, body: bytes) -> tuple[JSON, dict[str, UploadedFile]]:
        params: JSON = dict(parse_qsl(query, keep_blank_values=True))
        files: dict[str, UploadedFile] = {}
        content_type = self.headers.get("Content-Type", "")
        mime = content_type.split(";", 1)[0].strip().lower()
        if mime == "application/json":
            if body.strip():
                try:
                    data = json.loads(body)
                except ValueError:
                    raise ApiError("Bad Request: can't parse JSON encoded request body") from None
                if not isinstance(data, dict):
                    raise ApiError("Bad Request: JSON object expected as request body")
                params.update(data)
        elif mime == "application/x-www-form-urlencoded":
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        elif mime == "multipart/form-data":
            fields, files = parse_multipart(body, content_type)
            params.update(fields)
        return params, files

    def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        reason = self.responses.get(status, ("",))[0]
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            f"Server: {self.server_version}\r\n"
            f"Date: {self.date_time_string()}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            + ("Connection: close\r\n" if self.close_connection else "")
            + "\r\n"
        ).encode("latin-1")
        try:
            self.wfile.write(head + body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
