"""`import indicators`: the catalogue file (CSV with or without BOM, or XLSX), all or nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.db import session_scope
from bot.i18n import use_language
from bot.models import AuditLog, Indicator
from bot.services.imports import import_indicators, import_rounds, import_targets, import_units, read_table

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = "code,name_vi,name_en,unit_vi,unit_en,kind,rollup,denominator,min,max,not_above,levels,sectors,required,aliases\n"


def run(engine: Engine, path: Path, lang: str = "en"):  # type: ignore[no-untyped-def]
    with use_language(lang), session_scope(engine) as session:
        return import_indicators(session, path, actor="test")


def stored(engine: Engine) -> dict[str, Indicator]:
    with Session(engine) as session:
        return {i.code: i for i in session.exec(select(Indicator))}


def test_the_example_catalogue_loads_on_an_empty_database_and_again_changes_nothing(engine: Engine) -> None:
    rows = read_table(EXAMPLES / "indicators.csv").rows
    report = run(engine, EXAMPLES / "indicators.csv")
    assert report.ok, report.errors
    assert report.created == len(rows) >= 19
    found = stored(engine)
    assert {"DV_TONG", "DV_MOI", "TT_CHINHSACH", "QCDC", "QXH_THU", "TULDTT", "MAI_AM"} <= set(found)
    assert (found["TT_CHINHSACH"].rollup, found["TT_CHINHSACH"].denominator_code) == ("ratio", "LD_TONG")
    assert found["DV_TONG"].rollup == "snapshot"  # written "latest" in the file
    assert (found["QCDC"].kind, found["QCDC"].min_value, found["QCDC"].max_value) == ("yesno", 0.0, 1.0)
    assert found["HOC_NGHE"].sectors == "dnnn ngoainn" and not found["HOC_NGHE"].required
    assert found["QUA_TET_SUAT"].levels == "grassroots upper"
    assert "kết nạp đoàn viên" in found["DV_MOI"].aliases
    positions = [found[r.get("code")].position for r in rows]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)

    again = run(engine, EXAMPLES / "indicators.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(rows))
    with Session(engine) as session:
        actions = [a.action for a in session.exec(select(AuditLog))]
    assert actions == ["import.indicators"]


def test_every_example_file_imports_in_readme_order_on_an_empty_database(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as session:
        for importer, name in ((import_indicators, "indicators.csv"), (import_units, "units.csv"),
                               (import_targets, "targets.csv"), (import_rounds, "rounds.csv")):
            shutil.copy(EXAMPLES / name, tmp_path / name)
            report = importer(session, tmp_path / name)
            assert report.ok, (name, report.errors)


def test_one_bad_row_imports_nothing_and_every_bad_line_is_named_in_vietnamese(engine: Engine, tmp_path: Path) -> None:
    text = HEADER + "\n".join([
        "DV_TONG,Tổng số đoàn viên,Members,người,people,count,latest,,0,,,grassroots,,yes,đoàn viên",
        "TL_X,Tỷ lệ X,,%,%,phần trăm,sum,,,,,cơ sở,,có,",  # a percentage cannot be added up
        "DV_TONG,Lặp lại,,người,,count,sum,,,,,,,,",  # the same code twice
        "TT,Tuyên truyền,,người,,count,ratio,,5,1,,,,,",  # a ratio without a denominator, an empty range
        "QQ,Quỹ,,đồng,,tiền,tổng,,,,KHONG_CO,,abc,,",  # unknown not_above and sector
        "BAD CODE,,,,,xyz,whatever,,,,,,,maybe,",
    ]) + "\n"
    path = tmp_path / "indicators.csv"
    path.write_text(text, encoding="utf-8")
    report = run(engine, path, lang="vi")
    assert not report.ok
    by_line: dict[int, list[str]] = {}
    for line, message in report.errors:
        by_line.setdefault(line, []).append(message)
    assert sorted(by_line) == [3, 4, 5, 6, 7]
    assert any("không thể tổng hợp theo kiểu sum" in m for m in by_line[3])
    assert by_line[4] == ["Chỉ tiêu DV_TONG đã có ở dòng 2."]
    assert any("mẫu số" in m for m in by_line[5]) and any("min 5 lớn hơn max 1" in m for m in by_line[5])
    assert any("KHONG_CO" in m for m in by_line[6]) and any("abc" in m for m in by_line[6])
    bad = " ".join(by_line[7])
    for word in ("BAD CODE", "name_vi", "xyz", "whatever", "maybe"):
        assert word in bad, word
    assert stored(engine) == {}


def test_xlsx_and_a_bom_csv_read_the_same(engine: Engine, tmp_path: Path) -> None:
    rows = [[c for c in HEADER.strip().split(",")],
            ["LD_TONG", "Tổng số CNVCLĐ", "Workers", "người", "people", "count", "latest", None, 0, None, None,
             "grassroots", None, "yes", "CNVCLĐ; người lao động"],
            ["TL_KHAM", "Tỷ lệ CNVCLĐ được khám sức khỏe định kỳ", "Health check rate", "%", "%", "percent",
             "mean", None, None, None, None, "grassroots", "dnnn; ngoainn", "no", "khám sức khỏe"]]
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(tmp_path / "catalogue.xlsx")
    report = run(engine, tmp_path / "catalogue.xlsx")
    assert report.ok and report.created == 2, report.errors
    found = stored(engine)
    assert (found["TL_KHAM"].kind, found["TL_KHAM"].rollup) == ("percent", "mean")
    assert (found["TL_KHAM"].min_value, found["TL_KHAM"].max_value) == (0.0, 100.0)
    assert found["TL_KHAM"].sectors == "dnnn ngoainn"

    csv_text = "\n".join(",".join("" if c is None else str(c) for c in row) for row in rows) + "\n"
    (tmp_path / "catalogue.csv").write_text(csv_text, encoding="utf-8-sig")
    again = run(engine, tmp_path / "catalogue.csv")
    assert again.ok and again.unchanged == 2, again.errors


def test_a_changed_row_updates_and_keeps_its_place(engine: Engine, tmp_path: Path) -> None:
    assert run(engine, EXAMPLES / "indicators.csv").ok
    before = stored(engine)["DP_THU"]
    text = HEADER + "DP_THU,Thu đoàn phí,Dues,đồng,VND,money,sum,,0,,,grassroots,,yes,đoàn phí; ĐPCĐ; tiền đoàn phí\n"
    path = tmp_path / "one.csv"
    path.write_text(text, encoding="utf-8")
    report = run(engine, path)
    assert (report.created, report.updated) == (0, 1), report.errors
    after = stored(engine)["DP_THU"]
    assert after.name_vi == "Thu đoàn phí" and after.aliases == "đoàn phí; ĐPCĐ; tiền đoàn phí"
    assert after.position == before.position
