"""Demo data modelled on the Lai Châu provincial labour federation (LĐLĐ tỉnh Lai Châu).

`load_demo(session)` builds a province with 8 upper-level unions and 300 grassroots
unions (CĐCS), the indicator catalogue of examples/indicators.csv (the file a real
province starts from, loaded with the same import), periods of 2026 and
the 2023–2028 term, targets taken from the federation's 2023–2028 action
programme, and five reporting rounds for 2026. Unit names are plausible but
fictional; contacts and phone numbers are invented.

It is idempotent by content: everything goes through the same upserts as the
import files (indicators, units, targets, rounds) or compares field by field
(periods), so a second run finds every row already in place and writes nothing.
No people or invite codes are created here.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bot.models import Level, Period, Sector
from bot.demo_history import ensure_history
from bot.services import audit
from bot.services.imports import (
    ImportReport,
    import_indicators,
    import_round_table,
    import_target_table,
    import_unit_table,
    table_from_dicts,
)
from bot.services.periods import get_or_create_period, normalise_period_code

log = logging.getLogger(__name__)

ACTOR = "demo"
SEED = 2026
PROVINCE_CODE = "LDLD_LC"
PROVINCE_NAME = "Liên đoàn Lao động tỉnh Lai Châu"
MEMBERS_TOTAL = 24_200  # members today; the 2023–2028 term target is 24.500
YEAR = 2026
TERM = "2023-2028"
PERIOD_CODES = ("2026", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026-H1", "2026-H2", TERM)

GRASSROOTS, UPPER = Level.GRASSROOTS.value, Level.UPPER.value
HCSN, DNNN, NGOAINN = Sector.HCSN.value, Sector.DNNN.value, Sector.NGOAINN.value


# --------------------------------------------------------------------------- indicator catalogue


CATALOGUE_FILE = Path(__file__).resolve().parents[1] / "examples" / "indicators.csv"


def catalogue_path() -> Path:
    """examples/indicators.csv of this checkout: the catalogue a real province starts from, and the demo's."""
    return CATALOGUE_FILE


QUARTER_INDICATORS = ("DV_TONG", "DV_NU", "LD_TONG", "DV_MOI", "TT_CHINHSACH", "DP_THU", "KPCD_THU")
YEAR_INDICATORS = ("QCDC", "NU_CONG", "CT_DAOTAO", "TULDTT", "GT_DANG", "HOC_NGHE", "QXH_NGUOI", "QXH_THU")


def ensure_indicators(session: Session, path: Path | None = None) -> tuple[int, int, int]:
    """Import the indicator catalogue (examples/indicators.csv); return (created, updated, unchanged)."""
    path = path or catalogue_path()
    if not path.is_file():
        raise DemoError(f"the indicator catalogue {path} is missing: run from a source checkout (pip install -e .)")
    report = import_indicators(session, path, actor=ACTOR)
    if report.errors:
        raise DemoError(f"demo indicators refused: {report.errors[:5]}")
    return report.created, report.updated, report.unchanged


# --------------------------------------------------------------------------- the union tree


@dataclass(frozen=True)
class UpperSpec:
    """An upper-level union of the demo and the places its CĐCS are named after."""

    code: str
    name: str
    prefix: str  # CĐCS codes: <prefix>_001 …
    place: str  # "huyện Tam Đường" / "thành phố Lai Châu"; "" for the provincial sector union
    communes: tuple[str, ...]  # "xã Bản Bo", "phường Tân Phong"
    size: int  # number of CĐCS
    contact: str


UPPERS: tuple[UpperSpec, ...] = (
    UpperSpec("LDLD_TP", "Liên đoàn Lao động thành phố Lai Châu", "TP", "thành phố Lai Châu",
              ("phường Tân Phong", "phường Đoàn Kết", "phường Quyết Thắng", "phường Quyết Tiến",
               "phường Đông Phong", "phường Nậm Loỏng", "xã San Thàng"),
              48, "Đ/c Nguyễn Thị Hằng (Chủ tịch) – 0912 406 118"),
    UpperSpec("LDLD_TD", "Liên đoàn Lao động huyện Tam Đường", "TD", "huyện Tam Đường",
              ("thị trấn Tam Đường", "xã Bản Bo", "xã Bản Giang", "xã Bản Hon", "xã Nà Tăm", "xã Khun Há",
               "xã Sơn Bình", "xã Thèn Sin", "xã Hồ Thầu", "xã Nùng Nàng", "xã Giang Ma", "xã Tả Lèng"),
              36, "Đ/c Lò Văn Thành (Chủ tịch) – 0915 233 604"),
    UpperSpec("LDLD_PT", "Liên đoàn Lao động huyện Phong Thổ", "PT", "huyện Phong Thổ",
              ("thị trấn Phong Thổ", "xã Dào San", "xã Mồ Sì San", "xã Sì Lở Lầu", "xã Vàng Ma Chải",
               "xã Mù Sang", "xã Ma Li Pho", "xã Hoang Thèn", "xã Bản Lang", "xã Khổng Lào", "xã Nậm Xe",
               "xã Mường So", "xã Huổi Luông"),
              35, "Đ/c Tẩn Thị Mai (Chủ tịch) – 0983 517 290"),
    UpperSpec("LDLD_SH", "Liên đoàn Lao động huyện Sìn Hồ", "SH", "huyện Sìn Hồ",
              ("thị trấn Sìn Hồ", "xã Chăn Nưa", "xã Pa Tần", "xã Phìn Hồ", "xã Hồng Thu", "xã Ma Quai",
               "xã Tả Phìn", "xã Làng Mô", "xã Nậm Tăm", "xã Pu Sam Cáp", "xã Noong Hẻo", "xã Căn Co",
               "xã Lùng Thàng"),
              36, "Đ/c Vàng A Sùng (Chủ tịch) – 0944 180 372"),
    UpperSpec("LDLD_MT", "Liên đoàn Lao động huyện Mường Tè", "MT", "huyện Mường Tè",
              ("thị trấn Mường Tè", "xã Mù Cả", "xã Thu Lũm", "xã Ka Lăng", "xã Pa Ủ", "xã Pa Vệ Sử",
               "xã Bum Tở", "xã Nậm Khao", "xã Tà Tổng", "xã Bum Nưa", "xã Vàng San", "xã Kan Hồ"),
              32, "Đ/c Lý Văn Pờ (Chủ tịch) – 0967 042 815"),
    UpperSpec("LDLD_THU", "Liên đoàn Lao động huyện Than Uyên", "THU", "huyện Than Uyên",
              ("thị trấn Than Uyên", "xã Phúc Than", "xã Mường Than", "xã Mường Mít", "xã Pha Mu",
               "xã Mường Cang", "xã Hua Nà", "xã Tà Hừa", "xã Mường Kim", "xã Tà Mung", "xã Tà Gia",
               "xã Khoen On"),
              36, "Đ/c Lường Thị Thu (Chủ tịch) – 0936 725 401"),
    UpperSpec("LDLD_TNU", "Liên đoàn Lao động huyện Tân Uyên", "TNU", "huyện Tân Uyên",
              ("thị trấn Tân Uyên", "xã Mường Khoa", "xã Phúc Khoa", "xã Thân Thuộc", "xã Trung Đồng",
               "xã Hố Mít", "xã Nậm Cần", "xã Nậm Sỏ", "xã Pắc Ta", "xã Tà Mít"),
              35, "Đ/c Đèo Văn Hưng (Chủ tịch) – 0918 364 927"),
    UpperSpec("CDVC_LC", "Công đoàn Viên chức tỉnh Lai Châu", "VC", "", (), 42,
              "Đ/c Hoàng Thị Lan (Chủ tịch) – 0913 552 086"),
)

PROVINCE_CONTACT = "Văn phòng LĐLĐ tỉnh – 0213 3 876 501"

PROVINCIAL_AGENCIES: tuple[tuple[str, int, int], ...] = (
    # name, members range low/high (hcsn under Công đoàn Viên chức tỉnh)
    ("Văn phòng Tỉnh ủy Lai Châu", 40, 70), ("Văn phòng UBND tỉnh", 40, 70),
    ("Văn phòng Đoàn ĐBQH và HĐND tỉnh", 25, 45), ("Sở Giáo dục và Đào tạo", 50, 80),
    ("Sở Y tế", 30, 50), ("Sở Tài chính", 40, 60), ("Sở Nội vụ", 40, 70), ("Sở Tư pháp", 25, 45),
    ("Sở Công Thương", 35, 60), ("Sở Xây dựng", 40, 70), ("Sở Tài nguyên và Môi trường", 50, 90),
    ("Sở Nông nghiệp và Phát triển nông thôn", 60, 110), ("Sở Giao thông vận tải", 40, 70),
    ("Sở Kế hoạch và Đầu tư", 30, 50), ("Sở Lao động – Thương binh và Xã hội", 40, 70),
    ("Sở Văn hóa, Thể thao và Du lịch", 50, 90), ("Sở Thông tin và Truyền thông", 25, 45),
    ("Sở Khoa học và Công nghệ", 25, 45), ("Thanh tra tỉnh", 25, 40), ("Ban Dân tộc tỉnh", 20, 35),
    ("Ban Quản lý các khu kinh tế tỉnh", 20, 35), ("Đài Phát thanh và Truyền hình tỉnh", 70, 110),
    ("Báo Lai Châu", 35, 55), ("Trường Cao đẳng Cộng đồng Lai Châu", 90, 140),
    ("Trường Chính trị tỉnh", 30, 50), ("Trường THPT Chuyên Lê Quý Đôn", 60, 90),
    ("Trường THPT Dân tộc nội trú tỉnh", 50, 80), ("Bệnh viện Đa khoa tỉnh", 380, 520),
    ("Bệnh viện Y dược cổ truyền tỉnh", 70, 110), ("Bệnh viện Phổi tỉnh", 50, 80),
    ("Bệnh viện Nội tiết tỉnh", 40, 70), ("Trung tâm Kiểm soát bệnh tật tỉnh", 70, 110),
    ("Trung tâm Khuyến nông tỉnh", 25, 45), ("Trung tâm Dịch vụ việc làm tỉnh", 20, 35),
    ("Thư viện tỉnh", 15, 25), ("Bảo tàng tỉnh", 15, 25), ("Trung tâm Văn hóa – Điện ảnh tỉnh", 25, 40),
    ("Ban Quản lý dự án đầu tư xây dựng các công trình dân dụng và công nghiệp tỉnh", 35, 60),
    ("Ban Quản lý dự án đầu tư xây dựng các công trình giao thông tỉnh", 35, 60),
    ("Quỹ Bảo vệ và Phát triển rừng tỉnh", 15, 25), ("Hội Chữ thập đỏ tỉnh", 15, 25),
    ("Liên minh Hợp tác xã tỉnh", 15, 25),
)

LOCAL_AGENCIES: tuple[tuple[str, int, int], ...] = (
    ("Cơ quan {ward_org} ủy {short}", 25, 40),
    ("Văn phòng HĐND và UBND {place}", 30, 50),
    ("Trung tâm Y tế {place}", 120, 220),
    ("Phòng Giáo dục và Đào tạo {place}", 15, 25),
    ("Trung tâm Văn hóa, Truyền thanh – Truyền hình {place}", 15, 30),
    ("Trường THPT {short}", 45, 75),
)

STATE_FIRMS: tuple[tuple[str, int, int], ...] = (
    ("Điện lực {short}", 35, 70),
    ("Bưu điện {place}", 12, 25),
    ("Chi nhánh Ngân hàng Nông nghiệp và Phát triển nông thôn {place}", 20, 40),
    ("Trung tâm Viễn thông {short}", 15, 30),
)

FIRM_FORMS = ("Công ty TNHH", "Công ty TNHH", "Công ty Cổ phần")
COOP_TRADES = ("Chè", "Mắc ca", "Nông nghiệp", "Dịch vụ nông nghiệp", "Dệt thổ cẩm")
FIRM_TRADES = ("Xây dựng", "Thương mại và Dịch vụ", "Vận tải", "Vật liệu xây dựng", "Chế biến nông sản",
               "Chè", "Mắc ca", "Xây lắp điện", "Du lịch", "Dịch vụ môi trường", "Cơ khí", "Khai thác đá")
FIRM_BRANDS = ("Hoàng Long", "Minh Phát", "Thành Công", "Phúc Thịnh", "Hưng Thịnh", "Tân Tiến", "An Phú",
               "Đức Anh", "Thanh Bình", "Quang Minh", "Bình Minh", "Việt Bắc", "Tây Bắc", "Sơn Hà",
               "Trường Sơn", "Nam Cường", "Hải Đăng", "Kim Long", "Thiên Phúc", "Hợp Thành")
HYDRO_RIVERS = ("Nậm Na", "Nậm Mở", "Nậm Lụm", "Pa Vây", "Nậm Cuổi", "Nậm Xe", "Nậm Sì Lường", "Nậm Củm")


@dataclass
class _Grassroots:
    name: str
    sector: str
    type_label: str
    weight: int  # raw member figure before scaling


def _short_place(place: str) -> str:
    return place.removeprefix("huyện ").removeprefix("thành phố ")


def _communal_units(upper: UpperSpec, rng: random.Random) -> list[_Grassroots]:
    """Schools, health stations and commune offices of every commune of a district."""
    pool: list[_Grassroots] = []
    for commune in upper.communes:
        place = commune.split(" ", 1)[1] if not commune.startswith("thị trấn") else commune
        thcs = "Trường THCS" if rng.random() < 0.5 else "Trường PTDTBT THCS"
        pool += [
            _Grassroots(f"Trường Mầm non {place}", HCSN, "Trường học", rng.randint(15, 35)),
            _Grassroots(f"Trường Tiểu học {place}", HCSN, "Trường học", rng.randint(20, 45)),
            _Grassroots(f"{thcs} {place}", HCSN, "Trường học", rng.randint(20, 45)),
            _Grassroots(f"Trạm Y tế {commune}", HCSN, "Y tế", rng.randint(5, 10)),
            _Grassroots(f"UBND {commune}", HCSN, "Cơ quan xã", rng.randint(18, 32)),
        ]
    return pool


def _firm_name(rng: random.Random, used: set[str]) -> str:
    while True:
        draw = rng.random()
        if draw < 0.2:
            name = f"Công ty Cổ phần Thủy điện {rng.choice(HYDRO_RIVERS)}"
        elif draw < 0.3:
            name = f"Hợp tác xã {rng.choice(COOP_TRADES)} {rng.choice(FIRM_BRANDS)}"
        else:
            name = f"{rng.choice(FIRM_FORMS)} {rng.choice(FIRM_TRADES)} {rng.choice(FIRM_BRANDS)}"
        if name not in used:
            used.add(name)
            return name


def _district_units(upper: UpperSpec, rng: random.Random, used: set[str]) -> list[_Grassroots]:
    short = _short_place(upper.place)
    org = "Thành" if upper.place.startswith("thành phố") else "Huyện"
    fmt = {"place": upper.place, "short": short, "ward_org": org}
    units = [_Grassroots(n.format(**fmt), HCSN, "Cơ quan, đơn vị", rng.randint(lo, hi))
             for n, lo, hi in LOCAL_AGENCIES]
    n_state = rng.randint(2, 3)
    units += [_Grassroots(n.format(**fmt), DNNN, "Doanh nghiệp nhà nước", rng.randint(lo, hi))
              for n, lo, hi in rng.sample(STATE_FIRMS, n_state)]
    n_private = 8 if upper.prefix == "TP" else rng.randint(3, 5)
    units += [_Grassroots(_firm_name(rng, used), NGOAINN, "Doanh nghiệp ngoài nhà nước", rng.randint(10, 150))
              for _ in range(n_private)]
    communal = _communal_units(upper, rng)
    units += rng.sample(communal, upper.size - len(units))
    return units


def _sector_units(upper: UpperSpec, rng: random.Random) -> list[_Grassroots]:
    return [_Grassroots(name, HCSN, "Cơ quan, đơn vị cấp tỉnh", rng.randint(lo, hi))
            for name, lo, hi in PROVINCIAL_AGENCIES[: upper.size]]


def _scale_members(units: list[tuple[str, _Grassroots]]) -> dict[str, int]:
    """Scale the raw figures so that they add up to MEMBERS_TOTAL exactly."""
    raw_total = sum(g.weight for _c, g in units)
    members = {code: max(3, round(g.weight * MEMBERS_TOTAL / raw_total)) for code, g in units}
    biggest = max(members, key=lambda c: members[c])
    members[biggest] += MEMBERS_TOTAL - sum(members.values())
    return members


@dataclass
class DemoTree:
    """The generated union tree: unit rows ready for the import, and members per CĐCS."""

    unit_rows: list[dict[str, Any]]
    members: dict[str, int]  # CĐCS code → members_hint
    parent_of: dict[str, str]  # CĐCS code → upper code
    sector_of: dict[str, str]


def build_tree() -> DemoTree:
    """Generate the demo tree deterministically (random.Random(2026))."""
    rng = random.Random(SEED)
    used: set[str] = set()
    rows: list[dict[str, Any]] = [dict(code=PROVINCE_CODE, name=PROVINCE_NAME, parent_code="",
                                       level=Level.PROVINCE.value, sector="", type_label="LĐLĐ tỉnh",
                                       contact=PROVINCE_CONTACT, members="")]
    grassroots: list[tuple[str, _Grassroots]] = []
    parent_of: dict[str, str] = {}
    for upper in UPPERS:
        label = "Công đoàn Viên chức tỉnh" if not upper.place else "LĐLĐ huyện, thành phố"
        rows.append(dict(code=upper.code, name=upper.name, parent_code=PROVINCE_CODE, level=UPPER, sector="",
                         type_label=label, contact=upper.contact, members=""))
        units = _sector_units(upper, rng) if not upper.place else _district_units(upper, rng, used)
        for i, g in enumerate(units, start=1):
            code = f"{upper.prefix}_{i:03d}"
            grassroots.append((code, g))
            parent_of[code] = upper.code
    members = _scale_members(grassroots)
    for code, g in grassroots:
        rows.append(dict(code=code, name=g.name, parent_code=parent_of[code], level=GRASSROOTS,
                         sector=g.sector, type_label=g.type_label, contact="", members=members[code]))
    return DemoTree(rows, members, parent_of, {c: g.sector for c, g in grassroots})


# --------------------------------------------------------------------------- targets and rounds


def _round_up(value: float, step: int) -> int:
    return int(math.ceil(value / step) * step)


def _grassroots_targets(tree: DemoTree) -> Iterator[dict[str, Any]]:
    for code, members in tree.members.items():
        new_members = round(members * 0.03) if members >= 30 else 0
        if new_members:
            yield dict(unit_code=code, indicator="DV_MOI", period=str(YEAR), value=new_members)
        yield dict(unit_code=code, indicator="GT_DANG", period=str(YEAR), value=1)
        yield dict(unit_code=code, indicator="QXH_THU", period=str(YEAR),
                   value=max(500_000, round(members * 60_000, -5)))


def build_target_rows(tree: DemoTree) -> list[dict[str, Any]]:
    """Targets: term and 2026 for the province, 2026 per upper union and per CĐCS."""
    rows = [
        dict(unit_code=PROVINCE_CODE, indicator="DV_TONG", period=TERM, value=24_500),
        dict(unit_code=PROVINCE_CODE, indicator="TULDTT", period=TERM, value=85),
    ]
    year = str(YEAR)
    for indicator, value, sector in (
        ("TT_CHINHSACH", 98, ""), ("HOC_NGHE", 70, ""), ("QCDC", 100, HCSN), ("QCDC", 100, DNNN),
        ("QCDC", 80, NGOAINN), ("NU_CONG", 90, ""), ("QXH_NGUOI", 95, ""), ("CT_DAOTAO", 100, ""),
        ("TULDTT", 85, ""),
    ):
        rows.append(dict(unit_code=PROVINCE_CODE, indicator=indicator, period=year, value=value, sector=sector))
    grassroots = list(_grassroots_targets(tree))
    province_new = province_fund = 0
    for upper in UPPERS:
        children = [r for r in grassroots if tree.parent_of[r["unit_code"]] == upper.code]
        new = _round_up(sum(r["value"] for r in children if r["indicator"] == "DV_MOI") * 1.1, 5)
        fund = sum(r["value"] for r in children if r["indicator"] == "QXH_THU")
        count = sum(1 for r in children if r["indicator"] == "GT_DANG")
        rows += [dict(unit_code=upper.code, indicator="DV_MOI", period=year, value=new),
                 dict(unit_code=upper.code, indicator="QXH_THU", period=year, value=fund),
                 dict(unit_code=upper.code, indicator="GT_DANG", period=year, value=count)]
        province_new += new
        province_fund += fund
    rows += [dict(unit_code=PROVINCE_CODE, indicator="DV_MOI", period=year, value=province_new),
             dict(unit_code=PROVINCE_CODE, indicator="QXH_THU", period=year, value=province_fund),
             dict(unit_code=PROVINCE_CODE, indicator="GT_DANG", period=year, value=len(tree.members))]
    return rows + grassroots


ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def build_round_rows() -> list[dict[str, Any]]:
    """Quarterly rounds 2026-Q1…Q4 and the yearly round 2026-NAM."""
    quarter = " ".join(QUARTER_INDICATORS)
    dates = {  # opens the 1st of the quarter's last month, deadline the 20th of the next month;
        1: ("01/03/2026", "20/04/2026"),
        2: ("01/06/2026", "20/07/2026"),
        3: ("01/09/2026", "20/10/2026"),
        4: ("01/11/2026", "20/01/2027"),  # Q4 opens a month early so the demo (21/11/2026) has it open
    }
    rows = [
        dict(code=f"{YEAR}-Q{q}", title=f"Báo cáo số liệu quý {ROMAN[q]}/{YEAR}", period=f"{YEAR}-Q{q}",
             opens=opens, deadline=deadline, indicators=quarter, audience_levels=GRASSROOTS)
        for q, (opens, deadline) in dates.items()
    ]
    rows.append(dict(code=f"{YEAR}-NAM", title=f"Báo cáo kết quả thực hiện chỉ tiêu năm {YEAR}",
                     period=str(YEAR), opens="15/11/2026", deadline="20/12/2026",
                     indicators=" ".join(YEAR_INDICATORS), audience_levels=GRASSROOTS))
    return rows


# --------------------------------------------------------------------------- loading


@dataclass
class DemoSummary:
    """What the demo holds, and what this run changed."""

    units: int = 0
    upper_units: int = 0
    grassroots_units: int = 0
    members: int = 0
    indicators: int = 0
    periods: int = 0
    targets: int = 0
    rounds: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    reports: dict[str, ImportReport] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def add(self, created: int, updated: int, unchanged: int) -> None:
        self.created += created
        self.updated += updated
        self.unchanged += unchanged


class DemoError(RuntimeError):
    """The demo data was refused by the import checks (a bug in the demo, or a clash with the database)."""


def _ensure_periods(session: Session, summary: DemoSummary) -> None:
    known = {p.code for p in session.exec(select(Period))}
    for code in PERIOD_CODES:
        canonical = normalise_period_code(code)
        get_or_create_period(session, canonical)
        summary.add(int(canonical not in known), 0, int(canonical in known))
    summary.periods = len(PERIOD_CODES)


def _run(summary: DemoSummary, name: str, report: ImportReport) -> None:
    if report.errors:
        raise DemoError(f"demo {name} refused: {report.errors[:5]}")
    summary.reports[name] = report
    summary.add(report.created, report.updated, report.unchanged)


def load_demo(session: Session) -> DemoSummary:
    """Load (or check) the Lai Châu demo data; a second run changes nothing. The caller commits."""
    summary = DemoSummary()
    created, updated, unchanged = ensure_indicators(session)
    summary.add(created, updated, unchanged)
    summary.indicators = created + updated + unchanged
    _ensure_periods(session, summary)
    tree = build_tree()
    unit_columns = ("code", "name", "parent_code", "level", "sector", "type_label", "contact", "members")
    _run(summary, "units", import_unit_table(session, table_from_dicts(tree.unit_rows, unit_columns),
                                             actor=ACTOR, source="demo"))
    targets = build_target_rows(tree)
    _run(summary, "targets", import_target_table(
        session, table_from_dicts(targets, ("unit_code", "indicator", "period", "value", "sector")),
        actor=ACTOR, source="demo"))
    rounds = build_round_rows()
    _run(summary, "rounds", import_round_table(
        session, table_from_dicts(rounds, ("code", "title", "period", "opens", "deadline", "indicators",
                                           "audience_levels")),
        actor=ACTOR, source="demo"))
    summary.add(ensure_history(session), 0, 0)
    summary.units = len(tree.unit_rows)
    summary.upper_units = len(UPPERS)
    summary.grassroots_units = len(tree.members)
    summary.members = sum(tree.members.values())
    summary.targets = len(targets)
    summary.rounds = len(rounds)
    if summary.changed:
        audit.record(session, "demo.load", entity="demo", actor=ACTOR,
                     detail={"created": summary.created, "updated": summary.updated})
    session.flush()
    log.info("demo: %d created, %d updated, %d unchanged", summary.created, summary.updated, summary.unchanged)
    return summary
