"""Telegram-compatible parsers for the ``HTML``, ``MarkdownV2`` and ``Markdown`` parse modes.

The HTML parser follows the algorithm of tdlib's ``parse_html`` (the code behind
the real Bot API server) closely, including its error messages, so that a
message rejected here would be rejected by Telegram with
``Bad Request: can't parse entities: <message>``:

* every ``<`` starts a tag; only the tags Telegram documents are accepted
  (``b strong i em u ins s strike del span tg-spoiler a code pre blockquote
  tg-emoji tg-time``); ``span`` needs ``class="tg-spoiler"``;
* end tags must match the innermost open tag; unclosed tags are errors;
* the named entities ``&lt; &gt; &amp; &quot;`` and numeric ``&#NN; &#xNN;``
  are decoded.

One deliberate difference: with ``strict=True`` (the default) a ``&`` that does
not start one of those entities is an error.  Real Telegram keeps such a ``&``
literally, but a bot that forgets ``html.escape`` will sooner or later produce
``&lt;`` by accident (or a bare ``<``), so the stand-in insists on escaping.
Pass ``strict=False`` to get Telegram's lenient behaviour.

The result of every parser is ``(plain_text, entities)`` where entities are Bot
API ``MessageEntity`` dicts with offsets/lengths in UTF-16 code units, sorted
like Telegram sorts them.  :func:`trim_entities_text` applies Telegram's
stripping of leading/trailing whitespace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Entity = dict[str, Any]

__all__ = [
    "Entity",
    "EntityParseError",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "parse_text",
    "trim_entities_text",
    "utf16_len",
]


class EntityParseError(ValueError):
    """A formatting error; ``str(err)`` is what Telegram puts after ``can't parse entities: ``."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (the unit of entity offsets)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


class _Output:
    """Accumulates plain text while tracking the UTF-16 offset."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0

    def add(self, piece: str) -> None:
        if piece:
            self.parts.append(piece)
            self.offset += utf16_len(piece)

    def text(self) -> str:
        return "".join(self.parts)


def _sorted(entities: list[Entity]) -> list[Entity]:
    return sorted(
        (e for e in entities if e["length"] > 0),
        key=lambda e: (e["offset"], -e["length"]),
    )


# --------------------------------------------------------------------------- HTML

_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
        "tg-spoiler", "tg-emoji", "tg-time", "span", "pre", "code", "blockquote",
    }
)
_SIMPLE_TAG_ENTITY = {
    "b": "bold", "strong": "bold",
    "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler",
    "code": "code",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_SPACE = " \t\r\n\f\v"
_PLAIN_RUN = re.compile(r"[^<&]+")
_USER_LINK = re.compile(r"^tg://user\?id=(\d+)$")


def _decode_html_entity(text: str, pos: int, strict: bool) -> tuple[str, int] | None:
    """Decode the entity starting at ``text[pos] == '&'``; return (char, next_pos)."""
    n = len(text)
    i = pos + 1
    if i < n and text[i] == "#":
        i += 1
        base = 10
        if i < n and text[i] in "xX":
            base = 16
            i += 1
        start = i
        digits = "0123456789abcdefABCDEF" if base == 16 else "0123456789"
        while i < n and text[i] in digits and i - start < 8:
            i += 1
        if i == start:
            return None
        code = int(text[start:i], base)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        start = i
        while i < n and text[i].isascii() and text[i].isalpha() and i - start < 10:
            i += 1
        name = text[start:i]
        if name not in _NAMED_ENTITIES:
            return None
        char = _NAMED_ENTITIES[name]
    if i < n and text[i] == ";":
        return char, i + 1
    if strict:
        return None
    return char, i


@dataclass
class _OpenTag:
    name: str
    start: int  # UTF-16 offset in the output
    byte: int  # byte offset of '<' in the source
    attrs: dict[str, str] = field(default_factory=dict)
    language: str | None = None


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML; raise :class:`EntityParseError` like Telegram would."""
    out = _Output()
    entities: list[Entity] = []
    stack: list[_OpenTag] = []
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch == "&":
            decoded = _decode_html_entity(text, i, strict)
            if decoded is None:
                if strict:
                    raise EntityParseError(
                        f"Unsupported HTML entity or unescaped \"&\" at byte offset "
                        f"{_byte_offset(text, i)} (escape it as &amp;)"
                    )
                out.add("&")
                i += 1
            else:
                out.add(decoded[0])
                i = decoded[1]
            continue
        if ch != "<":
            m = _PLAIN_RUN.match(text, i)
            assert m is not None
            out.add(m.group())
            i = m.end()
            continue

        begin = i
        begin_byte = _byte_offset(text, begin)
        i += 1
        if i < n and text[i] == "/":
            # ---- end tag
            i += 1
            name_start = i
            while i < n and text[i] not in _HTML_SPACE and text[i] != ">":
                i += 1
            end_name = text[name_start:i].lower()
            while i < n and text[i] in _HTML_SPACE:
                i += 1
            if i >= n or text[i] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {begin_byte}")
            i += 1
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {begin_byte}")
            top = stack[-1]
            if end_name and end_name != top.name:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {begin_byte}, expected "
                    f'"</{top.name}>", found "</{end_name}>"'
                )
            stack.pop()
            _close_html_tag(top, out.offset, stack, entities)
            continue

        # ---- start tag
        name_start = i
        while i < n and text[i] not in _HTML_SPACE and text[i] != ">":
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin_byte}")
        tag = text[name_start:i].lower()
        if tag not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin_byte}')
        open_tag = _OpenTag(tag, out.offset, begin_byte)
        while True:
            while i < n and text[i] in _HTML_SPACE:
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin_byte}")
            if text[i] == ">":
                i += 1
                break
            attr_start = i
            while i < n and text[i] not in _HTML_SPACE and text[i] not in "=>":
                i += 1
            attr = text[attr_start:i].lower()
            if not attr:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {begin_byte}'
                )
            while i < n and text[i] in _HTML_SPACE:
                i += 1
            if i >= n or text[i] != "=":
                if tag == "blockquote" and attr == "expandable":
                    open_tag.attrs["expandable"] = ""
                    continue
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {begin_byte}"
                )
            i += 1
            while i < n and text[i] in _HTML_SPACE:
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin_byte}")
            value_parts: list[str] = []
            if text[i] in "\"'":
                quote = text[i]
                i += 1
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded = _decode_html_entity(text, i, strict)
                        if decoded is None:
                            if strict:
                                raise EntityParseError(
                                    f"Unsupported HTML entity or unescaped \"&\" at byte offset "
                                    f"{_byte_offset(text, i)} (escape it as &amp;)"
                                )
                            value_parts.append("&")
                            i += 1
                        else:
                            value_parts.append(decoded[0])
                            i = decoded[1]
                    else:
                        value_parts.append(text[i])
                        i += 1
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {begin_byte}")
                i += 1
            else:
                while i < n and (text[i].isalnum() or text[i] in ".-"):
                    value_parts.append(text[i])
                    i += 1
                if not value_parts:
                    raise EntityParseError(
                        f'Expected quote in declaration of an attribute of the tag "{tag}" '
                        f"at byte offset {begin_byte}"
                    )
            open_tag.attrs.setdefault(attr, "".join(value_parts))
        if tag == "span" and open_tag.attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {begin_byte}'
            )
        if tag == "tg-emoji" and not open_tag.attrs.get("emoji-id", "").isdigit():
            raise EntityParseError(
                f'Tag "tg-emoji" must have a valid attribute "emoji-id" at byte offset {begin_byte}'
            )
        if tag == "tg-time" and not open_tag.attrs.get("unix", "").isdigit():
            raise EntityParseError(
                f'Tag "tg-time" must have a valid attribute "unix" at byte offset {begin_byte}'
            )
        stack.append(open_tag)

    if stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    return out.text(), _sorted(_drop_inside_code(entities))


def _close_html_tag(
    tag: _OpenTag, end: int, stack: list[_OpenTag], entities: list[Entity]
) -> None:
    offset, length = tag.start, end - tag.start
    name = tag.name
    if name == "code":
        css = tag.attrs.get("class", "")
        if stack and stack[-1].name == "pre":
            # <pre><code class="language-x"> -> a single pre entity with a language
            if css.startswith("language-") and len(css) > len("language-"):
                stack[-1].language = css[len("language-"):]
            return
        entities.append({"type": "code", "offset": offset, "length": length})
    elif name in _SIMPLE_TAG_ENTITY:
        entities.append({"type": _SIMPLE_TAG_ENTITY[name], "offset": offset, "length": length})
    elif name == "pre":
        entity: Entity = {"type": "pre", "offset": offset, "length": length}
        if tag.language:
            entity["language"] = tag.language
        entities.append(entity)
    elif name == "blockquote":
        kind = "expandable_blockquote" if "expandable" in tag.attrs else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})
    elif name == "a":
        url = tag.attrs.get("href", "")
        user = _USER_LINK.match(url)
        if user:
            entities.append(
                {"type": "text_mention", "offset": offset, "length": length,
                 "user": {"id": int(user.group(1)), "is_bot": False, "first_name": ""}}
            )
        elif url:
            entities.append({"type": "text_link", "offset": offset, "length": length, "url": url})
    elif name == "tg-emoji":
        entities.append(
            {"type": "custom_emoji", "offset": offset, "length": length,
             "custom_emoji_id": tag.attrs["emoji-id"]}
        )
    elif name == "tg-time":
        entity = {"type": "date_time", "offset": offset, "length": length,
                  "unix_time": int(tag.attrs["unix"])}
        if tag.attrs.get("format"):
            entity["date_time_format"] = tag.attrs["format"]
        entities.append(entity)


def _drop_inside_code(entities: list[Entity]) -> list[Entity]:
    """Telegram silently removes entities nested inside ``code``/``pre``."""
    code = [e for e in entities if e["type"] in ("code", "pre")]
    if not code:
        return entities
    kept = []
    for e in entities:
        start, end = e["offset"], e["offset"] + e["length"]
        inside = any(
            c is not e and c["offset"] <= start and end <= c["offset"] + c["length"]
            for c in code
        )
        if not inside:
            kept.append(e)
    return kept


# ---------------------------------------------------------------------- MarkdownV2

_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
    "spoiler": "Spoiler", "text_link": "TextUrl", "custom_emoji": "CustomEmoji", "code": "Code",
    "pre": "Pre",
}


@dataclass
class _MdOpen:
    kind: str
    start: int
    byte: int
    language: str | None = None


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2 (bold, italic, underline, strike, spoiler, code, pre, links, quotes)."""
    out = _Output()
    entities: list[Entity] = []
    stack: list[_MdOpen] = []
    quote_start: int | None = None
    n = len(text)
    i = 0

    def fail_unclosed(entry: _MdOpen) -> EntityParseError:
        return EntityParseError(
            f"Can't find end of {_MDV2_NAMES[entry.kind]} entity at byte offset {entry.byte}"
        )

    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        top = stack[-1] if stack else None
        if top is not None and top.kind in ("code", "pre"):
            if top.kind == "code" and ch == "`":
                stack.pop()
                entities.append({"type": "code", "offset": top.start,
                                 "length": out.offset - top.start})
                i += 1
            elif top.kind == "pre" and text.startswith("```", i):
                stack.pop()
                entity: Entity = {"type": "pre", "offset": top.start,
                                  "length": out.offset - top.start}
                if top.language:
                    entity["language"] = top.language
                entities.append(entity)
                i += 3
            else:
                out.add(ch)
                i += 1
            continue
        if ch == "\n":
            if quote_start is not None and not text.startswith(">", i + 1):
                entities.append({"type": "blockquote", "offset": quote_start,
                                 "length": out.offset - quote_start})
                quote_start = None
            out.add("\n")
            i += 1
            continue
        if ch == ">" and (i == 0 or text[i - 1] == "\n"):
            if quote_start is None:
                quote_start = out.offset
            i += 1
            continue
        if ch not in _MDV2_RESERVED:
            out.add(ch)
            i += 1
            continue

        # closing the innermost entity?
        if top is not None:
            closes = (
                (top.kind == "bold" and ch == "*")
                or (top.kind == "italic" and ch == "_"
                    and (not text.startswith("__", i)
                         or (len(stack) > 1 and stack[-2].kind == "underline")))
                or (top.kind == "underline" and text.startswith("__", i))
                or (top.kind == "strikethrough" and ch == "~")
                or (top.kind == "spoiler" and text.startswith("||", i))
                or (top.kind in ("text_link", "custom_emoji") and ch == "]")
            )
            if closes:
                stack.pop()
                i += 2 if top.kind in ("underline", "spoiler") else 1
                if top.kind in ("text_link", "custom_emoji"):
                    url = None
                    if i < n and text[i] == "(":
                        j = i + 1
                        url_parts: list[str] = []
                        while j < n and text[j] != ")":
                            if text[j] == "\\" and j + 1 < n:
                                j += 1
                            url_parts.append(text[j])
                            j += 1
                        if j >= n:
                            raise EntityParseError(
                                f"Can't find end of a url at byte offset {_byte_offset(text, i)}"
                            )
                        url = "".join(url_parts)
                        i = j + 1
                    length = out.offset - top.start
                    if top.kind == "custom_emoji":
                        m = re.match(r"^tg://emoji\?id=(\d+)$", url or "")
                        if not m:
                            raise EntityParseError(
                                f"Custom emoji entity must contain a tg://emoji URL "
                                f"at byte offset {top.byte}"
                            )
                        entities.append({"type": "custom_emoji", "offset": top.start,
                                         "length": length, "custom_emoji_id": m.group(1)})
                    elif url:
                        entities.append({"type": "text_link", "offset": top.start,
                                         "length": length, "url": url})
                else:
                    entities.append({"type": top.kind, "offset": top.start,
                                     "length": out.offset - top.start})
                continue

        byte = _byte_offset(text, i)
        kind: str | None = None
        step = 1
        language: str | None = None
        if ch == "*":
            kind = "bold"
        elif ch == "_":
            if text.startswith("__", i):
                kind, step = "underline", 2
            else:
                kind = "italic"
        elif ch == "~":
            kind = "strikethrough"
        elif ch == "|" and text.startswith("||", i):
            kind, step = "spoiler", 2
        elif ch == "[":
            kind = "text_link"
        elif ch == "!" and text.startswith("![", i):
            kind, step = "custom_emoji", 2
        elif ch == "`":
            if text.startswith("```", i):
                kind, step = "pre", 3
                newline = text.find("\n", i + 3)
                closing = text.find("```", i + 3)
                if newline != -1 and (closing == -1 or newline < closing):
                    language = text[i + 3:newline] or None
                    step = newline - i + 1
            else:
                kind = "code"
        if kind is None:
            raise EntityParseError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        for entry in stack:
            if entry.kind == kind:
                raise fail_unclosed(stack[-1])
        stack.append(_MdOpen(kind, out.offset, byte, language))
        i += step

    if stack:
        raise fail_unclosed(stack[-1])
    if quote_start is not None:
        entities.append({"type": "blockquote", "offset": quote_start,
                         "length": out.offset - quote_start})
    return out.text(), _sorted(entities)


# ------------------------------------------------------------------ legacy Markdown


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown: ``*bold* _italic_ `code` ```pre``` [text](url)``."""
    out = _Output()
    entities: list[Entity] = []
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if ch not in "_*`[":
            out.add(ch)
            i += 1
            continue
        begin_byte = _byte_offset(text, i)
        error = EntityParseError(
            f"Can't find end of the entity starting at byte offset {begin_byte}"
        )
        start = out.offset
        if ch == "[":
            close = text.find("]", i + 1)
            if close == -1:
                raise error
            label = text[i + 1:close]
            i = close + 1
            url = ""
            if i < n and text[i] == "(":
                end = text.find(")", i + 1)
                if end == -1:
                    raise error
                url = text[i + 1:end]
                i = end + 1
            out.add(label)
            if url:
                entities.append({"type": "text_link", "offset": start,
                                 "length": out.offset - start, "url": url})
            continue
        if ch == "`" and text.startswith("```", i):
            end = text.find("```", i + 3)
            if end == -1:
                raise error
            body = text[i + 3:end]
            language = None
            if "\n" in body:
                first, rest = body.split("\n", 1)
                if first and " " not in first:
                    language, body = first, rest
            out.add(body)
            entity: Entity = {"type": "pre", "offset": start, "length": out.offset - start}
            if language:
                entity["language"] = language
            entities.append(entity)
            i = end + 3
            continue
        end = text.find(ch, i + 1)
        if end == -1:
            raise error
        out.add(text[i + 1:end])
        kind = {"*": "bold", "_": "italic", "`": "code"}[ch]
        entities.append({"type": kind, "offset": start, "length": out.offset - start})
        i = end + 1
    return out.text(), _sorted(entities)


# ------------------------------------------------------------------------- helpers

_TRIM_CHARS = " \t\r\n"


def trim_entities_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip leading/trailing whitespace like Telegram does, shifting/clipping entities."""
    stripped_left = text.lstrip(_TRIM_CHARS)
    lead = len(text) - len(stripped_left)  # whitespace is BMP: 1 char == 1 UTF-16 unit
    result = stripped_left.rstrip(_TRIM_CHARS)
    total = utf16_len(result)
    fixed: list[Entity] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return result, _sorted(fixed)


def parse_text(text: str, parse_mode: str | None, *, strict_html: bool = True
               ) -> tuple[str, list[Entity]]:
    """Parse ``text`` with a Bot API ``parse_mode`` (case-insensitive; empty = plain).

    Raises :class:`EntityParseError` for malformed markup and :class:`ValueError`
    (with message ``unsupported parse_mode``) for unknown modes.
    """
    mode = (parse_mode or "").lower()
    if not mode:
        return text, []
    if mode == "html":
        return parse_html(text, strict=strict_html)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise ValueError("unsupported parse_mode")
