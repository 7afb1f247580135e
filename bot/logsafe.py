"""Logging that can run for months: no secrets in any line, no error repeated a million times.

`install(secrets)` puts two filters on the root handlers (so they see the records of every
logger, at every level):

* `Redact` replaces the bot token (and anything shaped like a Telegram token) in the
  message, the arguments, the traceback and the stack: httpx logs request URLs, which
  carry the token, and python-telegram-bot puts it in some exception messages.
* `RepeatLimit` lets at most `burst` records of one kind (logger, level, message
  template) through per `period` seconds, from WARNING up; the next record after the
  period says how many were left out. A poller stuck on the same error cannot fill the
  disk.

The uncaught-exception hook is replaced too, so a crash prints a redacted traceback.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import traceback
from collections.abc import Iterable

TOKEN_SHAPE = re.compile(r"\b\d{3,}:[A-Za-z0-9_-]{20,}")
MASK = "<token>"


class Redact(logging.Filter):
    """Remove secrets from every part of a record that ends up in a log line."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return TOKEN_SHAPE.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: log what we have
            message = f"{record.msg!r} {record.args!r}"
        cleaned = self.clean(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


class RepeatLimit(logging.Filter):
    """At most `burst` records of one kind per `period` seconds (from `level` up)."""

    def __init__(self, burst: int = 5, period: float = 60.0, level: int = logging.WARNING) -> None:
        super().__init__()
        self.burst = burst
        self.period = period
        self.level = level
        self._seen: dict[tuple[str, int, str], list[float | int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        entry = self._seen.get(key)
        if entry is None or now - float(entry[0]) >= self.period:
            left_out = int(entry[2]) if entry is not None else 0
            if len(self._seen) > 2000:  # forget old kinds rather than grow without end
                self._seen.clear()
            self._seen[key] = [now, 1, 0]
            if left_out:
                record.msg = f"{record.msg} [and {left_out} more like this not logged]"
            return True
        entry[1] = int(entry[1]) + 1
        if int(entry[1]) > self.burst:
            entry[2] = int(entry[2]) + 1
            return False
        return True


def install(secrets: Iterable[str | None] = (), *, burst: int = 5, period: float = 60.0,
            handlers: Iterable[logging.Handler] | None = None, hook: bool = True) -> Redact:
    """Put the filters on the root logger's handlers and redact uncaught tracebacks."""
    redact = Redact(secrets)
    limit = RepeatLimit(burst, period)
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        for old in [f for f in handler.filters if isinstance(f, (Redact, RepeatLimit))]:
            handler.removeFilter(old)
        handler.addFilter(limit)
        handler.addFilter(redact)

    def excepthook(kind, value, tb) -> None:  # type: ignore[no-untyped-def]
        sys.stderr.write(redact.clean("".join(traceback.format_exception(kind, value, tb))))

    if hook:
        sys.excepthook = excepthook
    return redact
