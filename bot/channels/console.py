"""A local chat in the terminal, so anyone can try the bot without a Telegram account.

Buttons are shown as a numbered list (or as words to type, on steps that expect a
number), exactly as a channel without buttons (Zalo) would show them.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.channels.base import ChannelLimits
from bot.i18n import _
from bot.messages import Incoming, Reply, Response, plain

CHANNEL = "console"
LIMITS = ChannelLimits(name=CHANNEL, text_length=100_000, buttons=False, callback_size=None, caption_length=0,
                       documents=False)
Core = Callable[[Incoming], Response]


def render(reply: Reply) -> str:
    """Plain text of a reply, with its choices listed."""
    lines = [plain(reply.text)] if reply.text else []
    if reply.file is not None:
        lines.append(_("[file: {name}]").format(name=reply.file.file_name))
    options = reply.flat_options()
    if options and reply.numbered:
        lines += [f"  {i}. {o.label}" for i, o in enumerate(options, start=1)]
    elif options:
        lines.append("  " + "  ".join(f"[{o.label}]" for o in options))
    return "\n".join(lines)


def render_response(response: Response) -> str:
    parts = [render(r) for r in response.replies]
    if response.toast:
        parts.insert(0, f"({response.toast})")
    return "\n\n".join(p for p in parts if p)


def run_console(core: Core, *, user_id: str = "local", display_name: str = "",
                read: Callable[[str], str] = input, write: Callable[[str], None] = print) -> None:
    """Chat in the terminal until end of input (Ctrl-D) or /thoat."""
    write(_("Local chat with Trợ lý Công đoàn. Type a message; choose an option by its number; /thoat to quit."))
    def send(text: str) -> None:
        incoming = Incoming(channel=CHANNEL, user_id=user_id, chat_id=user_id, text=text,
                            language_code="vi", display_name=display_name)
        write("\n" + render_response(core(incoming)) + "\n")
    send("/start")
    while True:
        try:
            line = read("> ")
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        if line.strip().lower() in {"/thoat", "/quit", "/exit"}:
            return
        if line.strip():
            send(line)
