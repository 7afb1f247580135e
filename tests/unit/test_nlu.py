"""Unit tests of the question parser (bot.nlu): periods, indicators, units, typos."""

from __future__ import annotations

from datetime import date

import pytest

from bot.nlu import Intent, RoundEntry, UnitEntry, Vocabulary, parse, parse_period, within_one, words
from nlu_cases import demo_vocabulary

TODAY = date(2026, 11, 21)


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return demo_vocabulary()


def ask(vocab: Vocabulary, text: str, today: date = TODAY) -> Intent:
    return parse(text, vocab, today)


@pytest.mark.parametrize("text, period", [
    ("quý 2", "2026-Q2"), ("quý II", "2026-Q2"), ("quy ii", "2026-Q2"), ("Q2", "2026-Q2"), ("quý hai", "2026-Q2"),
    ("quý IV/2025", "2025-Q4"), ("quý 1 năm sau", "2027-Q1"), ("quý 3 năm ngoái", "2025-Q3"),
    ("quý này", "2026-Q4"), ("quý trước", "2026-Q3"),
    ("6 tháng đầu năm", "2026-H1"), ("sáu tháng cuối năm", "2026-H2"), ("nửa đầu năm 2025", "2025-H1"),
    ("năm nay", "2026"), ("năm ngoái", "2025"), ("năm trước", "2025"), ("năm 2024", "2024"), ("năm sau", "2027"),
    ("cả nhiệm kỳ", "2023-2028"), ("nhiệm kỳ 2023-2028", "2023-2028"), ("báo cáo năm", "2026"),
])
def test_periods_the_way_people_say_them(text, period):
    assert parse_period(" ".join(words(text)), TODAY, ["2023-2028"]) == period


def test_periods_follow_today():
    assert parse_period("nam nay", date(2027, 2, 1), []) == "2027"
    assert parse_period("quy nay", date(2027, 2, 1), []) == "2027-Q1"
    assert parse_period("quy truoc", date(2027, 2, 1), []) == "2026-Q4"


@pytest.mark.parametrize("text", [
    "nộp báo cáo năm trước ngày nào",  # "before which day", not last year
    "báo cáo năm tôi gửi rồi chưa",  # "tôi" (I), not "tới" (next)
])
def test_words_that_only_look_like_periods(vocab, text):
    assert ask(vocab, text).period == "2026"


@pytest.mark.parametrize("text, codes", [
    ("kết nạp đoàn viên", ["DV_MOI"]), ("phát triển đoàn viên", ["DV_MOI"]), ("ĐV mới", ["DV_MOI"]),
    ("dv moi", ["DV_MOI"]), ("kết nạp được bao nhiêu đoàn viên", ["DV_MOI"]),
    ("quỹ xã hội", ["QXH_THU"]), ("quỹ XH", ["QXH_THU"]), ("số người ủng hộ quỹ xã hội", ["QXH_NGUOI"]),
    ("kinh phí", ["KPCD_THU"]), ("KPCĐ", ["KPCD_THU"]), ("kpcd", ["KPCD_THU"]),
    ("thỏa ước", ["TULDTT"]), ("thoả ước", ["TULDTT"]), ("TƯLĐTT", ["TULDTT"]),
    ("tổng số đoàn viên", ["DV_TONG"]), ("đoàn viên nữ", ["DV_NU"]), ("tổng số CNVCLĐ", ["LD_TONG"]),
    ("NLĐ được tuyên truyền", ["TT_CHINHSACH"]), ("giới thiệu cho Đảng", ["GT_DANG"]),
    ("kết nạp đoàn viên và quỹ xã hội", ["DV_MOI", "QXH_THU"]),
    ("LĐLĐ huyện", []),  # "lao động" inside the federation's name is not the workers indicator
])
def test_indicators_by_name_synonym_and_abbreviation(vocab, text, codes):
    assert list(ask(vocab, "chỉ tiêu " + text).indicators) == codes


@pytest.mark.parametrize("typed", [
    "chi tieu ket nap doan vien",  # no diacritics
    "CHỈ TIÊU KẾT NẠP ĐOÀN VIÊN",  # capitals
    "chi tieeu ket nap doan vien",  # a doubled letter
    "chỉ têu kết nạp đoàn viên",  # a missing letter
    "chi tieu ket nao doan vien",  # a wrong letter inside an indicator name
    "chitieu ket nap dv",  # glued words and an abbreviation
])
def test_typing_variants_read_the_same(vocab, typed):
    got = ask(vocab, typed)
    assert (got.name, got.indicators) == ("target", ("DV_MOI",))


def test_one_edit_apart():
    assert within_one("tieu", "tieu") and within_one("teu", "tieu") and within_one("hna", "han")
    assert within_one("nopp", "nop") and within_one("cua", "cau")
    assert not within_one("tieu", "tu") and not within_one("ket", "nap") and not within_one("abc", "cba")


def test_units_by_code_and_by_name(vocab):
    assert ask(vocab, "TD_001 đã nộp chưa").unit == "TD_001"
    assert ask(vocab, "td 001 da nop chua").unit == "TD_001"
    assert ask(vocab, "Trạm Y tế xã Bản Bo đã nộp chưa").unit == "TD_031"
    assert ask(vocab, "CĐCS tram y te ban bo da nop chua").unit == "TD_031"
    assert ask(vocab, "huyện Tam Đường còn bao nhiêu đơn vị chưa nộp").unit == "CDX_TD"
    assert ask(vocab, "thu đoàn phí của đoàn viên").unit is None  # "Thư viện tỉnh" is not named here


def test_several_units_fitting_a_name_are_all_returned():
    vocab = Vocabulary(indicators=[("DV_MOI", ["Đoàn viên kết nạp mới", "kết nạp đoàn viên"])],
                       units=[UnitEntry("AA_001", "Trường Tiểu học Hoa Ban"), UnitEntry("BB_001", "Trường Tiểu học Hoa Ban")],
                       rounds=[RoundEntry("R1", "2026-Q4")])
    got = parse("tiến độ kết nạp của trường tiểu học hoa ban", vocab, TODAY)
    assert got.unit is None and got.unit_candidates == ("AA_001", "BB_001")


def test_round_code_typed_literally(vocab):
    got = ask(vocab, "hạn nộp 2026-NAM")
    assert (got.name, got.round, got.period) == ("deadline", "2026-NAM", "2026")


@pytest.mark.parametrize("text, intent", [
    ("thời tiết hôm nay", "unknown"), ("cho tôi vay tiền", "unknown"), ("KPCĐ là gì", "unknown"),
    ("hôm nay là ngày bao nhiêu", "unknown"), ("", "unknown"), ("!!!", "unknown"),
    ("xin chào", "smalltalk"), ("bạn làm được gì?", "help"), ("tôi muốn báo cáo", "report"),
])
def test_what_is_not_a_data_question(vocab, text, intent):
    got = ask(vocab, text)
    assert got.name == intent and got.indicators == () and got.unit is None
