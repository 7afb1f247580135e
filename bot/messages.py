"""Channel-neutral message types: what a person sent (Incoming) and what the bot answers (Reply).

Channels (Telegram, Zalo, the console) translate platform updates into `Incoming` and
render `Reply` objects: buttons as an inline keyboard on Telegram, as a numbered or
keyword list where there are no buttons. Reply text is a small subset of HTML
(<b>, <i>, <code>); anything that comes from data must pass through `esc()`.

`reply_to_json` / `reply_from_json` are the one codec of a Reply as JSON: the outbox
payload of every push and the last answer kept for a redelivered update. The core
knows no platform's limits; each channel declares its own (bot/channels/base.py).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

PAYLOAD_VERSION = 1


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
    # the content, fetched from the channel on demand (None where the channel cannot)
    read: Callable[[], bytes] | None = field(default=None, compare=False, repr=False)
    stored: str | None = None  # the bot's own copy (a key under the files folder), when the channel fetched it


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
    update_id: int | None = None  # the channel's update number (informative: it may go down)
    inbox_id: int | None = None  # the stored update (bot.services.inbox): handled once, with the state change
    edited: bool = False  # the person edited a message sent earlier (the bot does not take edits)


@dataclass(frozen=True)
class Option:
    """A choice offered with a reply; `data` comes back in Incoming.data when chosen."""

    label: str
    data: str


@dataclass(frozen=True)
class MenuCommand:
    """A command as a channel lists it in its own command menu (Telegram's "/" list)."""

    name: str
    description: str


@dataclass(frozen=True)
class OutFile:
    """A file to send: bytes in memory, a path on disk, or a file the channel already holds (its id)."""

    file_name: str
    content: bytes | None = None
    path: str | None = None
    kind: str = "document"  # document | photo
    caption: str = ""
    file_id: str | None = None  # a channel file id (e.g. of a document a person sent): re-sent without upload
    file_channel: str | None = None  # the channel `file_id` belongs to (other channels use `path`/`stored`)
    stored: str | None = None  # the bot's own copy: a key under the files folder (bot/services/files.py)


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


def reply_to_json(reply: Reply, **extra: object) -> dict:
    """A Reply as JSON: the outbox payload (bytes in memory are not kept; store them first).

    `extra` keys travel with it (e.g. a reminder's `skip_if_submitted`); readers ignore them.
    """
    data: dict = {"v": PAYLOAD_VERSION, "text": reply.text, "numbered": reply.numbered,
                  "options": [[[o.label, o.data] for o in row] for row in reply.options]}
    if reply.file is not None:
        f = reply.file
        data["file"] = {k: v for k, v in {
            "name": f.file_name, "kind": f.kind, "caption": f.caption, "path": f.path, "file_id": f.file_id,
            "file_channel": f.file_channel, "stored": f.stored}.items() if v not in (None, "")}
        data["file"].setdefault("name", f.file_name)
    data.update(extra)
    return data


def reply_from_json(data: dict) -> Reply:
    """Read a payload written by `reply_to_json`, or by the older ad-hoc encoding.

    The older payloads (no "v") had unnumbered options and a file whose `file_id` was
    a Telegram id.
    """
    options = [[Option(str(label), str(d)) for label, d in row] for row in data.get("options") or []]
    file = None
    raw = data.get("file")
    if raw:
        legacy = "v" not in data
        file = OutFile(file_name=raw.get("name") or "file", path=raw.get("path"), kind=raw.get("kind", "document"),
                       caption=raw.get("caption", ""), file_id=raw.get("file_id"),
                       file_channel=raw.get("file_channel") or ("telegram" if legacy and raw.get("file_id") else None),
                       stored=raw.get("stored"))
    return Reply(text=data.get("text") or "", options=options, numbered=bool(data.get("numbered", False)),
                 file=file)


def response_to_json(response: Response) -> dict:
    """A Response as JSON, to send (again) from the inbox after a crash.

    Files the channel holds (an id) or that the bot keeps (a path, a stored key) are kept;
    bytes made in memory (an export) are not: such a reply is re-sent with its text only.
    """
    replies = []
    for r in response.replies:
        f = r.file
        if f is not None and f.content is not None and not (f.file_id or f.path or f.stored):
            if r.text:
                r = Reply(text=r.text, options=r.options, numbered=r.numbered)
            elif f.caption:
                r = Reply(text=f.caption, options=r.options, numbered=r.numbered)
            else:
                continue
        replies.append(reply_to_json(r))
    return {"toast": response.toast, "stale": response.stale, "replies": replies}


def response_from_json(data: dict) -> Response:
    return Response(toast=data.get("toast"), stale=bool(data.get("stale")),
                    replies=[reply_from_json({"numbered": True, **r}) for r in data.get("replies", [])])


def split_text(text: str, limit: int) -> list[str]:
    """Split a long text into chunks of at most `limit` characters of markup.

    Breaks at line breaks, then spaces, and only then inside a long word — never inside
    a tag or an entity (``&amp;``). A tag open at a break is closed at the end of the
    chunk and opened again at the start of the next, so every chunk is well-formed.
    """
    if len(text) <= limit:
        return [text]
    return list(_split(text, limit))


_ATOM = re.compile(r"(<[^<>]*>|&(?:#\d+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);)")
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)")
_Open = list[tuple[str, str]]  # open tags, outermost first: (name, the opening tag as written)


def _atoms(text: str) -> list[str]:
    """The text as indivisible pieces: a tag, an entity, or one character."""
    atoms: list[str] = []
    for i, part in enumerate(_ATOM.split(text)):
        if i % 2:
            atoms.append(part)
        else:
            atoms.extend(part)
    return atoms


def _closers(tags: _Open) -> str:
    return "".join(f"</{name}>" for name, _raw in reversed(tags))


def _after(tags: _Open, atom: str) -> _Open:
    """The open tags after one atom."""
    tag = _TAG.match(atom) if atom.startswith("<") else None
    if tag is None:
        return tags
    if not tag[1]:
        return [*tags, (tag[2].lower(), atom)]
    return tags[:-1] if tags and tags[-1][0] == tag[2].lower() else tags


def _best_break(start: int, stop: int, newline: tuple[int, _Open] | None,
                space: tuple[int, _Open] | None) -> tuple[int, _Open] | None:
    """A line break that leaves the chunk at least half full, else a space that does, else any."""
    half = start + (stop - start) // 2
    for candidate, least in ((newline, half), (space, half), (newline, start), (space, start)):
        if candidate is not None and candidate[0] > least:
            return candidate
    return None


@lru_cache(maxsize=64)  # a broadcast sizes and sends the same text for every recipient
def _split(text: str, limit: int) -> tuple[str, ...]:
    atoms = _atoms(text)
    chunks: list[str] = []
    tags: _Open = []  # open where the current chunk starts
    i = 0
    while i < len(atoms):
        opening = "".join(raw for _name, raw in tags)
        open_now = tags
        size, closing = len(opening), len(_closers(tags))
        newline: tuple[int, _Open] | None = None  # the last place to break, with the tags open there
        space: tuple[int, _Open] | None = None
        j = i
        while j < len(atoms):
            atom = atoms[j]
            after = _after(open_now, atom)
            after_closing = closing if after is open_now else len(_closers(after))
            if size + len(atom) + after_closing > limit and j > i:
                break
            size += len(atom)
            open_now, closing = after, after_closing
            if atom == "\n":
                newline = (j, open_now)
            elif atom == " ":
                space = (j, open_now)
            j += 1
        if j == len(atoms):
            chunks.append(opening + "".join(atoms[i:]))
            break
        cut = _best_break(i, j, newline, space)
        if cut is None:  # one long word: cut between two atoms
            end, open_at_cut, resume = j, open_now, j
        else:
            end, open_at_cut, resume = cut[0], cut[1], cut[0] + 1
            while atoms[end] == " " and resume < len(atoms) and atoms[resume] == " ":
                resume += 1
        chunks.append(opening + "".join(atoms[i:end]) + _closers(open_at_cut))
        tags, i = open_at_cut, resume
    return tuple(c for c in chunks if plain(c).strip())


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
