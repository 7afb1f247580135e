"""First contact: redeem an invite code (from /start <code> or typed) and bind the account.

A stranger learns nothing about any unit: every refusal reads the same whatever the code.
"""

from __future__ import annotations

import re
from enum import StrEnum

from bot.i18n import _
from bot.messages import FileRef
from bot.services import registry
from bot.services.registry import RedeemOutcome
from handlers import menu
from handlers.base import Ctx

FLOW = "onboard"


class OnboardingStep(StrEnum):
    CODE = "code"  # waiting for the invite code

CODE_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{3,20}$")


def cmd_start(ctx: Ctx, args: str) -> None:
    """/start [code]: redeem a code from a t.me link, or greet a bound person with the menu."""
    if args:
        redeem(ctx, args)
    elif ctx.person is not None:
        menu.show_menu(ctx, greet=True)
    else:
        ask_for_code(ctx, welcome=True)


def ask_for_code(ctx: Ctx, welcome: bool = False) -> None:
    """Ask a stranger for their invite code."""
    ctx.enter(FLOW, OnboardingStep.CODE)
    text = _("Please type the <b>invite code</b> (8 letters and digits) that your upper-level union gave you.")
    if welcome:
        text = _("Welcome to Trợ lý Công đoàn, the assistant for union reports.") + "\n\n" + text
    ctx.say(text)


def on_stranger(ctx: Ctx, text: str, data: str | None) -> None:
    """Anything a stranger sends: a code attempt if it looks like one, else the question again."""
    if data is None and text and CODE_SHAPE.match(text):
        redeem(ctx, text)
    else:
        ask_for_code(ctx, welcome=ctx.state.flow != FLOW)


def redeem(ctx: Ctx, code_text: str) -> None:
    """Try an invite code and say how it went."""
    incoming = ctx.incoming
    if ctx.person is not None and ctx.unit is not None:
        invite_owner = registry.invite_user(ctx.session, code_text)
        if invite_owner is not None and invite_owner == ctx.person.id:
            menu.show_menu(ctx, greet=True)
            return
    result = registry.redeem_invite(
        ctx.session, code_text, channel=incoming.channel, external_id=incoming.user_id,
        chat_id=incoming.chat_id, display_name=incoming.display_name,
        username=incoming.username, language=ctx.state.language, now=ctx.now,
    )
    if result.outcome == RedeemOutcome.BOUND:
        ctx.person = result.person
        ctx.identity = registry.identity_of(ctx.session, incoming.channel, incoming.user_id)
        ctx.leave()
        ctx.say(_("Done! Your account is now linked."))
        menu.show_menu(ctx, greet=True)
        return
    messages = {
        RedeemOutcome.UNKNOWN: _("This invite code is not valid. Please check it and type it again (8 letters and digits, for example AB3K7PQ2)."),
        RedeemOutcome.USED: _("This invite code has already been used; each code works only once. Please ask your upper-level union for a new code."),
        RedeemOutcome.EXPIRED: _("This invite code has expired. Please ask your upper-level union for a new code."),
        RedeemOutcome.THROTTLED: _("Too many wrong codes in the last hour. Please wait an hour and try again, or ask your upper-level union to check your code."),
        RedeemOutcome.UNIT_CLOSED: _("The unit of this invite code is no longer active. Please contact your upper-level union."),
    }
    if ctx.person is None:
        ctx.enter(FLOW, OnboardingStep.CODE)
    ctx.say(messages[result.outcome])


def on_text(ctx: Ctx, text: str) -> None:
    """Typed text while a bound person is still in the onboarding flow: show the menu."""
    ctx.leave()
    menu.fallback(ctx, text)


def on_button(ctx: Ctx, action: str, arg: str) -> None:
    ctx.leave()
    menu.show_menu(ctx)


def on_file(ctx: Ctx, file: FileRef) -> None:
    """A file while still in onboarding: show the menu, as for text."""
    on_text(ctx, "")
