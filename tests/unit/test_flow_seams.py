"""The seams of conversation flows: the Flow protocol, named steps, drafts kept as data."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from enum import StrEnum

import pytest

from bot.messages import FileRef, Incoming
from bot.models import ConversationState
from handlers import ask, menu, notices, onboarding, report, router
from handlers.base import Ctx, UnknownStep, current_step, step_table
from handlers.notices import NoticeDraft, NoticeStep
from handlers.report import ReportChoices, ReportStep


def ctx_in(flow: str = "", step: str = "", data: dict | None = None) -> Ctx:
    state = ConversationState(channel="test", external_id="1", flow=flow, step=step, data=data or {},
                              updated_at=datetime(2026, 1, 1))
    incoming = Incoming(channel="test", user_id="1", chat_id="1", text="chú thích")
    return Ctx(session=None, settings=None, incoming=incoming, state=state, identity=None,  # type: ignore[arg-type]
               person=None, now=datetime(2026, 1, 1))


def test_every_registered_flow_offers_what_the_router_calls():
    assert set(router.FLOWS) == {"onboard", "menu", "report", "ask", "notice", "review"}
    for name, flow in router.FLOWS.items():
        assert flow.FLOW == name
        for member in ("on_button", "on_text", "on_file"):
            assert callable(getattr(flow, member)), (name, member)


def test_a_flow_without_files_takes_the_caption_as_typed_text(monkeypatch):
    seen = []
    monkeypatch.setattr(menu, "fallback", lambda ctx, text: seen.append(text))
    ctx = ctx_in("menu")
    menu.on_file(ctx, FileRef("f-1", "a.jpg", "image/jpeg"))
    assert seen == ["chú thích"] and ctx.state.flow == ""


def test_a_bare_string_step_is_refused_at_once():
    ctx = ctx_in()
    with pytest.raises(UnknownStep):
        ctx.enter(notices.FLOW, "body")  # type: ignore[arg-type]
    with pytest.raises(UnknownStep):
        ctx.goto("optoins")  # type: ignore[arg-type]
    ctx.enter(notices.FLOW, NoticeStep.BODY)
    ctx.goto(NoticeStep.OPTIONS)
    assert ctx.state.step == "options" and type(ctx.state.step) is str  # stored as plain text


def test_an_unknown_stored_step_is_logged_and_read_as_none(caplog):
    with caplog.at_level(logging.WARNING, logger="handlers.base"):
        assert current_step(ctx_in("notice", "optoins"), NoticeStep) is None
    assert "optoins" in caplog.text
    assert current_step(ctx_in("notice", "send_at"), NoticeStep) is NoticeStep.SEND_AT


def test_a_step_table_missing_a_step_fails_when_built():
    class Steps(StrEnum):
        ONE = "one"
        TWO = "two"

    with pytest.raises(UnknownStep, match="two"):
        step_table(Steps, {Steps.ONE: "x"})
    assert step_table(Steps, {Steps.ONE: 1, Steps.TWO: 2}) == {Steps.ONE: 1, Steps.TWO: 2}


def test_every_step_name_is_what_older_versions_stored():
    # Conversations in progress keep their step across an upgrade: the stored names must not change.
    assert [s.value for s in NoticeStep] == ["body", "caption", "audience", "unions", "sector", "codes",
                                             "options", "send_at", "preview"]
    assert [s.value for s in ReportStep] == ["pick", "resume", "ask", "ambiguous", "summary", "edit", "confirm"]
    assert onboarding.OnboardingStep.CODE == "code" and ask.AskStep.UNIT == "unit"


def test_notice_draft_round_trips_through_json():
    draft = NoticeDraft(body="Họp", file_id="F1", file_name="a.pdf", audience={"kind": "unions", "units": [3, 4]},
                        unions=[3, 4], ack=False, send_at=datetime(2026, 12, 6, 0, 30, tzinfo=timezone.utc),
                        notice_id=7)
    stored = json.loads(json.dumps(draft.to_data()))
    assert NoticeDraft.from_data(stored) == draft
    assert NoticeDraft.from_data(NoticeDraft().to_data()) == NoticeDraft()


def test_report_choices_round_trip_through_json():
    choices = ReportChoices(round_id=5, back_to_summary=True, candidates=["1.234", "1234"])
    assert ReportChoices.from_data(json.loads(json.dumps(choices.to_data()))) == choices


def test_an_old_format_notice_draft_still_loads():
    # exactly what the handler stored before drafts were dataclasses (partial, with the router's own key)
    old = {"ack": True, "send_at": "2026-12-06T00:30:00", "body": "Kính gửi các CĐCS", "unions": [2, "3", None],
           "audience": {"kind": "unions", "units": [2, 3]}, "notice_id": 12,
           "_choices": [[1, "Xem trước", "s5:notice:preview"]], "stale_key": "x"}
    draft = NoticeDraft.from_data(old)
    assert draft == NoticeDraft(body="Kính gửi các CĐCS", audience={"kind": "unions", "units": [2, 3]},
                                unions=[2, 3], ack=True, send_at=datetime(2026, 12, 6, 0, 30), notice_id=12)
    ctx = ctx_in("notice", "options", old)
    draft.store(ctx)
    assert ctx.state.data["_choices"] == old["_choices"]  # the router's typed choices survive
    assert "stale_key" not in ctx.state.data
    # the earliest steps stored only these keys; an absent "ack" meant "not required"
    assert NoticeDraft.from_data({"send_at": None}) == NoticeDraft(ack=False)
    assert NoticeDraft.from_data({"ack": True, "send_at": "not a time", "audience": []}).send_at is None


def test_an_old_format_report_conversation_still_loads():
    assert ReportChoices.from_data({"round_id": 4}) == ReportChoices(round_id=4)
    assert ReportChoices.from_data({"round_id": 4, "candidates": ["1.5", "15"], "back_to_summary": True}) == \
        ReportChoices(round_id=4, back_to_summary=True, candidates=["1.5", "15"])
    assert ReportChoices.from_data({"round_id": "x", "candidates": "12"}) == ReportChoices()


def test_report_and_notice_buttons_keep_their_data_format():
    # versioned buttons already shown in chats must keep working after an upgrade
    assert set(report.DRAFT_BUTTONS) | set(report.ROUND_BUTTONS) == {
        "continue", "yes", "no", "skip", "back", "pick", "send", "edit", "line", "close", "cancel", "correct",
        "restart", "sure", "retype"}
    from handlers.notices import flow
    assert set(flow.BUTTONS) == {"cancel", "resend", "export", "skip", "aud", "union", "unions_done", "sector",
                                 "ack", "at", "now", "audience", "options", "preview", "send", "sample"}
