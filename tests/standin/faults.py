"""Fault injection: rate limits and flood waits (429), injected failures, users who blocked the bot (403)."""

from __future__ import annotations

import collections
import math
import time
from .spec import ApiError
from .records import (
    _Failure,
)

class FaultInjection:
    """FakeTelegram's simulated conditions; none is a violation by itself (ignoring retry_after is)."""

    def block_user(self, user_id: int) -> None:
        """Sends (and edits) to this chat fail with 403 "bot was blocked by the user"."""
        with self._cond:
            self._chat_state(user_id).blocked = True

    def unblock_user(self, user_id: int) -> None:
        with self._cond:
            self._chat_state(user_id).blocked = False

    # ----------------------------------------------------------------- controls
    def set_rate_limit(self, per_second: float | None) -> None:
        """Limit send* requests (not sendChatAction) globally; ``None`` disables.

        A sliding window of ``max(1, 1/per_second)`` seconds admits
        ``round(per_second * window)`` requests; further ones get 429 with an
        integer ``retry_after`` >= 1.
        """
        with self._cond:
            self._rate = per_second
            self._sends.clear()

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` ("*" = any) fail with this error.

        Injected 429s with ``retry_after`` start a flood wait like real ones.
        """
        with self._cond:
            self._failures.setdefault(method, collections.deque()).append(
                _Failure(error_code, description, retry_after, times)
            )

    def fail_for(
        self,
        method: str,
        seconds: float,
        error_code: int = 502,
        description: str = "Bad Gateway",
    ) -> None:
        """An outage: every call of ``method`` ("*" = any) fails with this error for ``seconds``.

        Calls the outage answers are logged in ``errors`` like any error response. A new
        call for the same method replaces the previous outage; ``seconds=0`` ends it.
        """
        with self._cond:
            self._outages[method] = (time.monotonic() + seconds, error_code, description)

    # -------------------------------------------------------------- throttling
    def _start_flood(self, retry_after: int) -> None:
        now = time.monotonic()
        if now >= self._flood_until:
            self._flood_started = now
        self._flood_until = max(self._flood_until, now + retry_after)

    def _check_flood(self, method: str) -> None:
        now = time.monotonic()
        remaining = self._flood_until - now
        if remaining <= 0.02:
            return
        self.count_429 += 1
        if now - self._flood_started > self.flood_grace:
            self.violations.append(
                f"{method}: sent during a flood wait, retry_after not respected "
                f"({remaining:.2f}s were left)"
            )
        retry = max(1, math.ceil(remaining))
        raise ApiError(
            f"Too Many Requests: retry after {retry}", 429, retry_after=retry, violation=False
        )

    def _check_injected(self, method: str) -> None:
        for key in (method, "*"):
            outage = self._outages.get(key)
            if outage is not None and time.monotonic() < outage[0]:
                raise ApiError(outage[2], outage[1], violation=False)
        for key in (method, "*"):
            queue = self._failures.get(key)
            if not queue:
                continue
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.popleft()
            if failure.error_code == 429:
                self.count_429 += 1
                if failure.retry_after:
                    self._start_flood(failure.retry_after)
            raise ApiError(
                failure.description, failure.error_code,
                retry_after=failure.retry_after, violation=False,
            )

    def _check_rate(self) -> None:
        if not self._rate:
            return
        now = time.monotonic()
        window = max(1.0, 1.0 / self._rate)
        capacity = max(1, round(self._rate * window))
        while self._sends and self._sends[0] <= now - window:
            self._sends.popleft()
        if len(self._sends) >= capacity:
            retry = max(1, math.ceil(self._sends[0] + window - now))
            self.count_429 += 1
            self._start_flood(retry)
            raise ApiError(
                f"Too Many Requests: retry after {retry}", 429, retry_after=retry,
                violation=False,
            )
        self._sends.append(now)

