"""Talk to the core in-process (no HTTP), for fast conversation tests of handlers.

End-to-end tests use the Bot API stand-in instead (tests/e2e.py); these exercise the
same router with the same database, one Incoming at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.messages import Incoming, Reply, Response, plain
from handlers import router


@dataclass
class CoreChat:
    engine: object
    settings: object
    user_id: str = "1001"
    channel: str = "test"
    language_code: str | None = "vi"
    now: datetime | None = None
    history: list[Response] = field(default_factory=list)

    def _send(self, text: str | None = None, data: str | None = None) -> Response:
        incoming = Incoming(channel=self.channel, user_id=self.user_id, chat_id=self.user_id,
                            text=text, data=data, language_code=self.language_code,
                            display_name="Test User")
        response = router.handle(self.engine, self.settings, incoming, now=self.now)
        self.history.append(response)
        return response

    def send(self, text: str) -> Response:
        return self._send(text=text)

    def press(self, label: str) -> Response:
        """Press the option with this label in the latest reply that offers options."""
        for response in reversed(self.history):
            for reply in reversed(response.replies):
                if reply.options:
                    for option in reply.flat_options():
                        if option.label == label:
                            return self._send(data=option.data)
                    raise AssertionError(f"no option {label!r} in {[o.label for o in reply.flat_options()]}")
        raise AssertionError("no reply with options yet")

    def press_data(self, data: str) -> Response:
        return self._send(data=data)

    @property
    def text(self) -> str:
        """Plain text of every reply of the last response."""
        return "\n".join(plain(r.text) for r in self.history[-1].replies)

    @property
    def last_reply(self) -> Reply:
        return self.history[-1].replies[-1]

    def options(self) -> list[str]:
        for reply in reversed(self.history[-1].replies):
            if reply.options:
                return [o.label for o in reply.flat_options()]
        return []

    def verify_dialog(self, steps: list[tuple[str, str]]) -> None:
        """Each step: (what the user types, a fragment the answer must contain)."""
        for says, expects in steps:
            self.send(says)
            assert expects in self.text, f"after {says!r} expected {expects!r} in:\n{self.text}"
