"""The menu, help, language choice, cancel and the catch-all reply."""

from __future__ import annotations

from bot.i18n import LANGUAGES, _, use_language
from bot.messages import Option, Reply, esc
from bot.services import registry
from handlers import ask
from handlers.base import Ctx, file_as_text

FLOW = "menu"


def menu_options(ctx: Ctx) -> list[list[Option]]:
    """Menu buttons for the person's role (see handlers/commands.py); their data are commands,
    so they work from any old message too."""
    from handlers import commands  # the registry imports this module for its handlers

    return commands.menu_rows(commands.role_of(ctx))


def show_menu(ctx: Ctx, greet: bool = False) -> None:
    """Show the short menu (with a greeting naming the unit)."""
    unit = ctx.unit
    if greet and ctx.person is not None and unit is not None:
        text = _("Hello! You are the {role} of <b>{unit}</b>.").format(
            role=registry.role_label(ctx.person.role), unit=esc(unit.name))
        text += "\n" + _("What would you like to do?")
    else:
        text = _("What would you like to do?")
    ctx.say(text, menu_options(ctx))


def cmd_menu(ctx: Ctx, args: str) -> None:
    """/menu: show the menu."""
    show_menu(ctx, greet=True)


def cmd_help(ctx: Ctx, args: str) -> None:
    """/help: explain what the bot does, in a few lines (the commands' lines come from the registry)."""
    from handlers import commands  # the registry imports this module for its handlers

    lines = [
        _("<b>Trợ lý Công đoàn</b> helps grassroots unions report their figures and follow their targets."),
        "",
        *commands.help_lines(commands.role_of(ctx)),
        "",
        _("When the bot offers numbered choices, you can press a button or type its number."),
        _("You can also just ask, for example: “còn thiếu bao nhiêu đoàn viên mới?”"),
    ]
    if ctx.person is None:
        lines += ["", _("To start, type the invite code your upper-level union gave you.")]
    ctx.say("\n".join(lines))


def cmd_language(ctx: Ctx, args: str) -> None:
    """/ngonngu: choose the language of the bot's messages."""
    ctx.say(_("Choose a language:"), [[
        ctx.option("Tiếng Việt", FLOW, "lang", "vi"),
        ctx.option("English", FLOW, "lang", "en"),
    ]])


def set_language(ctx: Ctx, lang: str) -> None:
    if lang not in LANGUAGES:
        cmd_language(ctx, "")
        return
    ctx.state.language = lang
    if ctx.person is not None:
        ctx.person.language = lang
        ctx.session.add(ctx.person)
    with use_language(lang):
        ctx.say(_("The bot will now speak Vietnamese.") if lang == "vi" else _("The bot will now speak English."))
        if ctx.person is not None:
            show_menu(ctx)


def cmd_cancel(ctx: Ctx, args: str) -> None:
    """/huy: leave the current conversation."""
    was_in_flow = bool(ctx.state.flow)
    ctx.leave()
    ctx.say(_("Cancelled.") if was_in_flow else _("There is nothing to cancel."))
    show_menu(ctx)


def unknown_command(ctx: Ctx) -> None:
    ctx.say(_("I do not know that command."))
    show_menu(ctx)


def fallback(ctx: Ctx, text: str) -> None:
    """Anything we could not place: try it as a question, else say so honestly and show what is possible."""
    if ctx.person is not None and ask.answer(ctx, text):
        return
    ctx.say(_("Sorry, I did not understand that."))
    show_menu(ctx)


def explain_edit(ctx: Ctx) -> None:
    """An edited message changes nothing: say how to change a figure instead."""
    ctx.say("\n".join([
        _("You edited a message you had already sent. The bot does not read edited messages, so nothing was "
          "changed."),
        _("To change a figure while reporting, type the new figure as a new message (or press Back). After "
          "sending a report, type /baocao and press Correct figures."),
    ]))


def error_reply() -> Reply:
    return Reply(_("Sorry, something went wrong on our side. What you entered before is saved; please try again in a moment or type /menu."))


def on_button(ctx: Ctx, action: str, arg: str) -> None:
    if action == "lang":
        set_language(ctx, arg)
    else:
        show_menu(ctx)


def on_text(ctx: Ctx, text: str) -> None:
    ctx.leave()
    fallback(ctx, text)


on_file = file_as_text(on_text)
