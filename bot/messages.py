"""Channel-neutral message types: what a person sent (Incoming) and what the bot answers (Reply).

Channels (Telegram, Zalo, the console) translate platform updates into `Incoming` and
render `Reply` objects: buttons as an inline keyboard on Telegram, as a numbered or
keyword list where there are no buttons. Reply text is a small subset of HTML
(<b>, <i>, <code>); anything that comes from data must pass through `esc()`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

TELEGRAM_TEXT_LIMIT = 4096


def esc(value: object) -> str:
    """Escape data (unit names, typed text) for the reply markup."""
    return html.escape(str(value), quote=False)


def plain(text: str) -> str:
    """Strip the reply markup to plain text (console, Zalo)."""
    return html.unescape(re.sub(r"</?(b|i|code|u|s)>", "", text))


@dataclass(frozen=True)
class FileRef:
    """A file a person sent (document or photo), by the channel's own id."""

    file_id: str
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Incoming:
    """One thing a person did: typed text, pressed a button, or sent a file."""

    channel: str
    user_id: str
    chat_id: str
    text: str | None = None
    data: str | None = None  # payload of a pressed button
    language_code: str | None = None
    display_name: str = ""
    username: str | None = None
    file: FileRef | None = None
    message_id: str | None = None  # the message that carried the pressed button
    update_id: int | None = None  # the channel's increasing update number (to spot redeliveries)


@dataclass(frozen=True)
class Option:
    """A choice offered with a reply; `data` comes back in Incoming.data when chosen."""

    label: str
    data: str


@dataclass(frozen=True)
class OutFile:
    """A file to send: bytes in memory, a path on disk, or a file the channel already holds (its id)."""

    file_name: str
    content: bytes | None = None
    path: str | None = None
    kind: str = "document"  # document | photo
    caption: str = ""
    file_id: str | None = None  # a channel file id (e.g. of a document a person sent): re-sent without upload


@dataclass
class Reply:
    """One message to send back.

    `options` are rows of choices. With `numbered` they are also listed as 1., 2., …
    so typing a digit chooses; otherwise (a step that expects a typed number) they are
    chosen by typing their label.
    """

    text: str
    options: list[list[Option]] = field(default_factory=list)
    numbered: bool = True
    file: OutFile | None = None

    def flat_options(self) -> list[Option]:
        return [o for row in self.options for o in row]


@dataclass
class Response:
    """Everything the core answers to one Incoming: messages, and a short toast for a button press."""

    replies: list[Reply] = field(default_factory=list)
    toast: str | None = None
    stale: bool = False  # a button of a step that has passed (its keyboard was already dealt with)


def response_to_json(response: Response) -> dict:
    """A Response as JSON (files are not kept), to re-send after a crash."""
    return {
        "toast": response.toast,
        "replies": [
            {"text": r.text, "numbered": r.numbered,
             "options": [[[o.label, o.data] for o in row] for row in r.options]}
            for r in response.replies if r.file is None
        ],
    }


def response_from_json(data: dict) -> Response:
    return Response(
        toast=data.get("toast"),
        replies=[
            Reply(text=r["text"], numbered=r.get("numbered", True),
                  options=[[Option(label, d) for label, d in row] for row in r.get("options", [])])
            for r in data.get("replies", [])
        ],
    )


def split_text(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split a long text at line breaks (then spaces) into chunks of at most `limit` characters.

    Tags of the reply markup never span lines, so a split at a line break keeps each chunk
    well-formed.
    """
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:cut])
            line = line[cut:].lstrip(" ")
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return [c for c in chunks if c.strip()]


class DeliveryError(Exception):
    """A push could not be delivered; the subclasses say what the sender should do."""


class RateLimited(DeliveryError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


class Unreachable(DeliveryError):
    """The person blocked the bot or deleted the account: do not retry."""


class Rejected(DeliveryError):
    """The platform refused the message itself (bad request): retrying will not help."""


class Transient(DeliveryError):
    """A network or server hiccup: retry with backoff."""
