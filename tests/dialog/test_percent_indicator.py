"""A percent indicator of the catalogue (TL_SINHHOAT, examples/indicators.csv) reported in a round of the
example files: "87,5%" and "87,5" accepted, "150%" refused with the rule, "1.500" asked back; the
roll-up weighs each unit's percentage by its members (a ratio of sums: members attending ÷ members, never
an average of percentages), held against the province's common percent target."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.clock import to_utc
from bot.db import session_scope
from bot.models import Round, Unit
from bot.services import rollup
from bot.services.imports import import_indicators, import_rounds, import_targets, import_units
from dialog import CoreChat
from worlds import bind, submitted

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = to_utc(datetime(2026, 11, 21, 9, 0))
BEFORE = ("34", "20", "40", "2", "38", "1.200.000", "3.500.000")  # the seven figures before TL_SINHHOAT


@pytest.fixture
def province(engine):
    """The example files only, as README's "Bắt đầu cho một tỉnh thật" loads them."""
    with session_scope(engine) as session:
        for importer, name in ((import_indicators, "indicators.csv"), (import_units, "units.csv"),
                               (import_targets, "targets.csv"), (import_rounds, "rounds.csv")):
            assert importer(session, EXAMPLES / name).ok, name
    return engine


def chair(engine, settings, unit_code: str, user_id: str, members: int = 34) -> CoreChat:
    bind(engine, unit_code, user_id, channel="test")
    chat = CoreChat(engine, settings, user_id=user_id, now=NOW)
    chat.send("/baocao 2026-Q4")
    figures = (str(members), BEFORE[1], str(max(members + 6, int(BEFORE[2]))), *BEFORE[3:])
    for typed in figures:
        chat.send(typed)
    assert "mục 8/8" in chat.text and "Tỷ lệ đoàn viên tham gia sinh hoạt công đoàn" in chat.text
    return chat


def test_percent_typed_with_and_without_the_sign_and_the_rules(province, settings):
    chat = chair(province, settings, "TD_901", "2001")
    chat.send("150%")
    assert "không thể lớn hơn 100%" in chat.text and "mục 8/8" in chat.text  # refused, saying the rule
    chat.send("1.500")
    assert "nhiều cách" in chat.text and "1,5%" in chat.options()  # asked back, not guessed
    chat.send("87,5")  # typed again instead of choosing: the new figure is read
    assert "Tóm tắt" in chat.text and "87,5%" in chat.text
    chat.press("Gửi")
    assert "Đã nhận báo cáo" in chat.text
    assert submitted(province, "2026-Q4", "TD_901")["TL_SINHHOAT"] == 87.5

    for unit_code, user_id, typed, stored, members in (("TD_902", "2002", "87,5%", 87.5, 34),
                                                       ("TD_903", "2003", "60 %", 60, 100)):
        other = chair(province, settings, unit_code, user_id, members)
        other.send(typed)
        assert "Tóm tắt" in other.text
        other.press("Gửi")
        assert submitted(province, "2026-Q4", unit_code)["TL_SINHHOAT"] == stored

    with Session(province) as s:
        rnd = s.exec(select(Round).where(Round.code == "2026-Q4")).one()
        upper = s.exec(select(Unit).where(Unit.code == "CDX_TD")).one()
        result = rollup.rollup_round(s, rnd, upper.id, indicator_codes=["TL_SINHHOAT"]).indicators[0]
    assert result.percent and result.total.units == 3
    # members attending ÷ members: (87,5% × 34 + 87,5% × 34 + 60% × 100) ÷ 168 — not (87,5 + 87,5 + 60) ÷ 3
    weighted = (0.875 * 34 + 0.875 * 34 + 0.60 * 100) / 168 * 100
    assert result.total.value == pytest.approx(weighted, abs=0.001) and round(weighted, 1) == 71.1
    assert result.target() == 90  # the province's common target applies below it
    assert result.attainment() == pytest.approx(weighted / 90 * 100, abs=0.01)


def test_an_unfinished_report_is_named_once(province, settings):
    """The round's title already says "Báo cáo…": the resume question does not say "báo cáo Báo cáo"."""
    bind(province, "TD_901", "2101", channel="test")
    chat = CoreChat(province, settings, user_id="2101", now=NOW)
    chat.send("/baocao 2026-Q4")
    chat.send("34")
    chat.press("Hủy")
    chat.send("/baocao")
    chat.press("Báo cáo số liệu quý IV/2026")
    assert "Bạn có Báo cáo số liệu quý IV/2026 đang làm dở (1/8 mục" in chat.text
    assert "báo cáo báo cáo" not in chat.text.lower()
