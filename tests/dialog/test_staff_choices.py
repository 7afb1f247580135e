"""/xephang, /xuatexcel and /bieudo with no argument: the figures for the default round and one's own
scope, then the other rounds and the scopes below as choices — nobody needs to know a code (issue #14)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from dialog import CoreChat
from worlds import add_test_round, small_province

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=timezone.utc)  # R1 has passed its deadline (the default), R2 is open


@pytest.fixture
def people(engine):
    people = small_province(engine, opens=date(2026, 11, 1), deadline=date(2026, 11, 30), round_code="R1")
    add_test_round(engine, "R2", opens=date(2026, 12, 1), deadline=date(2026, 12, 20), indicators=["DV_TONG"])
    return people


def chat(engine, settings, user_id: int) -> CoreChat:
    return CoreChat(engine, settings, user_id=str(user_id), channel="telegram", now=NOW)


def sent_files(c: CoreChat):  # type: ignore[no-untyped-def]
    return [r.file for r in c.history[-1].replies if r.file is not None]


@pytest.mark.parametrize("command, kind, name", [("xuatexcel", "document", "tonghop-{round}-{unit}.xlsx"),
                                                 ("bieudo", "photo", "bieudo-{round}-{unit}.png")])
def test_a_file_command_without_argument_sends_the_default_then_offers_rounds_and_scopes(
        engine, settings, people, command, kind, name):
    staff = chat(engine, settings, people["staff"])
    staff.send(f"/{command}")
    [file] = sent_files(staff)
    assert file.kind == kind and file.file_name == name.format(round="R1", unit="P")
    assert "chọn" in staff.text.lower()
    assert staff.options() == ["Đợt thử R2", "LĐLĐ huyện U1", "LĐLĐ huyện U2"]
    staff.press("Đợt thử R2")
    [file] = sent_files(staff)
    assert file.file_name == name.format(round="R2", unit="P")
    assert staff.options() == []  # a chosen round and scope: just the file
    staff.send(f"/{command}")
    staff.press("LĐLĐ huyện U2")
    [file] = sent_files(staff)
    assert file.file_name == name.format(round="R1", unit="U2")

    officer = chat(engine, settings, people["officers"]["U1"])
    officer.send(f"/{command}")
    [file] = sent_files(officer)
    assert file.file_name == name.format(round="R1", unit="U1")
    assert officer.options() == ["Đợt thử R2"]  # only CĐCS below: no scopes to offer
    officer.press_data(f"/{command} R1 U2")  # forged: another union's scope
    assert sent_files(officer) == [] and "Bạn chỉ xem được số liệu của" in officer.text


def test_ranking_without_argument_offers_rounds_and_scopes_and_a_chair_gets_none(engine, settings, people):
    staff = chat(engine, settings, people["staff"])
    staff.send("/xephang")
    assert "Đợt thử R1" in staff.text
    assert staff.options() == ["Đợt thử R2", "LĐLĐ huyện U1", "LĐLĐ huyện U2"]
    staff.press("LĐLĐ huyện U1")
    assert "Đợt thử R1" in staff.text and "LĐLĐ huyện U1" in staff.text
    staff.send("/xephang")
    staff.press("Đợt thử R2")
    assert "Đợt thử R2" in staff.text and staff.options() == []
    chair = chat(engine, settings, people["chairs"]["G01"])
    chair.send("/xephang")
    assert chair.options() == []
