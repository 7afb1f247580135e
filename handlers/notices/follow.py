"""Following notices: /thongbao_ds lists them or shows one (who has not acknowledged),
resends those, exports the Excel list; /danhan is the recipients' acknowledgement.

Following needs no conversation step: its buttons carry the notice id, re-checked on
every press against the person's subtree (notices.can_manage).
"""

from __future__ import annotations

from bot.i18n import _, ngettext
from bot.messages import Option, OutFile, esc
from bot.models import Notice
from bot.services import notices
from bot.textvn import format_datetime
from handlers.base import Ctx, parse_id
from handlers.notices.common import FLOW, allowed, person

LISTED = 100  # people named in the not-acknowledged list (all of them are in the Excel file)


def cmd_list(ctx: Ctx, args: str) -> None:
    """/thongbao_ds [N]: recent notices with their counts, or one notice in detail."""
    if not allowed(ctx):
        return
    if args.strip():
        notice_id = parse_id(args)
        notice = ctx.session.get(Notice, notice_id) if notice_id is not None else None
        show_notice(ctx, notice)
        return
    found = notices.recent(ctx.session, person(ctx))
    if not found:
        ctx.say(_("No notice has been sent from your union yet. Type /thongbao to send one."))
        return
    lines = [_("<b>Recent notices</b>")]
    rows = []
    for n, notice in enumerate(found, start=1):
        c = notices.delivery_counts(ctx.session, notice.id)
        lines.append(f"{n}. <b>{esc(notice.reference)}</b> · {notices.when_label(notice)} — {esc(excerpt(notice))}")
        lines.append("   " + count_line(notice, c))
        rows.append([Option(notice.reference, f"/thongbao_ds {notice.id}")])
    lines.append(_("Choose a notice to see who has not acknowledged it."))
    ctx.say("\n".join(lines), rows)


def excerpt(notice: Notice, size: int = 60) -> str:
    text = " ".join((notice.body or notice.file_name or "").split())
    return text if len(text) <= size else text[: size - 1] + "…"


def count_line(notice: Notice, c: notices.DeliveryCounts) -> str:
    line = _("delivered {delivered}/{total}, failed {failed}").format(
        delivered=c.delivered, total=c.total, failed=c.failed)
    if notice.requires_ack:
        line += _(", acknowledged {acked}").format(acked=c.acked)
    if c.pending:
        line += _(", waiting {pending}").format(pending=c.pending)
    return line


def show_notice(ctx: Ctx, notice: Notice | None) -> None:
    if notice is None or not notices.can_manage(ctx.session, ctx.person, notice):
        ctx.say(_("There is no such notice among those of your union. Type /thongbao_ds to see them."))
        return
    c = notices.delivery_counts(ctx.session, notice.id)
    ctx.leave()  # its buttons are versioned: valid until the next message, re-checked when pressed
    lines = [
        _("<b>Notice {ref}</b> · {when}").format(ref=esc(notice.reference), when=notices.when_label(notice)),
        esc(excerpt(notice, 200)),
        _("Recipients: {audience}").format(audience=notices.describe_audience(ctx.session, notice.audience)),
        count_line(notice, c),
    ]
    if notice.requires_ack:
        missing = notices.not_acknowledged(ctx.session, notice)
        lines.append("")
        if not missing:
            lines.append(_("Everybody has acknowledged it."))
        else:
            lines.append(_("<b>Not acknowledged yet ({n}):</b>").format(n=len(missing)))
            listed = 0
            for union, items in notices.group_by_union(missing):
                group = union.name if union else _("Other units")
                lines.append(f"<b>{esc(group)}</b> ({len(items)})")
                for item in items[:max(0, LISTED - listed)]:
                    extra = f" — {item.reason}" if item.reason else ""
                    lines.append(f"• {esc(item.unit.name)} — {esc(item.person.full_name or '?')}{extra}")
                listed += len(items)
            if listed > LISTED:
                lines.append(_("… and {n} more (see the Excel file)").format(n=listed - LISTED))
    ctx.say("\n".join(lines), detail_buttons(ctx, notice, c))


def detail_buttons(ctx: Ctx, notice: Notice, c: notices.DeliveryCounts) -> list[list[Option]]:
    rows = []
    if notice.requires_ack and notice.status == notices.NoticeStatus.SENT and c.acked < c.total:
        rows.append([ctx.option(_("Remind them again"), FLOW, "resend", notice.id)])
    rows.append([ctx.option(_("Excel list"), FLOW, "export", notice.id)])
    return rows


def resend(ctx: Ctx, arg: str) -> None:
    """Send the notice again to those who have not acknowledged it (the "Remind them again" button)."""
    notice_id = parse_id(arg)
    notice = ctx.session.get(Notice, notice_id) if notice_id is not None else None
    if notice is None or not notices.can_manage(ctx.session, ctx.person, notice):
        show_notice(ctx, None)
        return
    if not notice.requires_ack:
        show_notice(ctx, notice)
        return
    if notice.status != notices.NoticeStatus.SENT:
        ctx.say(_("Notice {ref} is still being sent; remind once it is done.").format(ref=esc(notice.reference)))
        return
    queued = notices.resend_unacknowledged(ctx.session, notice, person(ctx), ctx.now, ctx.actor)
    ctx.leave()
    if not queued:
        ctx.say(_("Nobody needs a reminder for {ref} (everyone acknowledged, or cannot be reached).").format(
            ref=esc(notice.reference)))
        return
    ctx.say(ngettext("A reminder of {ref} is on its way to {n} person who has not acknowledged it.",
                     "A reminder of {ref} is on its way to {n} people who have not acknowledged it.", queued)
            .format(ref=esc(notice.reference), n=queued))


def export(ctx: Ctx, arg: str) -> None:
    """The Excel list of a notice's recipients (the "Excel list" button)."""
    notice_id = parse_id(arg)
    notice = ctx.session.get(Notice, notice_id) if notice_id is not None else None
    if notice is None or not notices.can_manage(ctx.session, ctx.person, notice):
        show_notice(ctx, None)
        return
    content = notices.export_xlsx(ctx.session, notice)
    ctx.leave()
    buttons = [row for row in detail_buttons(ctx, notice, notices.delivery_counts(ctx.session, notice.id))
               if row[0].data.split(":")[2] != "export"]  # the other actions stay at hand
    ctx.say("", buttons, numbered=False,
            file=OutFile(file_name=f"{notice.reference}.xlsx", content=content,
                         caption=_("Recipients of notice {ref}").format(ref=esc(notice.reference))))


# ---- acknowledgement: /danhan -------------------------------------------------------------------


def cmd_ack(ctx: Ctx, args: str) -> None:
    """/danhan N: the recipient confirms having received notice N (its "Received" button)."""
    notice_id = parse_id(args) or 0
    outcome, notice, at = notices.acknowledge(ctx.session, notice_id, person(ctx).id, ctx.now)
    if outcome == notices.AckOutcome.RECORDED and notice is not None:
        ctx.toast(_("Recorded. Thank you!"))
        ctx.say(_("✅ You have confirmed receiving notice {ref}. Thank you!").format(ref=esc(notice.reference)))
    elif outcome == notices.AckOutcome.ALREADY and notice is not None:
        ctx.toast(_("Already recorded. Thank you!"))
        ctx.say(_("You already confirmed receiving notice {ref} at {time}. Nothing more is needed, thank you!")
                .format(ref=esc(notice.reference), time=format_datetime(at) if at else ""))
    else:
        ctx.toast(_("Nothing to confirm."))
        ctx.say(_("This notice was not sent to you, so there is nothing to confirm."))
