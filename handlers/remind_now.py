"""/nhaclai: an officer or staff member reminds, right now, the units of their subtree that still owe a report."""

from __future__ import annotations

from bot.i18n import _, ngettext
from bot.messages import esc
from bot.models import Role
from bot.services import registry, reminders, reporting
from handlers.base import Ctx

FLOW = "remind_now"


def cmd_remind_now(ctx: Ctx, args: str) -> None:
    """/nhaclai ROUND [UNIT]: queue a reminder now for every owing CĐCS under UNIT (default: own unit)."""
    person = ctx.person
    assert person is not None
    if person.role not in (Role.OFFICER, Role.STAFF, Role.ADMIN):
        ctx.say(_("Only officers of upper-level unions and provincial staff can send reminders."))
        return
    parts = args.split()
    if not parts:
        ctx.say(_("Write the round code, for example: /nhaclai 2026-Q4"))
        return
    rnd = reporting.round_by_code(ctx.session, parts[0])
    if rnd is None:
        ctx.say(_("No round has the code {code}.").format(code=esc(parts[0])))
        return
    visible = registry.visible_unit_ids(ctx.session, person)
    unit = registry.unit_by_code(ctx.session, parts[1]) if len(parts) > 1 else ctx.unit
    if unit is None or unit.id not in visible:
        ctx.say(_("You can only remind units within your own union."))
        return
    if rnd.locked:
        ctx.say(_("The round {title} is locked; there is nothing to remind.").format(title=esc(rnd.title)))
        return
    under = registry.subtree_ids(ctx.session, unit.id) & visible
    queued = reminders.manual_reminders(ctx.session, rnd, under, ctx.now, person.id)
    if queued == 0:
        ctx.say(_("No chair under {unit} needs a reminder for {title} right now (all reported, or none registered).")
                .format(unit=esc(unit.name), title=esc(rnd.title)))
        return
    ctx.say(ngettext("A reminder for {title} is on its way to {n} chair under {unit}.",
                     "Reminders for {title} are on their way to {n} chairs under {unit}.", queued)
            .format(title=esc(rnd.title), n=queued, unit=esc(unit.name)))
