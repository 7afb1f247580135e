"""The notice flow's events: buttons, typed text and files dispatched by tables.

Every event first checks that the person may broadcast (notices.can_broadcast). Buttons
of following (resend, export) and "cancel" work outside the compose steps; the others
need a compose step, some need recipients chosen, "skip" and "send" only their own step.
Whatever does not fit shows the current step again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from bot.i18n import _
from bot.messages import FileRef
from handlers.base import Ctx, Step, current_step, step_table
from handlers.notices import compose, follow
from handlers.notices.common import FLOW, NoticeDraft, NoticeStep, allowed


def _needs_audience(prompt: Callable[[Ctx, str | None], None]) -> Callable[[Ctx, str | None], None]:
    """A step that makes sense only once recipients are chosen: otherwise ask for them."""

    def show(ctx: Ctx, note: str | None = None) -> None:
        if NoticeDraft.load(ctx).audience:
            prompt(ctx, note)
        else:
            compose.ask_audience(ctx, note)

    return show


def _restart(ctx: Ctx, note: str | None = None) -> None:
    compose.cmd_compose(ctx, "")


_options = _needs_audience(compose.ask_options)

STEPS: dict[NoticeStep, Step] = step_table(NoticeStep, {
    NoticeStep.BODY: Step(_restart, compose.take_body),
    NoticeStep.CAPTION: Step(_restart, compose.take_body),
    # with recipients chosen already ("Change recipients"), typed text goes back to the options
    NoticeStep.AUDIENCE: Step(_options),
    NoticeStep.UNIONS: Step(compose.ask_unions, compose.type_unions),
    NoticeStep.SECTOR: Step(compose.ask_sector),
    NoticeStep.CODES: Step(compose.ask_codes, compose.take_codes),
    NoticeStep.OPTIONS: Step(_options),
    NoticeStep.SEND_AT: Step(_needs_audience(compose.ask_time), compose.take_time),
    NoticeStep.PREVIEW: Step(_needs_audience(lambda ctx, note: compose.preview(ctx))),
})


class Need(Enum):
    NOTHING = "nothing"  # works outside the compose steps too
    COMPOSING = "composing"  # a compose step must be open
    AUDIENCE = "audience"  # … and recipients chosen


@dataclass(frozen=True)
class Action:
    run: Callable[[Ctx, str], None]  # (ctx, button argument)
    need: Need = Need.COMPOSING
    at: frozenset[NoticeStep] | None = None  # only at these steps; elsewhere the step is shown again


def _no_arg(show: Callable[[Ctx], None]) -> Callable[[Ctx, str], None]:
    return lambda ctx, arg: show(ctx)


BUTTONS: dict[str, Action] = {
    "cancel": Action(compose.cancel, Need.NOTHING),
    "resend": Action(follow.resend, Need.NOTHING),
    "export": Action(follow.export, Need.NOTHING),
    "skip": Action(compose.skip_caption, at=frozenset({NoticeStep.CAPTION})),
    "aud": Action(compose.choose_audience),
    "union": Action(compose.toggle_union),
    "unions_done": Action(compose.unions_done),
    "sector": Action(compose.choose_sector),
    "ack": Action(compose.toggle_ack, Need.AUDIENCE),
    "at": Action(_no_arg(compose.ask_time), Need.AUDIENCE),
    "now": Action(compose.send_now, Need.AUDIENCE),
    "audience": Action(_no_arg(compose.ask_audience), Need.AUDIENCE),
    "options": Action(_no_arg(compose.ask_options), Need.AUDIENCE),
    "preview": Action(_no_arg(compose.preview), Need.AUDIENCE),
    "send": Action(compose.send, Need.AUDIENCE, at=frozenset({NoticeStep.PREVIEW})),
    "sample": Action(compose.explain_sample, Need.AUDIENCE),
}


def on_button(ctx: Ctx, action: str, arg: str) -> None:
    """A pressed button of this flow (its version is checked by the router; the rest here)."""
    if not allowed(ctx):
        return
    known = BUTTONS.get(action)
    if known is not None and known.need is Need.NOTHING:
        known.run(ctx, arg)
        return
    if ctx.state.flow != FLOW or not ctx.state.step:
        ctx.leave()
        ctx.say(_("This step has passed. Type /thongbao to write a notice."))
        return
    step = current_step(ctx, NoticeStep)
    has_audience = bool(NoticeDraft.load(ctx).audience)
    if known is None or (known.at is not None and step not in known.at):
        if has_audience:
            show(ctx, step)
        else:
            compose.ask_audience(ctx)
    elif known.need is Need.AUDIENCE and not has_audience:
        compose.ask_audience(ctx)
    else:
        known.run(ctx, arg)


def on_text(ctx: Ctx, text: str) -> None:
    """Typed text: the notice body, typed choices, codes or a time, depending on the step."""
    if not allowed(ctx):
        return
    step = current_step(ctx, NoticeStep)
    handler = STEPS[step].on_text if step is not None else None
    if handler is not None:
        handler(ctx, text)
    else:
        show(ctx, step)


def on_file(ctx: Ctx, file: FileRef) -> None:
    """A document sent while composing: the notice's attachment."""
    if not allowed(ctx):
        return
    step = current_step(ctx, NoticeStep)
    if step in (NoticeStep.BODY, NoticeStep.CAPTION):
        compose.take_file(ctx, file)
    else:
        show(ctx, step, note=_("A file can only be attached at the start. Type /thongbao to start again."))


def show(ctx: Ctx, step: NoticeStep | None, note: str | None = None) -> None:
    """Show a step again; a step this version does not know: the options (or the recipients)."""
    if step is None:
        _options(ctx, note)
    else:
        STEPS[step].prompt(ctx, note)


def resume(ctx: Ctx, note: str | None = None) -> None:
    """Show the current step again."""
    show(ctx, current_step(ctx, NoticeStep), note)
