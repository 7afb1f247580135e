"""The one entry point of the core: turn an Incoming into a Response.

Order of handling (commands come from the registry in handlers/commands.py, flows from FLOWS):
1. a typed digit or label that matches a choice of the last message becomes that choice;
2. a button press of a step that has passed is refused politely;
3. commands (/start, /help, …), the public ones even for strangers;
4. strangers: everything else goes to onboarding (the invite code);
5. a button goes to its flow; typed text to the flow the chat is in;
6. otherwise the catch-all: a short "I did not understand" with the menu.

The conversation state is saved in the same transaction as the flow's own writes,
before the channel sends anything.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.config import Settings
from bot.db import session_scope
from bot.i18n import _, pick_language, use_language
from bot.messages import Incoming, Response, response_from_json, response_to_json
from bot.models import ConversationState
from bot.services import inbox, push_choices, registry
from bot.textvn import fold
from handlers import ask, commands, menu, notices, onboarding, report, review
from handlers.base import Ctx, Flow, parse_button

log = logging.getLogger(__name__)

# Conversation flows by the name used in button data and ConversationState.flow.
FLOWS: dict[str, Flow] = {
    onboarding.FLOW: onboarding,
    menu.FLOW: menu,
    report.FLOW: report,
    ask.FLOW: ask,
    notices.FLOW: notices,
    review.FLOW: review,
}


_STATE = select(ConversationState).where(  # built once: every update reads it
    ConversationState.channel == bindparam("channel"), ConversationState.external_id == bindparam("external_id"))


def load_state(session: Session, incoming: Incoming, now: datetime) -> ConversationState:
    state = session.exec(_STATE, params={"channel": incoming.channel, "external_id": incoming.user_id}).first()
    if state is None:
        state = ConversationState(channel=incoming.channel, external_id=incoming.user_id,
                                  data={}, updated_at=now)
        session.add(state)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:  # created concurrently by another worker
            return load_state(session, incoming, now)
    return state


def resolve_typed_choice(state: ConversationState, text: str) -> str | None:
    """The data of the offered choice that typed text names (its number or its label)."""
    choices = state.data.get("_choices") or []
    typed = fold(text).strip(" .)")
    if not typed:
        return None
    for number, label, data in choices:
        if (number is not None and typed == str(number)) or typed == fold(label):
            return data
    return None


def split_command(text: str) -> tuple[str, str] | None:
    """('start', 'ABC') for '/start ABC' or '/start@bot ABC'; None for other text."""
    if not text.startswith("/"):
        return None
    head, _sep, args = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    return (name, args.strip()) if name else None


def remember_choices(ctx: Ctx) -> None:
    """Store the choices of the last reply that offered some, so typing them works."""
    data = dict(ctx.state.data)
    data.pop("_choices", None)
    for reply in reversed(ctx.response.replies):
        if reply.options:
            data["_choices"] = [
                [i + 1 if reply.numbered else None, o.label, o.data]
                for i, o in enumerate(reply.flat_options())
            ]
            break
    ctx.state.data = data


def answer_push(ctx: Ctx, command_text: str) -> None:
    """A typed answer to a push (e.g. "1" or "đã nhận" under a notice): run its command as the
    button would, leaving the open conversation and its choices as they were."""
    push_choices.forget(ctx.state)
    command = split_command(command_text)
    if command is None:
        return
    name, args = command
    found = commands.find(name)
    if found is None or commands.role_of(ctx) not in found.who:
        return
    flow, step, data = ctx.state.flow, ctx.state.step, dict(ctx.state.data)
    found.handler(ctx, args)
    if (ctx.state.flow, ctx.state.step) == (flow, step):  # the command left the conversation alone
        data.pop(push_choices.KEY, None)
        ctx.state.data = data
    else:  # it opened a step (a return's "Sửa ngay" → the summary): typing that step's choices works
        remember_choices(ctx)


def dispatch(ctx: Ctx) -> None:
    """Route one incoming message inside an open transaction (see the module docstring)."""
    incoming = ctx.incoming
    if incoming.edited:  # an edit of a sent message: the step does not move, its buttons stay valid
        menu.explain_edit(ctx)
        return
    text = (incoming.text or "").strip()
    data = incoming.data
    if data is None and text:
        own = resolve_typed_choice(ctx.state, text)
        pushed = push_choices.resolve(ctx.state, text, conversation_first=own is not None)
        if pushed is not None and ctx.person is not None and pushed.startswith("/"):
            answer_push(ctx, pushed)
            return
        data = own
    if data is not None and data.startswith("/"):
        text, data = data, None
    if data is not None:
        parsed = parse_button(data)
        if parsed is None or parsed[0] != ctx.state.version or parsed[1] not in FLOWS:
            ctx.toast(_("This step has passed."))
            ctx.response.stale = True
            ctx.say(_("That button belongs to a step that has passed. Type /menu to see what you can do now."))
            return
    ctx.state.version += 1
    command = split_command(text) if data is None else None
    if command is not None:
        name, args = command
        found = commands.find(name)
        if found is not None and found.public:
            found.handler(ctx, args)
            return
        if ctx.person is None:
            onboarding.ask_for_code(ctx)
            return
        if found is not None:
            found.handler(ctx, args)
            return
        menu.unknown_command(ctx)
        return
    if ctx.person is None:
        onboarding.on_stranger(ctx, text, data)
        return
    if data is not None:
        _version, flow, action, arg = parse_button(data)  # type: ignore[misc]
        FLOWS[flow].on_button(ctx, action, arg)
        return
    flow = FLOWS.get(ctx.state.flow)
    if flow is not None:
        if incoming.file is not None:
            flow.on_file(ctx, incoming.file)
        else:  # a sticker or a photo mid-conversation is an empty answer: the step is asked again
            flow.on_text(ctx, text)
        return
    menu.fallback(ctx, text)


def handle(engine: Engine, settings: Settings, incoming: Incoming, now: datetime | None = None) -> Response:
    """Handle one incoming message in its own transaction; never raises.

    A stored update (`incoming.inbox_id`) is handled once: its answer is kept in the inbox
    row in the same transaction as the state change, and returned again (not recomputed)
    if the channel hands the same update over a second time.
    """
    now = now or utcnow()
    try:
        with session_scope(engine) as session:
            # several workers: one update of a chat at a time, in the order received (PostgreSQL)
            inbox.take_turn(session, incoming.channel, incoming.chat_id, incoming.inbox_id)
            row = inbox.claim(session, incoming.inbox_id) if incoming.inbox_id is not None else None
            if row is not None and row.handled_at is not None:
                return response_from_json(row.reply or {})
            identity, person, unit = registry.identity_and_person(session, incoming.channel, incoming.user_id)
            if person is not None and not person.active:
                person = None
            state = load_state(session, incoming, now)
            lang = pick_language(person.language if person else None, state.language,
                                 incoming.language_code)
            with use_language(lang):
                ctx = Ctx(session=session, settings=settings, incoming=incoming, state=state,
                          identity=identity, person=person, now=now)
                if person is not None and unit is not None:
                    ctx.memo[("unit", person.unit_id)] = unit  # read with the person (Ctx.unit)
                version_before = state.version
                dispatch(ctx)
                if state.version != version_before:  # a passed step keeps its choices
                    remember_choices(ctx)
                state.updated_at = now
            if row is not None:
                inbox.mark_handled(session, row, response_to_json(ctx.response), now)
            return ctx.response
    except Exception:  # a handler bug must not kill the bot nor lose what was saved before
        log.exception("handling %s:%s failed", incoming.channel, incoming.user_id)
        with use_language(pick_language(incoming.language_code)):
            response = Response(toast=_("Sorry, something went wrong."))
            response.replies.append(menu.error_reply())
        _close_failed(engine, incoming, response, now)
        return response


def _close_failed(engine: Engine, incoming: Incoming, response: Response, now: datetime) -> None:
    """A stored update whose handling failed is answered with the apology, not handled again."""
    if incoming.inbox_id is None:
        return
    try:
        with session_scope(engine) as session:
            row = inbox.claim(session, incoming.inbox_id)
            if row is not None and row.handled_at is None:
                inbox.mark_handled(session, row, response_to_json(response), now, error="handler failed")
    except Exception:
        log.exception("could not record the failed update %s", incoming.inbox_id)
