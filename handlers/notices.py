"""Notices: /thongbao composes and sends one, /thongbao_ds follows them, /danhan acknowledges.

Compose steps (ConversationState.step): body [→ caption] → audience [→ unions | sector |
codes] → options [⇄ send_at] → preview → sent. Every button is also a numbered (or
typed) choice. Nothing is written to the outbox before "Gửi"; the draft notice row exists
from the first preview (its reference number shows there). Who may do what is checked
here on every message, button and typed choice alike, never taken from button data.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from bot.clock import LOCAL_TZ, to_local, to_utc
from bot.i18n import _, current_language, ngettext
from bot.messages import FileRef, Option, OutFile, esc
from bot.models import Notice, Person
from bot.services import notices
from bot.services.notices import AudienceKind
from bot.textvn import format_datetime
from handlers.base import Ctx

FLOW = "notice"
MAX_AHEAD = timedelta(days=90)  # how far ahead a notice may be scheduled
LISTED = 100  # people named in the not-acknowledged list (all of them are in the Excel file)
_CLOCK = re.compile(r"(\d{1,2})\s*(?:[:hg]|giờ)\s*(\d{1,2})?")
_DAY = re.compile(r"(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?")


def allowed(ctx: Ctx) -> bool:
    """Only staff and officers broadcast; say so to anyone else and stop."""
    if notices.can_broadcast(ctx.person):
        return True
    if ctx.state.flow == FLOW:
        ctx.leave()
    ctx.say(_("Only provincial staff and officers of upper-level unions can send notices."))
    return False


def person(ctx: Ctx) -> Person:
    assert ctx.person is not None
    return ctx.person


# ---- compose ------------------------------------------------------------------------------


def cmd_compose(ctx: Ctx, args: str) -> None:
    """/thongbao: write a notice (text or a document), choose its recipients, preview, send."""
    if not allowed(ctx):
        return
    ctx.enter(FLOW, "body", ack=True, send_at=None)
    ctx.say("\n".join([
        _("<b>New notice</b>"),
        _("Type the text of the notice, or send a PDF or DOCX file with a caption."),
        _("At most {n} characters. Type /huy to stop.").format(n=notices.MAX_BODY),
    ]), [[ctx.option(_("Cancel"), FLOW, "cancel")]], numbered=False)


def take_body(ctx: Ctx, text: str) -> None:
    text = text.strip()
    if not text and not ctx.state.data.get("file_id"):
        cmd_compose(ctx, "")
        return
    if len(text) > notices.MAX_BODY:
        ctx.say(_("The text is too long: {n} characters, at most {max}. Shorten it, or send it as a PDF file "
                  "with a short caption.").format(n=len(text), max=notices.MAX_BODY),
                [[ctx.option(_("Cancel"), FLOW, "cancel")]], numbered=False)
        return
    ctx.update(body=text)
    ask_audience(ctx)


def take_file(ctx: Ctx, file: FileRef) -> None:
    if not notices.is_document(file.file_name, file.mime_type):
        ctx.say(_("Please send the notice as a PDF or DOCX document (or type its text)."),
                [[ctx.option(_("Cancel"), FLOW, "cancel")]], numbered=False)
        return
    ctx.update(file_id=file.file_id, file_name=file.file_name or "thong-bao.pdf")
    caption = (ctx.incoming.text or "").strip()
    if caption:
        take_body(ctx, caption)
        return
    ctx.goto("caption")
    ctx.say(_("File received: {name}. Type a short text to go with it, or press Skip.").format(
        name=esc(file.file_name or "")),
        [[ctx.option(_("Skip"), FLOW, "skip"), ctx.option(_("Cancel"), FLOW, "cancel")]], numbered=False)


def ask_audience(ctx: Ctx, note: str | None = None) -> None:
    ctx.goto("audience")
    sender = person(ctx)
    rows = [[ctx.option(_("All CĐCS chairs"), FLOW, "aud", AudienceKind.CHAIRS)]]
    if notices.upper_unions(ctx.session, sender):
        rows.append([ctx.option(_("CĐCS chairs under chosen upper-level unions"), FLOW, "aud", AudienceKind.UNIONS)])
    if notices.sectors_present(ctx.session, sender):
        rows.append([ctx.option(_("CĐCS chairs of one sector"), FLOW, "aud", AudienceKind.SECTOR)])
    rows.append([ctx.option(_("All officers of upper-level unions"), FLOW, "aud", AudienceKind.OFFICERS)])
    rows.append([ctx.option(_("A list of unit codes"), FLOW, "aud", AudienceKind.UNITS)])
    rows.append([ctx.option(_("Cancel"), FLOW, "cancel")])
    lines = [note, ""] if note else []
    lines.append(_("Who should receive this notice?"))
    ctx.say("\n".join(lines), rows)


def choose_audience(ctx: Ctx, kind: str) -> None:
    if kind == AudienceKind.CHAIRS:
        ctx.update(audience={"kind": AudienceKind.CHAIRS.value})
        ask_options(ctx)
    elif kind == AudienceKind.OFFICERS:
        ctx.update(audience={"kind": AudienceKind.OFFICERS.value})
        ask_options(ctx)
    elif kind == AudienceKind.UNIONS:
        ctx.update(unions=[])
        ask_unions(ctx)
    elif kind == AudienceKind.SECTOR:
        ask_sector(ctx)
    elif kind == AudienceKind.UNITS:
        ask_codes(ctx)
    else:
        ask_audience(ctx)


def ask_unions(ctx: Ctx, note: str | None = None) -> None:
    ctx.goto("unions")
    chosen = set(ctx.state.data.get("unions") or [])
    unions = notices.upper_unions(ctx.session, person(ctx))
    rows = [[ctx.option(("✓ " if u.id in chosen else "") + u.name, FLOW, "union", u.id)] for u in unions]
    rows.append([ctx.option(_("Done"), FLOW, "unions_done"), ctx.option(_("Cancel"), FLOW, "cancel")])
    lines = [note, ""] if note else []
    lines.append(_("Choose one or more upper-level unions (press to select or unselect), then press Done. "
                   "You can also type their numbers or codes, for example: 1 3"))
    if chosen:
        lines.append(_("Selected: {n}").format(n=len(chosen)))
    ctx.say("\n".join(lines), rows)


def toggle_union(ctx: Ctx, arg: str) -> None:
    unions = {u.id for u in notices.upper_unions(ctx.session, person(ctx))}
    union_id = int(arg) if arg.isdigit() else None
    if union_id not in unions:  # a forged or outdated id: outside the sender's subtree
        ask_unions(ctx, note=_("You can only choose unions within your own union."))
        return
    chosen = list(ctx.state.data.get("unions") or [])
    if union_id in chosen:
        chosen.remove(union_id)
    else:
        chosen.append(union_id)
    ctx.update(unions=chosen)
    ask_unions(ctx)


def type_unions(ctx: Ctx, text: str) -> None:
    """Typed numbers (as listed) or codes choose the unions at once."""
    unions = notices.upper_unions(ctx.session, person(ctx))
    by_code = {u.code.upper(): u.id for u in unions}
    chosen, unknown = [], []
    for token in re.split(r"[,;\s]+", text.strip()):
        if not token:
            continue
        if token.isdigit() and 1 <= int(token) <= len(unions):
            union_id = unions[int(token) - 1].id
        elif token.upper() in by_code:
            union_id = by_code[token.upper()]
        else:
            unknown.append(token)
            continue
        if union_id not in chosen:
            chosen.append(union_id)
    if unknown:
        ask_unions(ctx, note=_("Not in the list: {items}").format(items=esc(", ".join(unknown))))
        return
    ctx.update(unions=chosen)
    ask_unions(ctx)


def unions_done(ctx: Ctx) -> None:
    visible = {u.id for u in notices.upper_unions(ctx.session, person(ctx))}
    chosen = [i for i in ctx.state.data.get("unions") or [] if i in visible]
    if not chosen:
        ask_unions(ctx, note=_("Choose at least one union."))
        return
    ctx.update(audience={"kind": AudienceKind.UNIONS.value, "units": chosen})
    ask_options(ctx)


def ask_sector(ctx: Ctx) -> None:
    ctx.goto("sector")
    rows = [[ctx.option(notices.sector_label(s), FLOW, "sector", s)]
            for s in notices.sectors_present(ctx.session, person(ctx))]
    rows.append([ctx.option(_("Cancel"), FLOW, "cancel")])
    ctx.say(_("Which sector?"), rows)


def choose_sector(ctx: Ctx, sector: str) -> None:
    if sector not in notices.sectors_present(ctx.session, person(ctx)):
        ask_sector(ctx)
        return
    ctx.update(audience={"kind": AudienceKind.SECTOR.value, "sector": sector})
    ask_options(ctx)


def ask_codes(ctx: Ctx, note: str | None = None) -> None:
    ctx.goto("codes")
    lines = [note, ""] if note else []
    lines.append(_("Type the unit codes, separated by commas or spaces (for example: TD_001, TD_002). "
                   "The chairs and officers of those units will receive the notice."))
    ctx.say("\n".join(lines), [[ctx.option(_("Cancel"), FLOW, "cancel")]], numbered=False)


def take_codes(ctx: Ctx, text: str) -> None:
    codes = [c for c in re.split(r"[,;\s]+", text.strip()) if c]
    found, unknown = notices.units_by_codes(ctx.session, person(ctx), codes)
    if unknown or not found:
        ask_codes(ctx, note=_("These codes are not units within your union: {codes}").format(
            codes=esc(", ".join(unknown) or text)))
        return
    ctx.update(audience={"kind": AudienceKind.UNITS.value, "codes": [u.code for u in found]})
    ask_options(ctx)


# ---- options and preview ---------------------------------------------------------------------


def send_at(ctx: Ctx) -> datetime | None:
    raw = ctx.state.data.get("send_at")
    return datetime.fromisoformat(raw) if raw else None


def ask_options(ctx: Ctx, note: str | None = None) -> None:
    ctx.goto("options")
    data = ctx.state.data
    when = send_at(ctx)
    lines = [note, ""] if note else []
    lines += [
        _("<b>Options</b>"),
        _("Recipients: {audience}").format(audience=notices.describe_audience(ctx.session, data.get("audience") or {})),
        _("Send: {when}").format(when=format_datetime(when) if when else _("now")),
        _("Acknowledgement: {ack}").format(ack=_("required") if data.get("ack") else _("not required")),
        "",
        _("Press Preview to see the notice as recipients will see it."),
    ]
    ack_label = _("Do not ask for acknowledgement") if data.get("ack") else _("Ask for acknowledgement")
    rows = [
        [ctx.option(_("Preview"), FLOW, "preview")],
        [ctx.option(_("Schedule a time"), FLOW, "at")] + ([ctx.option(_("Send now"), FLOW, "now")] if when else []),
        [ctx.option(ack_label, FLOW, "ack")],
        [ctx.option(_("Change recipients"), FLOW, "audience"), ctx.option(_("Cancel"), FLOW, "cancel")],
    ]
    ctx.say("\n".join(lines), rows)


def ask_time(ctx: Ctx, note: str | None = None) -> None:
    ctx.goto("send_at")
    lines = [note, ""] if note else []
    lines.append(_("When should it be sent? Type a time, for example 07:30, or 07:30 25/12/2026."))
    ctx.say("\n".join(lines), [[ctx.option(_("Send now"), FLOW, "now"), ctx.option(_("Cancel"), FLOW, "cancel")]],
            numbered=False)


def parse_send_time(text: str, now: datetime) -> datetime | None:
    """'07:30' (the next such time), '7h30 25/12', '25/12/2026 07:30' in local time → UTC; None if unreadable."""
    clock_match = _CLOCK.search(text)
    day_match = _DAY.search(text)
    if clock_match is None:
        return None
    hours, minutes = int(clock_match[1]), int(clock_match[2] or 0)
    if hours > 23 or minutes > 59:
        return None
    local_now = to_local(now)
    try:
        if day_match is not None:
            year = int(day_match[3]) if day_match[3] else local_now.year
            year = year + 2000 if year < 100 else year
            day = date(year, int(day_match[2]), int(day_match[1]))
            if not day_match[3] and datetime.combine(day, time(hours, minutes), LOCAL_TZ) < local_now:
                day = day.replace(year=year + 1)
        else:
            day = local_now.date()
            if datetime.combine(day, time(hours, minutes), LOCAL_TZ) <= local_now:
                day += timedelta(days=1)
    except ValueError:
        return None
    return to_utc(datetime.combine(day, time(hours, minutes)))


def take_time(ctx: Ctx, text: str) -> None:
    when = parse_send_time(text, ctx.now)
    if when is None:
        ask_time(ctx, note=_("I could not read that time."))
        return
    if when <= ctx.now or when > ctx.now + MAX_AHEAD:
        ask_time(ctx, note=_("Choose a time in the next {days} days.").format(days=MAX_AHEAD.days))
        return
    ctx.update(send_at=when.isoformat())
    ask_options(ctx)


def recipients(ctx: Ctx) -> list[notices.Recipient]:
    return notices.resolve_audience(ctx.session, person(ctx), ctx.state.data.get("audience") or {})


def refuse_empty(ctx: Ctx, found: list[notices.Recipient]) -> None:
    if not found:
        note = _("Nobody is in this group of recipients. Choose other recipients.")
    else:
        note = ngettext("The {n} person in this group cannot be reached (not registered on the bot, or blocked it). "
                        "Choose other recipients.",
                        "None of the {n} people in this group can be reached (not registered on the bot, or blocked "
                        "it). Choose other recipients.", len(found)).format(n=len(found))
    ask_audience(ctx, note=note)


def preview(ctx: Ctx) -> None:
    """Show the notice exactly as recipients will see it, and how many will get it."""
    data = ctx.state.data
    if not data.get("audience"):
        ask_audience(ctx)
        return
    found = recipients(ctx)
    reachable = [r for r in found if r.reachable]
    if not reachable:
        refuse_empty(ctx, found)
        return
    sender = person(ctx)
    when = send_at(ctx)
    notice = notices.save_draft(ctx.session, sender, data.get("notice_id"), body=data.get("body") or "",
                                file_id=data.get("file_id"), file_name=data.get("file_name"),
                                audience=data["audience"], requires_ack=bool(data.get("ack")), send_at=when,
                                now=ctx.now)
    ctx.goto("preview", notice_id=notice.id)
    payload = notices.render(notice, notices.sender_unit_name(ctx.session, notice), when or ctx.now,
                             current_language())
    say_payload(ctx, payload)
    unreachable = len(found) - len(reachable)
    lines = [
        _("👆 This is exactly what recipients will see."),
        _("Recipients: <b>{n}</b> — {audience}").format(
            n=len(found), audience=notices.describe_audience(ctx.session, notice.audience)),
    ]
    if unreachable:
        lines.append(ngettext("{n} of them cannot be reached (not registered on the bot, or blocked it).",
                              "{n} of them cannot be reached (not registered on the bot, or blocked it).",
                              unreachable).format(n=unreachable))
    lines.append(_("Send: {when}").format(when=format_datetime(when) if when else _("now")))
    lines.append(_("Nothing has been sent yet. Press Send to send it."))
    ctx.say("\n".join(lines), [
        [ctx.option(_("Send"), FLOW, "send")],
        [ctx.option(_("Back"), FLOW, "options"), ctx.option(_("Cancel"), FLOW, "cancel")],
    ])


def say_payload(ctx: Ctx, payload: dict) -> None:
    """A rendered notice as replies; its "Received" button here only explains itself."""
    options = [[ctx.option(label, FLOW, "sample") for label, _data in row] for row in payload.get("options", [])]
    file = payload.get("file")
    out = OutFile(file_name=file["name"], file_id=file["file_id"], caption=file.get("caption", "")) if file else None
    ctx.say(payload.get("text") or "", options, numbered=False, file=out)


def send(ctx: Ctx) -> None:
    """Gửi: queue the notice once (a second press finds it queued already)."""
    notice_id = ctx.state.data.get("notice_id")
    if not notice_id:
        preview(ctx)
        return
    found = recipients(ctx)
    if not any(r.reachable for r in found):
        refuse_empty(ctx, found)
        return
    queued = notices.queue(ctx.session, notice_id, person(ctx), found,
                           progress_to=(ctx.incoming.channel, ctx.incoming.chat_id), now=ctx.now, actor=ctx.actor)
    ctx.leave()
    if queued is None:
        notice = ctx.session.get(Notice, notice_id)
        ctx.say(_("This notice has already been sent ({ref}). Type /thongbao_ds to follow it.").format(
            ref=esc(notice.reference if notice else "")))
        return
    notice = queued.notice
    seconds = int(queued.reachable / max(ctx.settings.send_rate_per_second, 0.1)) + 1
    lines = [
        _("✅ Notice {ref} is queued for {n} recipients.").format(ref=esc(notice.reference), n=queued.total),
    ]
    if queued.reachable < queued.total:
        lines.append(ngettext("{n} cannot be reached and is listed in the final report.",
                              "{n} cannot be reached and are listed in the final report.",
                              queued.total - queued.reachable).format(n=queued.total - queued.reachable))
    if queued.when > ctx.now:
        lines.append(_("It will be sent at {when}.").format(when=format_datetime(queued.when)))
    lines.append(_("Sending takes about {time}. A progress message follows and updates itself; "
                   "a report comes when it is done.").format(time=notices.duration(seconds)))
    ctx.say("\n".join(lines), [[Option(_("Follow"), f"/thongbao_ds {notice.id}")]])


def cancel(ctx: Ctx) -> None:
    if ctx.person is not None:
        notices.cancel_draft(ctx.session, ctx.state.data.get("notice_id"), ctx.person)
    ctx.leave()
    ctx.say(_("Cancelled. Nothing was sent."))


# ---- following: /thongbao_ds -----------------------------------------------------------------


def cmd_list(ctx: Ctx, args: str) -> None:
    """/thongbao_ds [N]: recent notices with their counts, or one notice in detail."""
    if not allowed(ctx):
        return
    if args.strip():
        notice = ctx.session.get(Notice, int(args.strip())) if args.strip().isdigit() else None
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
    """Send the notice again to those who have not acknowledged it."""
    notice = ctx.session.get(Notice, int(arg)) if arg.isdigit() else None
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
    notice = ctx.session.get(Notice, int(arg)) if arg.isdigit() else None
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
    notice_id = int(args.strip()) if args.strip().isdigit() else 0
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


# ---- events ------------------------------------------------------------------------------------


def on_button(ctx: Ctx, action: str, arg: str) -> None:
    """A pressed button of this flow (its version is checked by the router; the rest here)."""
    if not allowed(ctx):
        return
    step = ctx.state.step
    if action == "cancel":
        cancel(ctx)
    elif action == "resend":
        resend(ctx, arg)
    elif action == "export":
        export(ctx, arg)
    elif ctx.state.flow != FLOW or not step:
        ctx.leave()
        ctx.say(_("This step has passed. Type /thongbao to write a notice."))
    elif action == "skip" and step == "caption":
        take_body(ctx, "")
    elif action == "aud":
        choose_audience(ctx, arg)
    elif action == "union":
        toggle_union(ctx, arg)
    elif action == "unions_done":
        unions_done(ctx)
    elif action == "sector":
        choose_sector(ctx, arg)
    elif not ctx.state.data.get("audience"):
        ask_audience(ctx)
    elif action == "ack":
        ctx.update(ack=not ctx.state.data.get("ack"))
        ask_options(ctx)
    elif action == "at":
        ask_time(ctx)
    elif action == "now":
        ctx.update(send_at=None)
        ask_options(ctx)
    elif action == "audience":
        ask_audience(ctx)
    elif action == "options":
        ask_options(ctx)
    elif action == "preview":
        preview(ctx)
    elif action == "send" and step == "preview":
        send(ctx)
    elif action == "sample":
        ctx.toast(_("Recipients press this button to confirm."))
        preview(ctx)
    else:
        resume(ctx)


def on_text(ctx: Ctx, text: str) -> None:
    """Typed text: the notice body, typed choices, codes or a time, depending on the step."""
    if not allowed(ctx):
        return
    step = ctx.state.step
    if step in ("body", "caption"):
        take_body(ctx, text)
    elif step == "unions":
        type_unions(ctx, text)
    elif step == "codes":
        take_codes(ctx, text)
    elif step == "send_at":
        take_time(ctx, text)
    else:
        resume(ctx)


def on_file(ctx: Ctx, file: FileRef) -> None:
    """A document sent while composing: the notice's attachment."""
    if not allowed(ctx):
        return
    if ctx.state.step in ("body", "caption"):
        take_file(ctx, file)
    else:
        resume(ctx, note=_("A file can only be attached at the start. Type /thongbao to start again."))


def resume(ctx: Ctx, note: str | None = None) -> None:
    """Show the current step again."""
    step = ctx.state.step
    if step in ("body", "caption"):
        cmd_compose(ctx, "")
    elif step == "unions":
        ask_unions(ctx, note)
    elif step == "sector":
        ask_sector(ctx)
    elif step == "codes":
        ask_codes(ctx, note)
    elif not ctx.state.data.get("audience"):
        ask_audience(ctx, note)
    elif step == "send_at":
        ask_time(ctx, note)
    elif step == "preview":
        preview(ctx)
    else:
        ask_options(ctx, note)
