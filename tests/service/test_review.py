"""Review rules against a real database: states and history, scope, locked rounds, corrections,
the round setting in the rounds import, and roll-ups of approved reports only."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.db import session_scope
from bot.i18n import use_language
from bot.models import Outbox, Person, Round, Submission, SubmissionReview, Unit
from bot.services import reporting, review, rollup
from bot.services.imports import import_rounds
from worlds import small_province

NOW = datetime(2026, 11, 21, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def world(engine):
    people = small_province(engine, opens=date(2026, 11, 1), deadline=date(2026, 12, 20), submitted_units=0)
    with session_scope(engine) as s:
        rnd = s.exec(select(Round).where(Round.code == "R1")).one()
        rnd.requires_review = True
        s.add(rnd)
    return people


def submit(s: Session, code: str, value: float) -> Submission:
    rnd = reporting.round_by_code(s, "R1")
    unit = s.exec(select(Unit).where(Unit.code == code)).one()
    draft = reporting.start_draft(s, rnd, unit, None, NOW, values={"DV_TONG": value})
    return reporting.submit(s, rnd, unit, draft, None, NOW, "test").submission


def person(s: Session, unit_code: str) -> Person:
    return s.exec(select(Person).join(Unit, Unit.id == Person.unit_id).where(Unit.code == unit_code)).first()


def test_states_history_and_the_rules(world, engine):
    with use_language("en"), session_scope(engine) as s:
        sub = submit(s, "G01", 30)
        rnd, unit = reporting.round_by_code(s, "R1"), s.get(Unit, sub.unit_id)
        officer, other, staff = person(s, "U1"), person(s, "U2"), person(s, "P")
        chair = person(s, "G01")
        assert sub.review == review.WAITING
        assert review.may_review(s, officer, unit) and review.may_review(s, staff, unit)
        assert not review.may_review(s, other, unit) and not review.may_review(s, chair, unit)
        with pytest.raises(review.ReviewRefused, match="units under your own union"):
            review.reviewable(s, other, sub.id)
        with pytest.raises(review.ReviewRefused, match="comment"):
            review.return_report(s, sub, rnd, unit, officer, "  ", NOW, "test")
        with pytest.raises(review.ReviewRefused, match="too long"):
            review.return_report(s, sub, rnd, unit, officer, "x" * 1001, NOW, "test")
        review.approve(s, sub, rnd, unit, officer, NOW, "test")
        with pytest.raises(review.ReviewRefused, match="no longer waiting"):
            review.approve(s, sub, rnd, unit, staff, NOW, "test")
        # a correction that changes nothing keeps the approval; a real one waits again
        submit(s, "G01", 30)
        assert sub.review == review.APPROVED
        submit(s, "G01", 31)
        assert sub.review == review.WAITING
        reporting.lock_round(s, rnd, NOW)
        with pytest.raises(review.ReviewRefused, match="locked"):
            review.reviewable(s, officer, sub.id)
        with pytest.raises(review.ReviewRefused, match="locked"):
            review.approve_all(s, rnd, staff, None, NOW, "test")
        steps = [(h.state, h.revision, h.person_id) for h in review.history(s, sub)]
        assert steps == [("waiting", 1, None), ("approved", 1, officer.id), ("waiting", 2, None)]
        kinds = s.exec(select(Outbox.kind, Outbox.chat_id)).all()
        # the chair heard of the approval; the officer who approved it, of the correction
        assert sorted(kinds) == sorted([("review", "8001"), ("review", "8101")])


def test_approval_notice_can_be_turned_off_and_bulk_stays_in_scope(world, engine):
    with session_scope(engine) as s:
        rnd = reporting.round_by_code(s, "R1")
        rnd.approval_notice = False
        for code in ("G01", "G02", "G13"):
            submit(s, code, 30)
        officer = person(s, "U1")
        u1 = s.exec(select(Unit).where(Unit.code == "U1")).one()
        assert review.approve_all(s, rnd, officer, u1.id, NOW, "test") == 2
        states = dict(s.exec(select(Unit.code, Submission.review).join(Unit, Unit.id == Submission.unit_id)).all())
        assert states == {"G01": "approved", "G02": "approved", "G13": "waiting"}
        assert s.exec(select(Outbox)).all() == []  # no approval lines when the round turns them off
        assert len(s.exec(select(SubmissionReview)).all()) == 5


def test_rollup_counts_approved_only_on_request(world, engine):
    with session_scope(engine) as s:
        rnd = reporting.round_by_code(s, "R1")
        officer = person(s, "U1")
        for code, value in (("G01", 10), ("G02", 20), ("G03", 40)):
            submit(s, code, value)
        for code in ("G01", "G02"):
            sub = s.exec(select(Submission).join(Unit, Unit.id == Submission.unit_id).where(Unit.code == code)).one()
            review.approve(s, sub, rnd, s.get(Unit, sub.unit_id), officer, NOW, "test")
    with Session(engine) as s:
        rnd = reporting.round_by_code(s, "R1")
        every = rollup.rollup_round(s, rnd, None)
        approved = rollup.rollup_round(s, rnd, None, approved_only=True)
        assert every.indicator("DV_TONG").total.total == 70 and every.indicator("DV_TONG").total.units == 3
        assert approved.indicator("DV_TONG").total.total == 30 and approved.indicator("DV_TONG").total.units == 2
        assert (every.reviews.approved, every.reviews.waiting, every.reviews.returned) == (2, 1, 0)
        assert every.completeness.submitted == approved.completeness.submitted == 3  # who reported does not change


def test_rounds_import_sets_review_and_keeps_it_when_the_column_is_absent(engine, tmp_path: Path):
    from bot.demo import ensure_indicators

    with session_scope(engine) as s:
        ensure_indicators(s)
    path = tmp_path / "rounds.csv"
    path.write_text("code,title,period,opens,deadline,indicators,review,approval_notice\n"
                    "Q1,Quý I,2026-Q1,01/03/2026,20/04/2026,DV_TONG,có,không\n"
                    "Q2,Quý II,2026-Q2,01/06/2026,20/07/2026,DV_TONG,,\n", encoding="utf-8")
    with use_language("en"), session_scope(engine) as s:
        report = import_rounds(s, path, actor="test")
    assert report.ok, report.errors
    with Session(engine) as s:
        flags = {r.code: (r.requires_review, r.approval_notice) for r in s.exec(select(Round))}
    assert flags == {"Q1": (True, False), "Q2": (False, True)}
    path.write_text("code,title,period,opens,deadline,indicators\n"
                    "Q1,Quý I,2026-Q1,01/03/2026,20/04/2026,DV_TONG\n", encoding="utf-8")
    with use_language("en"), session_scope(engine) as s:
        assert import_rounds(s, path, actor="test").unchanged == 1
    path.write_text("code,title,period,opens,deadline,indicators,review\n"
                    "Q1,Quý I,2026-Q1,01/03/2026,20/04/2026,DV_TONG,maybe\n", encoding="utf-8")
    with use_language("en"), session_scope(engine) as s:
        bad = import_rounds(s, path, actor="test")
    assert not bad.ok and "write có or không" in bad.errors[0][1]
    with Session(engine) as s:
        assert s.exec(select(Round.requires_review).where(Round.code == "Q1")).one() is True


def test_turning_review_on_puts_earlier_reports_in_waiting_and_off_clears_states(world, engine):
    with session_scope(engine) as s:
        rnd = reporting.round_by_code(s, "R1")
        review.set_required(s, rnd, False, NOW)
        sub = submit(s, "G01", 30)
        assert sub.review is None
        assert review.set_required(s, rnd, True, NOW) == 1
        assert sub.review == review.WAITING and len(review.history(s, sub)) == 1
        assert review.set_required(s, rnd, False, NOW) == 1
        assert sub.review is None and len(review.history(s, sub)) == 1  # the history stays
