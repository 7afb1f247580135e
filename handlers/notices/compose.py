"""Composing a notice: /thongbao → body [→ caption] → audience [→ unions | sector | codes] →
options [⇄ send_at] → preview → send.

Every button is also a numbered (or typed) choice. Nothing is written to the outbox before
"Gửi"; the draft notice row exists from the first preview (its reference number shows there).
Who may do what is checked on every message, button and typed choice alike (see flow.py),
never taken from button data.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from bot import filetypes
from bot.clock import LOCAL_TZ, to_local, to_utc
from bot.i18n import _, current_language, ngettext
from bot.messages import FileRef, Option, OutFile, esc, reply_from_json
from bot.models import Notice
from bot.services import notices
from bot.services.notices import AudienceKind
from bot.textvn import format_datetime
from handlers.base import Ctx, parse_id
from handlers.notices.common import FLOW, NoticeDraft, NoticeStep, allowed, person

MAX_AHEAD = timedelta(days=90)  # how far ahead a notice may be scheduled
_CLOCK = re.compile(r"(\d{1,2})\s*(?:[:hg]|giờ)\s*(\d{1,2})?")
_DAY = re.compile(r"(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?")


def cmd_compose(ctx: Ctx, args: str) -> None:
    """/thongbao: write a notice (text or a document), choose its recipients, preview, send."""
    if not allowed(ctx):
        return
    ctx.enter(FLOW, NoticeStep.BODY)
    NoticeDraft().store(ctx)
    ctx.say("\n".join([
        _("<b>New notice</b>"),
        _("Type the text of the notice, or send a PDF or DOCX file with a caption."),
        _("At most {n} characters. Type /huy to stop.").format(n=notices.MAX_BODY),
    ]), [[ctx.option(_("Cancel"), FLOW, "cancel")]], numbered=False)


def take_body(ctx: Ctx, text: str) -> None:
    text = text.strip()
    draft = NoticeDraft.load(ctx)
    if not text and not draft.file_id:
        cmd_compose(ctx, "")
        return
    if len(text) > notices.MAX_BODY:
        ctx.say(_("The text is too long: {n} characters, at most {max}. Shorten it, or send it as a PDF file "
                  "with a short caption.").format(n=len(text), max=notices.MAX_BODY),
                [[ctx.option(_("Cancel"), FLOW, "cancel")]], numbered=False)
        return
    draft.body = text
    draft.store(ctx)
    ask_audience(ctx)


def take_file(ctx: Ctx, file: FileRef) -> None:
    """A document to relay: judged by its content, not by the name or type it claims."""
    fmt, problem = notices.check_document(file)
    if problem is not None or fmt is None:
        ctx.say(file_refusal(problem, file), [[ctx.option(_("Cancel"), FLOW, "cancel")]], numbered=False)
        return
    draft = NoticeDraft.load(ctx)
    draft.file_id = f"{ctx.incoming.channel}:{file.file_id}"
    draft.file_name = file.file_name or "thong-bao" + filetypes.EXTENSIONS[fmt][0]
    draft.file_path = file.stored
    draft.store(ctx)
    caption = (ctx.incoming.text or "").strip()
    if caption:
        take_body(ctx, caption)
        return
    ask_caption(ctx)


def file_refusal(problem: notices.FileProblem | None, file: FileRef) -> str:
    """Why a file cannot go out with a notice, and what to send instead."""
    if problem == notices.FileProblem.TOO_BIG:
        return _("The file is too large (at most {mb} MB). Send a smaller PDF or DOCX file, or type the notice.") \
            .format(mb=notices.MAX_FILE_BYTES // (1024 * 1024))
    if problem == notices.FileProblem.UNREADABLE:
        return _("I could not read the file to check it. Please send it again, or type the notice.")
    if problem == notices.FileProblem.MISMATCH:
        return _("The content of {name} does not match its name, so it cannot be sent. Send the original "
                 "PDF or DOCX file.").format(name=esc(file.file_name or ""))
    if file.file_name and notices.is_document(file.file_name, file.mime_type):
        return _("{name} is not a real PDF or DOCX document (its content is something else), so it cannot be "
                 "sent to the units. Send the original document, or type the notice.").format(name=esc(file.file_name))
    return _("Please send the notice as a PDF or DOCX document (or type its text).")


def ask_caption(ctx: Ctx) -> None:
    ctx.goto(NoticeStep.CAPTION)
    ctx.say(_("File received: {name}. Type a short text to go with it, or press Skip.").format(
        name=esc(NoticeDraft.load(ctx).file_name or "")),
        [[ctx.option(_("Skip"), FLOW, "skip"), ctx.option(_("Cancel"), FLOW, "cancel")]], numbered=False)


def skip_caption(ctx: Ctx, arg: str = "") -> None:
    take_body(ctx, "")


# ---- audience ------------------------------------------------------------------------------


def ask_audience(ctx: Ctx, note: str | None = None) -> None:
    ctx.goto(NoticeStep.AUDIENCE)
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


def set_audience(ctx: Ctx, audience: dict) -> None:
    draft = NoticeDraft.load(ctx)
    draft.audience = audience
    draft.store(ctx)
    ask_options(ctx)


def choose_audience(ctx: Ctx, kind: str) -> None:
    if kind in (AudienceKind.CHAIRS, AudienceKind.OFFICERS):
        set_audience(ctx, {"kind": AudienceKind(kind).value})
    elif kind == AudienceKind.UNIONS:
        draft = NoticeDraft.load(ctx)
        draft.unions = []
        draft.store(ctx)
        ask_unions(ctx)
    elif kind == AudienceKind.SECTOR:
        ask_sector(ctx)
    elif kind == AudienceKind.UNITS:
        ask_codes(ctx)
    else:
        ask_audience(ctx)


def ask_unions(ctx: Ctx, note: str | None = None) -> None:
    ctx.goto(NoticeStep.UNIONS)
    chosen = set(NoticeDraft.load(ctx).unions)
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
    union_id = parse_id(arg)
    if union_id not in unions:  # a forged or outdated id: outside the sender's subtree
        ask_unions(ctx, note=_("You can only choose unions within your own union."))
        return
    assert union_id is not None
    draft = NoticeDraft.load(ctx)
    if union_id in draft.unions:
        draft.unions.remove(union_id)
    else:
        draft.unions.append(union_id)
    draft.store(ctx)
    ask_unions(ctx)


def type_unions(ctx: Ctx, text: str) -> None:
    """Typed numbers (as listed) or codes choose the unions at once."""
    unions = notices.upper_unions(ctx.session, person(ctx))
    by_code = {u.code.upper(): u.id for u in unions}
    chosen: list[int] = []
    unknown = []
    for token in re.split(r"[,;\s]+", text.strip()):
        if not token:
            continue
        number = parse_id(token)
        if number is not None and number <= len(unions):
            union_id = unions[number - 1].id
        elif token.upper() in by_code:
            union_id = by_code[token.upper()]
        else:
            unknown.append(token)
            continue
        if union_id not in chosen:
            chosen.append(union_id)  # type: ignore[arg-type]
    if unknown:
        ask_unions(ctx, note=_("Not in the list: {items}").format(items=esc(", ".join(unknown))))
        return
    draft = NoticeDraft.load(ctx)
    draft.unions = chosen
    draft.store(ctx)
    ask_unions(ctx)


def unions_done(ctx: Ctx, arg: str = "") -> None:
    visible = {u.id for u in notices.upper_unions(ctx.session, person(ctx))}
    chosen = [i for i in NoticeDraft.load(ctx).unions if i in visible]
    if not chosen:
        ask_unions(ctx, note=_("Choose at least one union."))
        return
    set_audience(ctx, {"kind": AudienceKind.UNIONS.value, "units": chosen})


def ask_sector(ctx: Ctx, note: str | None = None) -> None:
    ctx.goto(NoticeStep.SECTOR)
    rows = [[ctx.option(notices.sector_label(s), FLOW, "sector", s)]
            for s in notices.sectors_present(ctx.session, person(ctx))]
    rows.append([ctx.option(_("Cancel"), FLOW, "cancel")])
    ctx.say(_("Which sector?"), rows)


def choose_sector(ctx: Ctx, sector: str) -> None:
    if sector not in notices.sectors_present(ctx.session, person(ctx)):
        ask_sector(ctx)
        return
    set_audience(ctx, {"kind": AudienceKind.SECTOR.value, "sector": sector})


def ask_codes(ctx: Ctx, note: str | None = None) -> None:
    ctx.goto(NoticeStep.CODES)
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
    set_audience(ctx, {"kind": AudienceKind.UNITS.value, "codes": [u.code for u in found]})


# ---- options -----------------------------------------------------------------------------------


def ask_options(ctx: Ctx, note: str | None = None) -> None:
    ctx.goto(NoticeStep.OPTIONS)
    draft = NoticeDraft.load(ctx)
    when = draft.send_at
    lines = [note, ""] if note else []
    lines += [
        _("<b>Options</b>"),
        _("Recipients: {audience}").format(audience=notices.describe_audience(ctx.session, draft.audience or {})),
        _("Send: {when}").format(when=format_datetime(when) if when else _("now")),
        _("Acknowledgement: {ack}").format(ack=_("required") if draft.ack else _("not required")),
        "",
        _("Press Preview to see the notice as recipients will see it."),
    ]
    ack_label = _("Do not ask for acknowledgement") if draft.ack else _("Ask for acknowledgement")
    rows = [
        [ctx.option(_("Preview"), FLOW, "preview")],
        [ctx.option(_("Schedule a time"), FLOW, "at")] + ([ctx.option(_("Send now"), FLOW, "now")] if when else []),
        [ctx.option(ack_label, FLOW, "ack")],
        [ctx.option(_("Change recipients"), FLOW, "audience"), ctx.option(_("Cancel"), FLOW, "cancel")],
    ]
    ctx.say("\n".join(lines), rows)


def toggle_ack(ctx: Ctx, arg: str = "") -> None:
    draft = NoticeDraft.load(ctx)
    draft.ack = not draft.ack
    draft.store(ctx)
    ask_options(ctx)


def send_now(ctx: Ctx, arg: str = "") -> None:
    draft = NoticeDraft.load(ctx)
    draft.send_at = None
    draft.store(ctx)
    ask_options(ctx)


def ask_time(ctx: Ctx, note: str | None = None) -> None:
    ctx.goto(NoticeStep.SEND_AT)
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
    draft = NoticeDraft.load(ctx)
    draft.send_at = when
    draft.store(ctx)
    ask_options(ctx)


# ---- preview and send ----------------------------------------------------------------------------


def recipients(ctx: Ctx) -> list[notices.Recipient]:
    return notices.resolve_audience(ctx.session, person(ctx), NoticeDraft.load(ctx).audience or {})


def counted(ctx: Ctx) -> tuple[int, int]:
    """(recipients, reachable ones) of the draft's audience, counted in SQL."""
    return notices.count_recipients(ctx.session, person(ctx), NoticeDraft.load(ctx).audience or {})


def refuse_empty(ctx: Ctx, total: int) -> None:
    if not total:
        note = _("Nobody is in this group of recipients. Choose other recipients.")
    else:
        note = ngettext("The {n} person in this group cannot be reached (not registered on the bot, or blocked it). "
                        "Choose other recipients.",
                        "None of the {n} people in this group can be reached (not registered on the bot, or blocked "
                        "it). Choose other recipients.", total).format(n=total)
    ask_audience(ctx, note=note)


def preview(ctx: Ctx, note: str | None = None) -> None:
    """Show the notice exactly as recipients will see it, and how many will get it."""
    draft = NoticeDraft.load(ctx)
    if not draft.audience:
        ask_audience(ctx)
        return
    total, reachable = counted(ctx)
    if not reachable:
        refuse_empty(ctx, total)
        return
    sender = person(ctx)
    when = draft.send_at
    notice = notices.save_draft(ctx.session, sender, draft.notice_id, body=draft.body,
                                file_id=draft.file_id, file_name=draft.file_name, file_path=draft.file_path,
                                audience=draft.audience, requires_ack=draft.ack, send_at=when, now=ctx.now)
    ctx.goto(NoticeStep.PREVIEW)
    draft.notice_id = notice.id
    draft.store(ctx)
    payload = notices.render(notice, notices.sender_unit_name(ctx.session, notice), when or ctx.now,
                             current_language(), buttons=ctx.limits.buttons)
    say_payload(ctx, payload)
    unreachable = total - reachable
    lines = [
        _("👆 This is exactly what recipients will see."),
        _("Recipients: <b>{n}</b> — {audience}").format(
            n=total, audience=notices.describe_audience(ctx.session, notice.audience)),
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
    reply = reply_from_json(payload)
    options = [[ctx.option(o.label, FLOW, "sample") for o in row] for row in reply.options]
    ctx.say(reply.text, options, numbered=reply.numbered, file=reply.file)


def explain_sample(ctx: Ctx, arg: str = "") -> None:
    """The "Received" button of the preview: say what it does for recipients."""
    ctx.toast(_("Recipients press this button to confirm."))
    preview(ctx)


def send(ctx: Ctx, arg: str = "") -> None:
    """Gửi: queue the notice once (a second press finds it queued already)."""
    notice_id = NoticeDraft.load(ctx).notice_id
    if not notice_id:
        preview(ctx)
        return
    total, reachable = counted(ctx)
    if not reachable:
        refuse_empty(ctx, total)
        return
    progress_to = (ctx.incoming.channel, ctx.incoming.chat_id)
    if total <= notices.INLINE_LIMIT:
        queued = notices.queue(ctx.session, notice_id, person(ctx), recipients(ctx), progress_to=progress_to,
                               now=ctx.now, actor=ctx.actor)
    else:  # a large notice: the bot's background job queues the recipients in short chunks
        queued = notices.start_queuing(ctx.session, notice_id, person(ctx), total=total, reachable=reachable,
                                       progress_to=progress_to, now=ctx.now, actor=ctx.actor)
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


def cancel(ctx: Ctx, arg: str = "") -> None:
    if ctx.person is not None:
        notices.cancel_draft(ctx.session, NoticeDraft.load(ctx).notice_id, ctx.person)
    ctx.leave()
    ctx.say(_("Cancelled. Nothing was sent."))
