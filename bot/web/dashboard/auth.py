"""The dashboard's session cookie, CSRF tokens, sign-in rate limit and security headers.

The cookie holds the session token (bot/services/web_login.py) signed with the bot's link
secret under its own salt: a forged or altered cookie fails the signature before the
database is asked, and a well-signed one still needs a live session row. The CSRF token of
a session is an HMAC of its token, so it needs no storage and changes with every session.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import deque

from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.services.web_login import SESSION_HOURS

COOKIE = "congdoan_dashboard"
SALT = "congdoan-dashboard-session"
MAX_AGE = SESSION_HOURS * 3600

# A page never runs a script, never loads anything from elsewhere, and is never framed.
SECURITY_HEADERS = {
    "content-security-policy": ("default-src 'none'; style-src 'self'; img-src 'self'; script-src 'none'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",  # a sign-in link's token never leaves in a Referer
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cache-control": "no-store",
}


class Cookies:
    """Signs session tokens into cookie values and reads them back; derives CSRF tokens."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT)
        self._csrf_key = hashlib.sha256(("csrf|" + secret).encode()).digest()

    def value(self, session_token: str) -> str:
        return self._serializer.dumps(session_token)

    def session_token(self, value: str | None) -> str | None:
        """The session token of a good cookie; None for a missing, altered or too old one."""
        if not value:
            return None
        try:
            token = self._serializer.loads(value, max_age=MAX_AGE)
        except BadSignature:  # SignatureExpired is a BadSignature too
            return None
        return token if isinstance(token, str) else None

    def csrf(self, session_token: str) -> str:
        return hmac.new(self._csrf_key, session_token.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session_token: str, sent: object) -> bool:
        return isinstance(sent, str) and hmac.compare_digest(self.csrf(session_token), sent)


class RateLimit:
    """At most `limit` events per key within `window` seconds (sign-in attempts per client address)."""

    def __init__(self, limit: int, window: float, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        if len(self._events) > 10_000:  # forget idle addresses
            for stale in [k for k, v in self._events.items() if not v]:
                del self._events[stale]
        return True
