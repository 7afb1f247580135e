"""The Excel workbook and the chart picture of a round: opened, read back, compared with the database."""

from __future__ import annotations

import io
import struct
import warnings
from datetime import datetime

import openpyxl
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from sqlmodel import Session, select

from bot.i18n import use_language
from bot.models import Indicator, Round, Submission, SubmissionValue, Unit
from bot.services import charts, export_xlsx, rollup
from rollup_world import sqlite_world, unit_id, world_template  # noqa: F401  (fixtures)


def workbook(engine, round_code: str = "R2", root: str = "PROV") -> openpyxl.Workbook:
    with Session(engine) as s, use_language("vi"):
        rnd = s.exec(select(Round).where(Round.code == round_code)).one()
        data = export_xlsx.build_workbook(s, rnd, unit_id(s, root))
    return openpyxl.load_workbook(io.BytesIO(data))


def rows(ws) -> list[dict]:  # type: ignore[no-untyped-def]
    header = [c.value for c in ws[2]]
    return [dict(zip(header, r)) for r in ws.iter_rows(min_row=3, values_only=True) if any(v is not None for v in r)]


def test_excel_sheets_headers_and_layout(sqlite_world):
    wb = workbook(sqlite_world)
    assert wb.sheetnames[:3] == ["Tổng hợp", "Tình hình nộp", "Danh sách đơn vị"]
    assert wb.sheetnames[3:] == ["MEM", "NEW", "FUND", "WORK", "INFO", "QC", "Cần xem lại"]  # one sheet per indicator, then the outliers
    for ws in wb:
        assert ws.freeze_panes == "A3"  # title row and header row stay in view
        assert ws["A1"].font.b and all(c.font.b for c in ws[2] if c.value)
        for letter in "ABC":
            assert 8 <= ws.column_dimensions[letter].width <= 60
    summary = wb["Tổng hợp"]
    assert [c.value for c in summary[2]][:8] == ["Mã", "Chỉ tiêu", "Đơn vị tính", "Cách tổng hợp", "Kỳ so sánh",
                                                 "Kết quả", "Chỉ tiêu giao", "Đạt % chỉ tiêu"]


def test_excel_numbers_equal_the_database_and_the_rollup(sqlite_world):
    wb = workbook(sqlite_world)
    summary = {r["Mã"]: r for r in rows(wb["Tổng hợp"]) if r["Chỉ tiêu"] and not r["Chỉ tiêu"].startswith(" ")}
    # NEW: 26 against 40 (worked out in test_rollup) → 65%, shown with the percent format
    assert (summary["NEW"]["Kết quả"], summary["NEW"]["Chỉ tiêu giao"], summary["NEW"]["Đạt % chỉ tiêu"]) == (26, 40, 0.65)
    assert (summary["NEW"]["Đơn vị có số liệu"], summary["NEW"]["Đơn vị phải báo cáo"]) == (5, 6)
    assert abs(summary["INFO"]["Kết quả"] - 235 / 270) < 1e-12  # a ratio of sums, as a fraction for 0.0%
    assert summary["MEM"]["Kết quả"] == 215 and summary["FUND"]["Kết quả"] == 2_100_000
    sector_rows = [r for r in rows(wb["Tổng hợp"]) if r["Mã"] == "QC" and r["Chỉ tiêu"].startswith(" ")]
    assert [(r["Kết quả"], r["Chỉ tiêu giao"]) for r in sector_rows] == [(1.0, 1.0), (1.0, 1.0), (0.0, 0.5)]
    cell = wb["Tổng hợp"]["F4"]
    assert cell.number_format == "#,##0"  # Excel shows 215 / 2.100.000 with the reader's (Vietnamese) separators

    done = {r["Mã"]: r for r in rows(wb["Tình hình nộp"])}
    assert (done["U1"]["Đơn vị phải báo cáo"], done["U1"]["Đúng hạn"], done["U1"]["Nộp muộn"], done["U1"]["Chưa nộp"]) == (3, 2, 0, 1)
    total = rows(wb["Tình hình nộp"])[-1]
    assert (total["Đơn vị phải báo cáo"], total["Đúng hạn"], total["Nộp muộn"], total["Chưa nộp"]) == (6, 3, 1, 2)

    units = {r["Mã"]: r for r in rows(wb["Danh sách đơn vị"])}
    assert units["A"]["Tình trạng"] == "đúng hạn" and units["C"]["Tình trạng"] == "nộp muộn"
    assert units["B"]["Tình trạng"] == "chưa nộp" and units["B"]["Thời điểm nộp"] is None
    assert isinstance(units["A"]["Thời điểm nộp"], datetime)
    assert wb["Danh sách đơn vị"]["F3"].number_format == "dd/mm/yyyy hh:mm"

    new = {r["Mã"]: r for r in rows(wb["NEW"])}
    a = list(new["A"].values())
    assert a[4:] == [10, 15, 10, 1.5, None]  # this round, cumulative 2026, target, % reached, no note
    assert list(new["E"].values())[4:] == [None, None, None, None, None]  # missing: blank, not 0 (and no note)
    info = {r["Mã"]: list(r.values()) for r in rows(wb["INFO"])}
    assert info["C"][4:] == [25, 25, 50, 0.5, 0.8, 0.625, None]

    # Every "this round" cell equals the value stored for that unit and indicator.
    with Session(sqlite_world) as s:
        stored = {(u, i): v for u, i, v in s.exec(
            select(Unit.code, Indicator.code, SubmissionValue.value)
            .join(Submission, Submission.id == SubmissionValue.submission_id)
            .join(Round, Round.id == Submission.round_id).join(Unit, Unit.id == Submission.unit_id)
            .join(Indicator, Indicator.id == SubmissionValue.indicator_id).where(Round.code == "R2")).all()}
    for code in ("MEM", "NEW", "FUND", "WORK", "INFO", "QC"):
        for r in rows(wb[code]):
            assert list(r.values())[4] == stored.get((r["Mã"], code)), (code, r["Mã"])


def test_export_of_an_unknown_round_fails_politely(demo_url, tmp_path, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", demo_url)
    assert main(["export", "NOPE", "--out", str(tmp_path / "x.xlsx")]) == 1
    assert "NOPE" in capsys.readouterr().err and not (tmp_path / "x.xlsx").exists()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_chart_png_for_a_phone_with_vietnamese_labels(demo_engine):
    with Session(demo_engine) as s, use_language("vi"), warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a warning in matplotlib: fail on it
        rnd = s.exec(select(Round).where(Round.code == "2026-Q3")).one()
        result = rollup.rollup_round(s, rnd, unit_id(s, "LDLD_LC"))
        png = charts.render_round_chart(result)
        picked = charts.render_round_chart(result, ["DV_MOI"])
    width, height = png_size(png)
    assert width == 1080 and 900 <= height <= 3000  # portrait, phone width
    assert 20_000 < len(png) < 1_000_000 and png_size(picked)[0] == 1080
    font = FT2Font(font_manager.findfont(charts.FONT))
    cmap = font.get_charmap()
    labels = "Tình hình nộp Tiến độ so với chỉ tiêu LĐLĐ huyện Tam Đường Đoàn viên kết nạp mới ưu tú"
    assert all(ord(ch) in cmap for ch in labels if not ch.isspace())


def test_an_upper_level_unions_workbook_names_its_cdcs_under_it(demo_engine):
    """Exported for Công đoàn xã Tam Đường: each CĐCS is one row, under Tam Đường in "Công đoàn cấp trên"
    (not listed as its own upper-level union), in the units sheet and every indicator sheet."""
    wb = workbook(demo_engine, "2026-Q3", "CDX_TD")
    with Session(demo_engine) as s:
        upper = s.exec(select(Unit).where(Unit.code == "CDX_TD")).one()
        cdcs = {u.code: u.name for u in s.exec(select(Unit).where(Unit.parent_id == upper.id, Unit.active == True))}  # noqa: E712
    units = rows(wb["Danh sách đơn vị"])
    assert sorted(r["Mã"] for r in units) == sorted(cdcs)  # every CĐCS once
    assert {r["Công đoàn cấp trên"] for r in units} == {upper.name}
    for r in rows(wb["DV_TONG"]):
        assert r["Công đoàn cấp trên"] == upper.name and r["Đơn vị"] == cdcs[r["Mã"]]
    completeness = wb["Tình hình nộp"]
    header = [c.value for c in completeness[2]]
    assert header[1] == "Đơn vị" and "Công đoàn cấp trên" not in header
    listed = [r for r in rows(completeness) if r["Mã"]]
    assert sorted(r["Mã"] for r in listed) == sorted(cdcs)
    assert all(r["Đơn vị"] == cdcs[r["Mã"]] for r in listed)

    province = workbook(demo_engine, "2026-Q3", "LDLD_LC")  # the province's keeps its unions as groups
    assert [c.value for c in province["Tình hình nộp"][2]][1] == "Công đoàn cấp trên"
    td = [r for r in rows(province["Danh sách đơn vị"]) if r["Mã"].startswith("TD_")]
    # the Tam Đường CĐCS under the commune union, and those directly under the province since 01/07/2025
    assert {r["Mã"] for r in td if r["Công đoàn cấp trên"] == upper.name} == set(cdcs)
    assert {r["Mã"] for r in td if r["Công đoàn cấp trên"] == "Liên đoàn Lao động tỉnh Lai Châu"} == {
        "TD_003", "TD_006", "TD_007", "TD_008"}
    assert len(td) == len(cdcs) + 4
