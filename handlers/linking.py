"""One person on several channels: /lienket links another chat account, /kenh picks where pushes go.

/lienket on a bound account gives a one-time code (valid 30 minutes); typing
`/lienket <code>` (or just the code) on the other channel binds that account to the same
person — same unit, role and report drafts (drafts belong to the unit, so a report
started on one channel continues on the other). Pushes go to one chat per person: the
one they wrote from last (bot/services/registry.push_identities); /kenh says so, and
makes the chat it is typed in that one.
"""

from __future__ import annotations

from bot.i18n import _
from bot.messages import esc
from bot.services import registry
from handlers import onboarding
from handlers.base import Ctx


def cmd_link(ctx: Ctx, args: str) -> None:
    """/lienket [code]: give a link code, or use one from the other channel."""
    if args.strip():
        onboarding.redeem(ctx, args.strip())
        return
    if ctx.person is None:
        onboarding.ask_for_code(ctx)
        return
    invite = registry.create_link_code(ctx.session, ctx.person, ctx.now)
    ctx.say("\n".join([
        _("Your link code: <b>{code}</b> (works once, for 30 minutes).").format(code=esc(invite.code)),
        _("On your other chat app (Telegram or Zalo), open this bot and type: /lienket {code}").format(
            code=esc(invite.code)),
        _("Both accounts will then be you: the same unit, role and unfinished reports."),
    ]))


def cmd_push_here(ctx: Ctx, args: str) -> None:
    """/kenh: send reminders and notices to this chat (the chat written from last gets them)."""
    ctx.say(_("From now on, reminders and notices come to this chat."))
