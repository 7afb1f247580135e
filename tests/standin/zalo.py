"""A strict local stand-in for the Zalo Bot Platform API, served over real HTTP.

Same style as the Telegram stand-in (tests/standin/server.py): a ThreadingHTTPServer on
127.0.0.1 in a daemon thread, URLs `/bot<TOKEN>/<method>` with JSON bodies, answers
`{ok, result}` or `{ok: false, error_code, description}`. Tests play users::

    zalo = FakeZalo()
    hoa = zalo.user("u-hoa", "Hoa")
    hoa.send("/start ABCD2345")
    replies = hoa.wait_replies()
    zalo.assert_clean()

Strict where the platform is: a text must have 1–2000 characters; the platform has no
buttons, so any keyboard or markup parameter is refused; a chat that never wrote to the
bot is unknown; getUpdates while a webhook is set is refused. Every refusal is recorded
in `violations`. With a webhook set, what users send is POSTed to the bot with the
`X-Bot-Api-Secret-Token` header (or a wrong/missing one, on request); a delivery can be
repeated; `fail_next` answers the next calls with an error (e.g. 429).
"""

from __future__ import annotations

import itertools
import json
import select
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

JSON = dict[str, Any]
TEXT_LIMIT = 2000
CAPTION_LIMIT = 2000

# Parameters each method accepts; anything else (reply_markup, keyboard, parse_mode…) is refused.
METHODS: dict[str, set[str]] = {
    "getMe": set(),
    "getUpdates": {"timeout"},
    "setWebhook": {"url", "secret_token"},
    "deleteWebhook": set(),
    "getWebhookInfo": set(),
    "sendMessage": {"chat_id", "text"},
    "sendPhoto": {"chat_id", "photo", "caption"},
    "sendChatAction": {"chat_id", "action"},
}


class ZaloError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass
class ZaloMessage:
    """What the bot sent to a chat."""

    chat_id: str
    message_id: str
    kind: str  # text | photo
    text: str = ""
    photo: str = ""
    caption: str = ""
    photo_bytes: bytes | None = None

    @property
    def body(self) -> str:
        return self.text or self.caption


@dataclass
class Delivery:
    """One webhook call the stand-in made to the bot."""

    event: JSON
    status: int
    header: str | None


@dataclass
class _Failure:
    method: str
    code: int
    description: str


class FakeZaloUser:
    """A Zalo account writing to the bot (its chat id is its user id, as in private chats)."""

    def __init__(self, fake: "FakeZalo", user_id: str, display_name: str) -> None:
        self.fake = fake
        self.id = user_id
        self.display_name = display_name
        self._seen = 0

    @property
    def chat_id(self) -> str:
        return self.id

    def send(self, text: str) -> JSON:
        return self.fake._user_event(self, "message.text.received", {"text": text})

    def send_sticker(self) -> JSON:
        return self.fake._user_event(self, "message.sticker.received", {"sticker": "d063f44dc80821567819"})

    def send_image(self, url: str = "https://example.invalid/a.jpg", caption: str = "") -> JSON:
        return self.fake._user_event(self, "message.image.received", {"photo": url, "caption": caption})

    def send_unsupported(self) -> JSON:
        return self.fake._user_event(self, "message.unsupported.received", {})

    def send_in_group(self, group_id: str, text: str) -> JSON:
        return self.fake._user_event(self, "message.text.received", {"text": text}, chat=(group_id, "GROUP"))

    def messages(self) -> list[ZaloMessage]:
        return self.fake.sent_to(self.id)

    def mark_seen(self) -> None:
        self._seen = len(self.messages())

    def wait_replies(self, timeout: float = 10.0, quiet: float = 0.3) -> list[ZaloMessage]:
        """The bot's new messages to this chat: the first one, then until `quiet` seconds pass."""
        deadline = time.monotonic() + timeout
        while len(self.messages()) <= self._seen:
            if time.monotonic() > deadline:
                raise AssertionError(f"no reply to Zalo user {self.id} within {timeout}s")
            time.sleep(0.02)
        count = len(self.messages())
        settle = time.monotonic() + quiet
        while time.monotonic() < settle:
            time.sleep(0.02)
            if len(self.messages()) != count:
                count = len(self.messages())
                settle = time.monotonic() + quiet
        new = self.messages()[self._seen:]
        self._seen = len(self.messages())
        return new

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> ZaloMessage:
        """The first message (seen or not) that satisfies `predicate`, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages():
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                raise AssertionError(f"Zalo user {self.id}: no such message; got {[m.body[:60] for m in self.messages()]}")
            time.sleep(0.05)


class FakeZalo:
    """The Zalo Bot Platform stand-in."""

    def __init__(self, token: str = "1234567890:zalo-test-token", *, autostart: bool = True) -> None:
        self.token = token
        self.violations: list[str] = []
        self.requests: list[tuple[str, JSON]] = []
        self.deliveries: list[Delivery] = []
        self.count_429 = 0
        self._cond = threading.Condition(threading.RLock())
        self._users: dict[str, FakeZaloUser] = {}
        self._known_chats: set[str] = set()
        self._sent: list[ZaloMessage] = []
        self._queue: list[JSON] = []
        self._events: list[JSON] = []
        self._webhook_url = ""
        self._webhook_secret = ""
        self._failures: list[_Failure] = []
        self._ids = itertools.count(1)
        self._connection = threading.local()  # the socket of the request being handled, per thread
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if autostart:
            self.start()

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> "FakeZalo":
        if self._server is None:
            server = _Server(("127.0.0.1", 0), _Handler)
            server.fake = self
            self._server = server
            self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                                            name="FakeZalo", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            with self._cond:
                self._cond.notify_all()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeZalo":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ---- test side ---------------------------------------------------------------------------

    def user(self, user_id: str, display_name: str = "") -> FakeZaloUser:
        with self._cond:
            if user_id not in self._users:
                self._users[user_id] = FakeZaloUser(self, user_id, display_name or user_id)
            return self._users[user_id]

    def sent_to(self, chat_id: str) -> list[ZaloMessage]:
        with self._cond:
            return [m for m in self._sent if m.chat_id == chat_id]

    def all_sent(self) -> list[ZaloMessage]:
        with self._cond:
            return list(self._sent)

    def calls(self, method: str) -> list[JSON]:
        with self._cond:
            return [p for m, p in self.requests if m == method]

    def fail_next(self, method: str, code: int = 429, description: str = "Too Many Requests", times: int = 1) -> None:
        with self._cond:
            self._failures += [_Failure(method, code, description)] * times

    @property
    def webhook_url(self) -> str:
        return self._webhook_url

    def assert_clean(self) -> None:
        assert self.violations == [], "Zalo stand-in violations:\n" + "\n".join(self.violations)

    def deliver(self, event: JSON, *, header: str | None = "right") -> int:
        """POST one event to the bot's webhook: with the right secret, a `wrong` one, or none (None)."""
        if not self._webhook_url:
            raise AssertionError("no webhook is set")
        secret = {"right": self._webhook_secret, "wrong": self._webhook_secret + "x"}.get(header or "", None)
        request = urllib.request.Request(self._webhook_url, method="POST",
                                         data=json.dumps({"ok": True, "result": event}).encode(),
                                         headers={"Content-Type": "application/json"})
        if secret is not None:
            request.add_header("X-Bot-Api-Secret-Token", secret)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        with self._cond:
            self.deliveries.append(Delivery(event, status, header))
        return status

    def last_event(self, user: FakeZaloUser) -> JSON:
        with self._cond:
            return [e for e in self._events if e["message"]["from"]["id"] == user.id][-1]

    # ---- events ------------------------------------------------------------------------------

    def _user_event(self, user: FakeZaloUser, name: str, content: JSON,
                    chat: tuple[str, str] | None = None) -> JSON:
        chat_id, chat_type = chat or (user.id, "PRIVATE")
        message = {"from": {"id": user.id, "display_name": user.display_name, "is_bot": False},
                   "chat": {"id": chat_id, "chat_type": chat_type},
                   "message_id": f"m{next(self._ids):08d}", "date": int(time.time() * 1000), **content}
        event = {"event_name": name, "message": message}
        with self._cond:
            self._known_chats.add(chat_id)
            self._events.append(event)
            webhook = bool(self._webhook_url)
            if not webhook:
                self._queue.append(event)
                self._cond.notify_all()
        if webhook:
            self.deliver(event)
        return event

    # ---- the API -----------------------------------------------------------------------------

    def _handle(self, token: str, method: str, params: JSON) -> tuple[int, JSON]:
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        with self._cond:
            self.requests.append((method, dict(params)))
        try:
            if method not in METHODS:
                raise ZaloError(404, f"method {method} not found")
            unknown = set(params) - METHODS[method]
            if unknown:
                raise ZaloError(400, f"unsupported parameters: {sorted(unknown)} (no buttons or markup on Zalo)")
            self._check_failure(method)
            return 200, {"ok": True, "result": getattr(self, f"_api_{method}")(params)}
        except ZaloError as err:
            if err.code == 429:
                with self._cond:
                    self.count_429 += 1
            elif err.code != 408:
                with self._cond:
                    self.violations.append(f"{method}: {err.description}")
            return err.code, {"ok": False, "error_code": err.code, "description": err.description}

    def _check_failure(self, method: str) -> None:
        with self._cond:
            for i, failure in enumerate(self._failures):
                if failure.method == method:
                    del self._failures[i]
                    if failure.code == 429:
                        raise ZaloError(429, failure.description)
                    # an injected failure is not the bot's fault: not a violation
                    raise _Injected(failure.code, failure.description)

    def _chat(self, params: JSON) -> str:
        chat_id = str(params.get("chat_id") or "")
        if chat_id not in self._known_chats:
            raise ZaloError(400, f"unknown chat: {chat_id!r}")
        return chat_id

    def _store(self, message: ZaloMessage) -> JSON:
        with self._cond:
            self._sent.append(message)
            self._cond.notify_all()
        return {"message_id": message.message_id, "date": int(time.time() * 1000)}

    def _api_getMe(self, params: JSON) -> JSON:
        return {"id": self.token.split(":", 1)[0], "account_name": "bot.congdoan", "account_type": "BASIC",
                "can_join_groups": False}

    def _api_getUpdates(self, params: JSON) -> JSON:
        if self._webhook_url:
            raise ZaloError(409, "getUpdates cannot be used while a webhook is set")
        timeout = min(float(params.get("timeout") or 0), 30.0)
        deadline = time.monotonic() + timeout
        connection = getattr(self._connection, "socket", None)
        with self._cond:
            while not self._queue or _peer_closed(connection):
                left = deadline - time.monotonic()
                if left <= 0 or self._server is None or _peer_closed(connection):
                    # like the platform, an event is not handed to a poller that has gone away
                    # (a killed bot): it waits for the next getUpdates
                    raise ZaloError(408, "Request timeout")
                self._cond.wait(min(left, 0.5))
            return self._queue.pop(0)

    def _api_setWebhook(self, params: JSON) -> JSON:
        url, secret = str(params.get("url") or ""), str(params.get("secret_token") or "")
        if not url.startswith(("http://", "https://")) or not 8 <= len(secret) <= 256:
            raise ZaloError(400, "setWebhook needs a URL and a secret_token of 8-256 characters")
        with self._cond:
            self._webhook_url, self._webhook_secret = url, secret
        return {"url": url, "updated_at": int(time.time() * 1000)}

    def _api_deleteWebhook(self, params: JSON) -> JSON:
        with self._cond:
            self._webhook_url = self._webhook_secret = ""
        return {"url": "", "updated_at": int(time.time() * 1000)}

    def _api_getWebhookInfo(self, params: JSON) -> JSON:
        return {"url": self._webhook_url, "updated_at": int(time.time() * 1000)}

    def _api_sendMessage(self, params: JSON) -> JSON:
        chat_id = self._chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= TEXT_LIMIT:
            raise ZaloError(400, f"text must have 1-{TEXT_LIMIT} characters, got {len(text or '')}")
        return self._store(ZaloMessage(chat_id, f"b{next(self._ids):08d}", "text", text=text))

    def _api_sendPhoto(self, params: JSON) -> JSON:
        chat_id = self._chat(params)
        photo, caption = str(params.get("photo") or ""), str(params.get("caption") or "")
        if not photo.startswith(("http://", "https://")):
            raise ZaloError(400, "photo must be a URL")
        if len(caption) > CAPTION_LIMIT:
            raise ZaloError(400, f"caption over {CAPTION_LIMIT} characters")
        content = None
        if urlsplit(photo).hostname in ("127.0.0.1", "localhost"):  # the platform fetches the image
            try:
                with urllib.request.urlopen(photo, timeout=10) as answer:
                    content = answer.read()
            except (urllib.error.URLError, OSError) as exc:
                raise ZaloError(400, f"photo URL could not be fetched: {exc}") from None
        return self._store(ZaloMessage(chat_id, f"b{next(self._ids):08d}", "photo", photo=photo, caption=caption,
                                       photo_bytes=content))

    def _api_sendChatAction(self, params: JSON) -> JSON:
        self._chat(params)
        if params.get("action") not in ("typing", "upload_photo"):
            raise ZaloError(400, "unknown chat action")
        return {}


class _Injected(ZaloError):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeZalo


def _peer_closed(connection: socket.socket | None) -> bool:
    """The client closed its end (its process died): readable, and a peek reads nothing."""
    if connection is None:
        return False
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        if not path.startswith("/bot"):
            return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token, _, method = path[len("/bot"):].partition("/")
        params: JSON = {}
        if body.strip():
            if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
                with fake._cond:
                    fake.violations.append(f"{method}: body is not JSON")
                return self._reply(400, {"ok": False, "error_code": 400, "description": "JSON body expected"})
            try:
                params = json.loads(body)
            except ValueError:
                return self._reply(400, {"ok": False, "error_code": 400, "description": "bad JSON"})
        fake._connection.socket = self.connection
        status, answer = fake._handle(token, method, params if isinstance(params, dict) else {})
        self._reply(status, answer)

    def _reply(self, status: int, payload: JSON) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:  # the bot went away mid-poll (a SIGKILL test)
            self.close_connection = True
