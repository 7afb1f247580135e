"""Tests for bot.services.imports against a real SQLite file: units, targets, rounds."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import LOCAL_TZ, to_local
from bot.db import make_engine, session_scope
from bot.demo import ensure_indicators
from bot.i18n import use_language
from bot.models import (
    AuditLog,
    Indicator,
    Period,
    Round,
    RoundIndicator,
    Target,
    Unit,
    UnitEvent,
)
from bot.services.imports import (
    ImportReport,
    import_rounds,
    import_targets,
    import_units,
    parse_level,
    parse_sector,
    read_table,
)

DATA = Path(__file__).resolve().parents[1] / "data"


HEADER = "code,name,parent_code,level,sector,type_label,contact,members\n"
TABLES = (Unit, UnitEvent, Target, Period, Round, RoundIndicator, AuditLog, Indicator)



@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    eng = make_engine(migrated_url)
    yield eng
    eng.dispose()


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {t.__name__: session.exec(select(func.count()).select_from(t)).one() for t in TABLES}


def run(engine: Engine, importer, path: Path, lang: str = "en") -> ImportReport:  # type: ignore[no-untyped-def]
    """Import a file; messages in English (the msgids) unless another language is asked."""
    with use_language(lang), session_scope(engine) as session:
        return importer(session, path, actor="test")


def units(engine: Engine) -> dict[str, Unit]:
    with Session(engine) as session:
        return {u.code: u for u in session.exec(select(Unit))}


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


@pytest.fixture
def tree(engine: Engine) -> Engine:
    """A database holding the units of tests/data/units_ok.csv and the indicator catalogue."""
    report = run(engine, import_units, DATA / "units_ok.csv")
    assert report.ok, report.errors
    with session_scope(engine) as session:
        ensure_indicators(session)
    return engine


# --------------------------------------------------------------------------- units


def test_one_bad_unit_row_imports_nothing(engine: Engine) -> None:
    report = run(engine, import_units, DATA / "units_bad.csv")
    assert not report.ok
    assert len(report.errors) == 1
    line, message = report.errors[0]
    assert line == 6  # physical line: the blank line 4 is counted, the header is line 1
    assert "LDLD_TX" in message and "Unknown parent" in message
    with use_language("en"):
        assert report.error_lines() == [f"Line 6: {message}"]
    vi_report = run(engine, import_units, DATA / "units_bad.csv", lang="vi")
    assert vi_report.errors == [(6, "Không tìm thấy đơn vị cấp trên LDLD_TX trong tệp này cũng như trong cơ sở dữ liệu.")]
    assert (report.created, report.updated, report.unchanged) == (0, 0, 0)
    assert counts(engine)["Unit"] == 0
    assert counts(engine)["UnitEvent"] == 0
    assert counts(engine)["AuditLog"] == 0


def test_fixed_file_imports_every_row_then_reimport_changes_nothing(engine: Engine) -> None:
    report = run(engine, import_units, DATA / "units_ok.csv")
    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (9, 0, 0)
    stored = units(engine)
    assert len(stored) == 9
    ids = {code: u.id for code, u in stored.items()}
    # TD_001 … TD_004 come before their parent LDLD_TD in the file
    assert stored["TD_001"].parent_id == ids["LDLD_TD"]
    assert stored["LDLD_TD"].parent_id == ids["LDLD_LC"]
    assert stored["LDLD_LC"].parent_id is None
    assert stored["LDLD_LC"].level == "province"
    assert stored["LDLD_TD"].level == "upper"  # "cấp trên"
    assert stored["TD_002"].level == "grassroots"  # "CĐCS"
    assert stored["TNU_002"].sector == "ngoainn"  # "ngoài nhà nước"
    assert stored["TNU_002"].name == "Công ty Cổ phần Thủy điện Nậm Mở, chi nhánh Tân Uyên"
    assert stored["TD_004"].members_hint == 86
    assert stored["LDLD_TD"].contact.startswith("Đ/c Lò Văn Thành")
    assert stored["LDLD_TD"].sector is None
    with Session(engine) as session:
        events = session.exec(select(UnitEvent)).all()
        assert sorted(e.kind for e in events) == ["created"] * 9
        logs = session.exec(select(AuditLog)).all()
        assert len(logs) == 1
        assert logs[0].action == "import.units"
        assert logs[0].actor == "test"
        assert logs[0].detail == {"file": "units_ok.csv", "created": 9, "updated": 0, "unchanged": 0}

    before = counts(engine)
    stamps = {c: u.updated_at for c, u in stored.items()}
    again = run(engine, import_units, DATA / "units_ok.csv")
    assert again.ok
    assert (again.created, again.updated, again.unchanged) == (0, 0, 9)
    assert counts(engine) == before
    assert {c: u.updated_at for c, u in units(engine).items()} == stamps


def test_bom_csv(engine: Engine, tmp_path: Path) -> None:
    text = (
        HEADER
        + "LDLD_LC,Liên đoàn Lao động tỉnh Lai Châu,,tỉnh,,,,\n"
        + "LDLD_SH,Liên đoàn Lao động huyện Sìn Hồ,LDLD_LC,cấp trên,,,,\n"
        + "SH_001,UBND xã Chăn Nưa,LDLD_SH,cơ sở,hành chính sự nghiệp,,,31\n"
    )
    path = write(tmp_path, "bom.csv", text, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    report = run(engine, import_units, path)
    assert report.ok, report.errors
    assert report.created == 3
    assert units(engine)["SH_001"].sector == "hcsn"


def test_semicolon_csv_with_messy_header(engine: Engine, tmp_path: Path) -> None:
    text = (
        " Code ; NAME ;Parent Code; Level ;Sector;Members\n"
        "LDLD_LC;Liên đoàn Lao động tỉnh Lai Châu;;province;;\n"
        "\n"
        "LDLD_MT;Liên đoàn Lao động huyện Mường Tè;LDLD_LC;upper;;\n"
        "MT_001;Công ty TNHH Xây dựng Hoàng Long, Mường Tè;LDLD_MT;grassroots;ngoainn;1.250\n"
        "  ;  ;  ;  ;  ;  \n"
    )
    report = run(engine, import_units, write(tmp_path, "semi.csv", text))
    assert report.ok, report.errors
    assert report.created == 3
    mt = units(engine)["MT_001"]
    assert mt.name == "Công ty TNHH Xây dựng Hoàng Long, Mường Tè"
    assert mt.members_hint == 1250


def test_xlsx_import(engine: Engine, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["Code", "Name", "Parent_code", "Level", "Sector", "Members"])
    ws.append(["LDLD_LC", "Liên đoàn Lao động tỉnh Lai Châu", None, "province", None, None])
    ws.append(["LDLD_THU", "Liên đoàn Lao động huyện Than Uyên", "LDLD_LC", "upper", None, None])
    ws.append([None, None, None, None, None, None])
    ws.append(["THU_001", "Trường Mầm non Mường Kim", "LDLD_THU", "grassroots", "hcsn", 27])
    ws.append(["THU_002", "Trạm Y tế xã Pha Mu", "LDLD_THU", "grassroots", "hcsn", 8.0])
    path = tmp_path / "units.xlsx"
    wb.save(path)
    report = run(engine, import_units, path)
    assert report.ok, report.errors
    assert report.created == 4
    assert units(engine)["THU_001"].members_hint == 27
    assert units(engine)["THU_002"].members_hint == 8

    ws.append(["THU_003", "Trường Tiểu học Tà Gia", "LDLD_XYZ", "grassroots", "hcsn", 30])
    wb.save(path)
    report = run(engine, import_units, path)
    assert [line for line, _ in report.errors] == [7]  # the sheet's row number
    assert "THU_003" not in units(engine)


def test_cycle_within_the_file(engine: Engine, tmp_path: Path) -> None:
    text = HEADER + (
        "LDLD_LC,Liên đoàn Lao động tỉnh Lai Châu,,province,,,,\n"
        "CD_A,Công đoàn ngành Giáo dục,CD_B,upper,,,,\n"
        "CD_B,Công đoàn ngành Y tế,CD_A,upper,,,,\n"
        "CD_C,Công đoàn Viên chức tỉnh,CD_C,upper,,,,\n"
    )
    report = run(engine, import_units, write(tmp_path, "cycle.csv", text))
    lines = [line for line, _ in report.errors]
    assert lines == [3, 4, 5]
    assert "own ancestor" in report.errors[0][1] and "CD_A → CD_B → CD_A" in report.errors[0][1]
    assert "own parent" in report.errors[2][1]
    assert counts(engine)["Unit"] == 0


def test_cycle_through_the_database(tree: Engine, tmp_path: Path) -> None:
    text = HEADER + "LDLD_LC,Liên đoàn Lao động tỉnh Lai Châu,LDLD_TD,province,,,,\n"
    before = counts(tree)
    report = run(tree, import_units, write(tmp_path, "cycle_db.csv", text))
    assert [line for line, _ in report.errors] == [2]
    assert "own ancestor" in report.errors[0][1]
    assert counts(tree) == before


def test_moved_and_renamed_units_record_events(tree: Engine, tmp_path: Path) -> None:
    stored = units(tree)
    text = HEADER + (
        "TD_002,Trạm Y tế xã Nà Tăm,LDLD_TNU,grassroots,hcsn,Y tế,,9\n"  # moved
        "TD_001,Trường Tiểu học số 1 Bản Bo,LDLD_TD,grassroots,hcsn,Trường học,,42\n"  # renamed
        "TD_003,Điện lực Tam Đường,LDLD_TD,grassroots,dnnn,Doanh nghiệp nhà nước,,60\n"  # members only
        "TD_004,Công ty TNHH Chè Hồng Phát,LDLD_TD,grassroots,ngoainn,Doanh nghiệp ngoài nhà nước,,86\n"
    )
    report = run(tree, import_units, write(tmp_path, "move.csv", text))
    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (0, 3, 1)
    after = units(tree)
    assert after["TD_002"].parent_id == stored["LDLD_TNU"].id
    assert after["TD_001"].name == "Trường Tiểu học số 1 Bản Bo"
    assert after["TD_003"].members_hint == 60
    assert after["TD_004"].updated_at == stored["TD_004"].updated_at
    assert after["TD_003"].updated_at > stored["TD_003"].updated_at
    with Session(tree) as session:
        new_events = session.exec(select(UnitEvent).where(UnitEvent.kind != "created")).all()
    by_kind = {e.kind: e for e in new_events}
    assert sorted(by_kind) == ["moved", "renamed"]
    moved = by_kind["moved"]
    assert moved.unit_id == stored["TD_002"].id
    assert (moved.old_parent_id, moved.new_parent_id) == (stored["LDLD_TD"].id, stored["LDLD_TNU"].id)
    assert moved.actor == "test"
    renamed = by_kind["renamed"]
    assert (renamed.old_name, renamed.new_name) == ("Trường Tiểu học Bản Bo", "Trường Tiểu học số 1 Bản Bo")


def test_every_bad_unit_row_is_reported(engine: Engine, tmp_path: Path) -> None:
    text = HEADER + (
        "LDLD_LC,Liên đoàn Lao động tỉnh Lai Châu,,province,,,,\n"  # 2 ok
        "LDLD_PT,Liên đoàn Lao động huyện Phong Thổ,LDLD_LC,huyện ủy,,,,\n"  # 3 bad level
        "PT_001,Trường Mầm non Dào San,,grassroots,hcsn,,,\n"  # 4 CĐCS without parent
        "PT_002,Trạm Y tế xã Mù Sang,LDLD_LC,grassroots,tư nhân,,,\n"  # 5 bad sector
        "LDLD_LC,Liên đoàn Lao động tỉnh Lai Châu (bản sao),,province,,,,\n"  # 6 duplicate
        ",Không có mã,LDLD_LC,grassroots,,,,\n"  # 7 no code
        "PT 003,Mã có dấu cách,LDLD_LC,grassroots,,,,abc\n"  # 8 bad code, bad members
        "PT_004,Trường Tiểu học Sin Suối Hồ,PT_002,grassroots,hcsn,,,\n"  # 9 parent is a CĐCS
        "PT_005,Trường THCS Mường So,LDLD_LC,grassroots,hcsn,,,25\n"  # 10 ok
    )
    report = run(engine, import_units, write(tmp_path, "bad.csv", text))
    lines = sorted({line for line, _ in report.errors})
    assert lines == [3, 4, 5, 6, 7, 8, 9]
    messages = dict(report.errors)
    assert "Unknown level huyện ủy" in messages[3]
    assert "needs a parent" in messages[4]
    assert "Unknown sector tư nhân" in messages[5]
    assert "already appears on line 2" in messages[6]
    assert "Column code is empty" in messages[7]
    assert len([m for line, m in report.errors if line == 8]) == 2
    assert "grassroots union" in messages[9]
    assert counts(engine)["Unit"] == 0


def test_missing_column_and_unreadable_files(engine: Engine, tmp_path: Path) -> None:
    report = run(engine, import_units, write(tmp_path, "cols.csv", "code,name\nA,B\n"))
    assert report.errors == [(1, "Missing column(s): parent_code, level.")]
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "X,Tr\u01b0\u1eddng,,province,,,,\n").encode("utf-16"))
    report = run(engine, import_units, latin)
    assert len(report.errors) == 1 and "UTF-8" in report.errors[0][1]
    report = run(engine, import_units, write(tmp_path, "empty.csv", "\n\n"))
    assert report.errors == [(0, "The file is empty.")]
    assert counts(engine)["Unit"] == 0


def test_read_table_line_numbers_with_quoted_newlines(tmp_path: Path) -> None:
    text = 'code,name\nA,"Hai\ndòng"\n\nB,Ba\n'
    table = read_table(write(tmp_path, "multi.csv", text))
    assert [(r.line, r.get("code")) for r in table.rows] == [(2, "A"), (5, "B")]
    assert table.rows[0].get("name") == "Hai\ndòng"


@pytest.mark.parametrize(
    ("text", "level"),
    [("province", "province"), ("Tỉnh", "province"), ("cấp trên", "upper"), ("CAP TREN", "upper"),
     ("Cơ sở", "grassroots"), ("CĐCS", "grassroots"), ("công đoàn cơ sở", "grassroots"), ("xã", None)],
)
def test_parse_level(text: str, level: str | None) -> None:
    assert parse_level(text) == level


@pytest.mark.parametrize(
    ("text", "sector"),
    [("hcsn", "hcsn"), ("HCSN", "hcsn"), ("hành chính sự nghiệp", "hcsn"), ("DNNN", "dnnn"),
     ("doanh nghiệp nhà nước", "dnnn"), ("ngoài nhà nước", "ngoainn"), ("ngoai NN", "ngoainn"),
     ("tư nhân", None)],
)
def test_parse_sector(text: str, sector: str | None) -> None:
    assert parse_sector(text) == sector


# --------------------------------------------------------------------------- targets


def targets(engine: Engine) -> dict[tuple[str, str, str, str | None], float]:
    with Session(engine) as session:
        rows = session.exec(
            select(Unit.code, Indicator.code, Period.code, Target.sector, Target.value)
            .join(Unit, Unit.id == Target.unit_id)
            .join(Indicator, Indicator.id == Target.indicator_id)
            .join(Period, Period.id == Target.period_id)
        ).all()
    return {(u, i, p, s): v for u, i, p, s, v in rows}


def test_targets_with_vietnamese_values(tree: Engine) -> None:
    report = run(tree, import_targets, DATA / "targets.csv")
    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (10, 0, 0)
    stored = targets(tree)
    assert stored[("LDLD_LC", "DV_TONG", "2023-2028", None)] == 24500
    assert stored[("LDLD_LC", "TT_CHINHSACH", "2026", None)] == 98
    assert stored[("LDLD_LC", "QCDC", "2026", "hcsn")] == 100
    assert stored[("LDLD_LC", "QCDC", "2026", "ngoainn")] == 80
    assert stored[("TD_001", "QXH_THU", "2026", None)] == 1_500_000
    assert stored[("TD_004", "QXH_THU", "2026", None)] == 5_200_000
    assert stored[("TNU_002", "GT_DANG", "2026-Q4", None)] == 1  # "Q4-2026"
    with Session(tree) as session:
        q4 = session.exec(select(Period).where(Period.code == "2026-Q4")).one()
        assert (q4.kind, q4.starts_on, q4.ends_on) == ("quarter", date(2026, 10, 1), date(2026, 12, 31))

    before = counts(tree)
    again = run(tree, import_targets, DATA / "targets.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 10)
    assert counts(tree) == before


def test_target_update_and_upsert(tree: Engine, tmp_path: Path) -> None:
    run(tree, import_targets, DATA / "targets.csv")
    text = "Unit_Code;Indicator;Period;Value\nTD_001;dv_moi;2026;3\nTD_002;DV_MOI;2026;1\n"
    report = run(tree, import_targets, write(tmp_path, "t2.csv", text))
    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    assert targets(tree)[("TD_001", "DV_MOI", "2026", None)] == 3
    assert len(targets(tree)) == 11


def test_bad_targets_write_nothing(tree: Engine, tmp_path: Path) -> None:
    text = (
        "unit_code,indicator,period,value,sector\n"
        "LDLD_LC,DV_TONG,2023-2028,24.500,\n"  # 2 ok
        "LDLD_LC,DV_MOII,2026,300,\n"  # 3 unknown indicator
        "TD_009,DV_MOI,2026,3,\n"  # 4 unknown unit
        "TD_001,DV_MOI,2026-Q5,3,\n"  # 5 bad period
        "TD_001,QXH_THU,2026,\"1,500\",\n"  # 6 ambiguous money
        "LDLD_LC,TT_CHINHSACH,2026,1.500,\n"  # 7 ambiguous percent
        "LDLD_LC,QXH_NGUOI,2026,120%,\n"  # 8 above 100 %
        "TD_001,DV_MOI,2026,-2,\n"  # 9 negative
        "TD_001,DV_MOI,2026,hai,\n"  # 10 not a number
        "LDLD_LC,QCDC,2026,100,tư nhân\n"  # 11 bad sector
        "LDLD_LC,DV_TONG,2023 - 2028,24500,\n"  # 12 repeats line 2
        "TD_001,DV_MOI,2026,,\n"  # 13 empty value
    )
    report = run(tree, import_targets, write(tmp_path, "bad_targets.csv", text))
    messages = dict(report.errors)
    assert sorted(messages) == list(range(3, 14))
    assert "Unknown indicator DV_MOII" in messages[3]
    assert "Unknown unit TD_009" in messages[4]
    assert "Bad period 2026-Q5" in messages[5]
    assert "ambiguous" in messages[6] and "1500 / 1,5" in messages[6]
    assert "ambiguous" in messages[7] and "1500 / 1,5" in messages[7]
    assert "above 100" in messages[8]
    assert "negative" in messages[9]
    assert "not a number" in messages[10]
    assert "Unknown sector" in messages[11]
    assert "repeats line 2" in messages[12]
    assert "Column value is empty" in messages[13]
    assert targets(tree) == {}
    assert counts(tree)["Period"] == 0


# --------------------------------------------------------------------------- rounds


def rounds(engine: Engine) -> dict[str, tuple[Round, list[str]]]:
    with Session(engine) as session:
        out = {}
        for rnd in session.exec(select(Round)):
            codes = session.exec(
                select(Indicator.code)
                .join(RoundIndicator, RoundIndicator.indicator_id == Indicator.id)
                .where(RoundIndicator.round_id == rnd.id)
                .order_by(RoundIndicator.position)
            ).all()
            out[rnd.code] = (rnd, list(codes))
        return out


def test_rounds_with_both_date_formats(tree: Engine) -> None:
    report = run(tree, import_rounds, DATA / "rounds.csv")
    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    stored = rounds(tree)
    q4, q4_codes = stored["2026-Q4"]
    assert q4_codes == ["DV_TONG", "DV_NU", "LD_TONG", "DV_MOI", "TT_CHINHSACH", "DP_THU"]
    assert to_local(q4.opens_at) == datetime(2026, 11, 1, 0, 0, tzinfo=LOCAL_TZ)
    assert to_local(q4.deadline_at) == datetime(2027, 1, 20, 23, 59, 59, tzinfo=LOCAL_TZ)
    assert q4.opens_at.utcoffset().total_seconds() == 0  # stored as UTC
    assert q4.audience == {"levels": ["grassroots"]}
    year, year_codes = stored["2026-NAM"]
    assert year_codes == ["QCDC", "NU_CONG", "CT_DAOTAO", "TULDTT", "GT_DANG", "QXH_THU"]
    assert to_local(year.opens_at).date() == date(2026, 11, 15)
    deadline = to_local(year.deadline_at)
    assert (deadline.date(), deadline.time()) == (date(2026, 12, 20), time(23, 59, 59))
    firms, firm_codes = stored["2026-DN"]
    assert firm_codes == ["TULDTT", "HOC_NGHE"]
    assert firms.audience == {"levels": ["grassroots"], "sectors": ["dnnn", "ngoainn"]}
    assert to_local(firms.opens_at).date() == date(2026, 12, 1)  # 1/12/2026

    before = counts(tree)
    again = run(tree, import_rounds, DATA / "rounds.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert counts(tree) == before


def test_round_update_replaces_indicator_list(tree: Engine, tmp_path: Path) -> None:
    run(tree, import_rounds, DATA / "rounds.csv")
    text = (
        "code,title,period,opens,deadline,indicators\n"
        "2026-Q4,Báo cáo số liệu quý IV/2026,2026-Q4,01/11/2026,25/01/2027,DP_THU DV_TONG\n"
    )
    report = run(tree, import_rounds, write(tmp_path, "r2.csv", text))
    assert report.ok, report.errors
    assert report.updated == 1
    rnd, codes = rounds(tree)["2026-Q4"]
    assert codes == ["DP_THU", "DV_TONG"]
    assert to_local(rnd.deadline_at).date() == date(2027, 1, 25)
    assert rnd.audience == {"levels": ["grassroots"]}  # no audience columns: kept


def test_bad_rounds_write_nothing(tree: Engine, tmp_path: Path) -> None:
    text = (
        "code,title,period,opens,deadline,indicators\n"
        "2026-Q1,Báo cáo quý I/2026,2026-Q1,01/03/2026,20/04/2026,DV_TONG\n"  # 2 ok
        "2026-Q2,Báo cáo quý II/2026,2026-Q2,31/06/2026,20/07/2026,DV_TONG\n"  # 3 bad date
        "2026-Q3,Báo cáo quý III/2026,2026-Q3,20/10/2026,01/09/2026,DV_TONG\n"  # 4 deadline < opens
        "2026-Q4,Báo cáo quý IV/2026,2026-Q4,01/11/2026,ngày 20,DV_TONG\n"  # 5 bad date
        "2026-X,Báo cáo thử,2026,01/11/2026,01/11/2026,DV_TONG;KHONG_CO\n"  # 6 unknown indicator
        "2026-Y,Báo cáo thử,2026,01/11/2026,01/11/2026,\n"  # 7 no indicators
        "2026-Q1,Báo cáo quý I/2026,2026-Q1,01/03/2026,20/04/2026,DV_TONG\n"  # 8 duplicate code
    )
    report = run(tree, import_rounds, write(tmp_path, "bad_rounds.csv", text))
    messages = dict(report.errors)
    assert sorted(messages) == [3, 4, 5, 6, 7, 8]
    assert "Bad date 31/06/2026" in messages[3]
    assert "before the opening date" in messages[4]
    assert "Bad date ngày 20" in messages[5]
    assert "Unknown indicator KHONG_CO" in messages[6]
    assert "no indicators" in messages[7]
    assert "already appears on line 2" in messages[8]
    assert rounds(tree) == {}
    assert counts(tree)["Period"] == 0


def test_same_day_round_is_allowed_and_locked_round_is_protected(tree: Engine, tmp_path: Path) -> None:
    text = "code,title,period,opens,deadline,indicators\nNHANH,Báo cáo nhanh,2026,21/11/2026,21/11/2026,DV_TONG\n"
    path = write(tmp_path, "same_day.csv", text)
    assert run(tree, import_rounds, path).created == 1
    with session_scope(tree) as session:
        rnd = session.exec(select(Round).where(Round.code == "NHANH")).one()
        rnd.locked = True
    assert run(tree, import_rounds, path).unchanged == 1
    changed = write(tmp_path, "changed.csv", text.replace("Báo cáo nhanh", "Báo cáo nhanh (sửa)"))
    report = run(tree, import_rounds, changed)
    assert [line for line, _ in report.errors] == [2]
    assert "locked" in report.errors[0][1]


def test_audit_rows_only_for_changes(tree: Engine) -> None:
    run(tree, import_targets, DATA / "targets.csv")
    run(tree, import_targets, DATA / "targets.csv")
    with Session(tree) as session:
        actions = [a.action for a in session.exec(select(AuditLog).order_by(AuditLog.id))]
    assert actions == ["import.units", "import.indicators", "import.targets"]


def test_copy_of_sample_file_keeps_working(tree: Engine, tmp_path: Path) -> None:
    """The examples/ files import cleanly on a fresh database (they are documentation)."""
    examples = Path(__file__).resolve().parents[2] / "examples"
    for name in ("units.csv", "targets.csv", "rounds.csv"):
        shutil.copy(examples / name, tmp_path / name)
    with session_scope(tree) as session:
        for importer, name in ((import_units, "units.csv"), (import_targets, "targets.csv"),
                               (import_rounds, "rounds.csv")):
            report = importer(session, tmp_path / name)
            assert report.ok, (name, report.errors)


def test_too_long_cells_are_refused(engine: Engine, tmp_path: Path) -> None:
    text = HEADER + f"LDLD_LC,{'Liên đoàn ' * 40},,province,,,,\n"
    report = run(engine, import_units, write(tmp_path, "long.csv", text))
    assert [line for line, _ in report.errors] == [2]
    assert "too long" in report.errors[0][1] and "300" in report.errors[0][1]
