"""Demo data modelled on the Lai Châu provincial labour federation (LĐLĐ tỉnh Lai Châu), in
the shape a province has in 2026: its history under the district federations, its
current rounds under the unions that replaced them.

`load_demo(session)` builds:

- the indicator catalogue of examples/indicators.csv (the file a real province starts
  from, loaded with the same import);
- the tree as it was until 30/06/2025 (the seeds' shape): the province, 7 district/city
  federations (LĐLĐ huyện/thành phố, LDLD_TP … LDLD_TNU) and the provincial Công đoàn
  Viên chức (CDVC_LC), with 300 grassroots unions (CĐCS);
- the reorganisation of 01/07/2025 (PRODUCT.md, "The organisation": district federations
  were replaced by commune/ward unions, grassroots unions moved directly under the
  provincial federation or under new upper-level unions, some CĐCS closed or merged),
  applied with the restructure service (bot/services/restructure.py, the code path of
  `congdoan unit move/merge/close` and `congdoan import restructure`), so each change is
  a dated UnitEvent:
    * every district federation ends (closed on 01/07/2025);
    * its state enterprises (DNNN), its district health centre (Trung tâm Y tế) and its
      upper-secondary school (Trường THPT) move directly under the provincial federation;
    * the CĐCS of the district's education office (Phòng Giáo dục và Đào tạo) closes; the
      CĐCS of its People's Council and Committee office (Văn phòng HĐND và UBND) merges into
      the CĐCS of the town's own UBND where the demo has one (thành phố Lai Châu, Than
      Uyên), and closes elsewhere;
    * every other CĐCS of the district moves under one new commune/ward union;
  CDVC_LC and its CĐCS stay as they were.
- quarterly rounds of 2024 and 2025 (all locked, with reports: 2024–Q2/2025 under the
  districts, Q3–Q4/2025 under the new tree), the periods of 2024–2026 and the 2023–2028
  term, targets of 2026 on today's tree taken from the federation's 2023–2028 action
  programme, and five reporting rounds for 2026 (see bot/demo_history.py for the reports).

INVENTED, not taken from the seeds or PRODUCT.md: the new upper-level unions (NEW_UPPERS:
one commune/ward union per former district, named after the commune or ward that took the
old district town's name — "Công đoàn xã Mường Tè", "Công đoàn phường Tân Phong" … — with
their codes CDX_*/CDP_TP and contacts), and which CĐCS close, merge or move where (the
rules above). A real province has one union per new commune; the demo keeps one per former
district so that its tree stays small. All unit names are plausible but fictional;
contacts and phone numbers are invented.

It is idempotent by content: everything goes through the same upserts as the
import files (indicators, units, targets, rounds), compares field by field
(periods), or is a restructure whose actions are already true (no-ops), so a second
run finds every row already in place and writes nothing.
No people or invite codes are created here.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bot.clock import utcnow
from bot.models import Level, Period, Sector, Unit
from bot.demo_history import ensure_history
from bot.services import audit, restructure
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
HISTORY_YEARS = (2024, 2025)  # years with quarterly rounds already reported and locked
RESTRUCTURE_DAY = date(2025, 7, 1)  # district federations end; their CĐCS move, close or merge
PERIOD_CODES = (
    *(code for y in HISTORY_YEARS for code in (str(y), *(f"{y}-Q{q}" for q in range(1, 5)))),
    "2026", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026-H1", "2026-H2", TERM,
)

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



@dataclass(frozen=True)
class NewUpperSpec:
    """A commune/ward union founded on 01/07/2025 in place of a district federation (INVENTED)."""

    code: str
    name: str
    replaces: str  # the district federation whose CĐCS it takes over
    town_office: str  # the CĐCS "UBND <town>" the district's Văn phòng HĐND và UBND merges into, or ""
    contact: str


# INVENTED (see the module docstring): names after the communes/wards that took the old district
# towns' names, codes, contacts.
NEW_UPPERS: tuple[NewUpperSpec, ...] = (
    NewUpperSpec("CDP_TP", "Công đoàn phường Tân Phong", "LDLD_TP", "UBND phường Tân Phong",
                 "Đ/c Nguyễn Thị Hằng (Chủ tịch) – 0912 406 118"),
    NewUpperSpec("CDX_TD", "Công đoàn xã Tam Đường", "LDLD_TD", "", "Đ/c Lò Văn Thành (Chủ tịch) – 0915 233 604"),
    NewUpperSpec("CDX_PT", "Công đoàn xã Phong Thổ", "LDLD_PT", "", "Đ/c Tẩn Thị Mai (Chủ tịch) – 0983 517 290"),
    NewUpperSpec("CDX_SH", "Công đoàn xã Sìn Hồ", "LDLD_SH", "", "Đ/c Vàng A Sùng (Chủ tịch) – 0944 180 372"),
    NewUpperSpec("CDX_MT", "Công đoàn xã Mường Tè", "LDLD_MT", "", "Đ/c Lý Văn Pờ (Chủ tịch) – 0967 042 815"),
    NewUpperSpec("CDX_THU", "Công đoàn xã Than Uyên", "LDLD_THU", "UBND thị trấn Than Uyên",
                 "Đ/c Lường Thị Thu (Chủ tịch) – 0936 725 401"),
    NewUpperSpec("CDX_TNU", "Công đoàn xã Tân Uyên", "LDLD_TNU", "", "Đ/c Đèo Văn Hưng (Chủ tịch) – 0918 364 927"),
)
NEW_UPPER_LABEL = "Công đoàn xã, phường"
# CĐCS of a former district that go directly under the provincial federation (by name start)
TO_PROVINCE_NAMES = ("Trung tâm Y tế ", "Trường THPT ")
CLOSED_NAMES = ("Phòng Giáo dục và Đào tạo ",)
MERGED_NAMES = ("Văn phòng HĐND và UBND ",)  # into the town's UBND where there is one, else closed

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


def _scale_members(units: list[tuple[str, _Grassroots]], ended: set[str]) -> dict[str, int]:
    """Scale the raw figures so that the CĐCS active today (not in `ended`) have MEMBERS_TOTAL exactly."""
    raw_total = sum(g.weight for c, g in units if c not in ended)
    members = {code: max(3, round(g.weight * MEMBERS_TOTAL / raw_total)) for code, g in units}
    biggest = max(members, key=lambda c: members[c])
    members[biggest] += MEMBERS_TOTAL - sum(n for c, n in members.items() if c not in ended)
    return members


@dataclass(frozen=True)
class Change:
    """One line of the demo's reorganisation of 01/07/2025, as in a restructure file."""

    kind: str  # restructure.MOVE / MERGE / CLOSE
    code: str
    to: str = ""


@dataclass
class DemoTree:
    """The generated union tree: unit rows ready for the import (the tree until 30/06/2025, plus
    the new upper-level unions), members per CĐCS, and the changes of 01/07/2025."""

    unit_rows: list[dict[str, Any]]
    members: dict[str, int]  # CĐCS code → members_hint
    parent_of: dict[str, str]  # CĐCS code → upper code until 30/06/2025
    sector_of: dict[str, str]
    changes: list[Change] = field(default_factory=list)

    @property
    def ended(self) -> set[str]:
        """Codes of the units closed or merged on 01/07/2025."""
        return {c.code for c in self.changes if c.kind in (restructure.CLOSE, restructure.MERGE)}

    @property
    def parent_now(self) -> dict[str, str]:
        """CĐCS code → upper code today, for the CĐCS still active."""
        moved = {c.code: c.to for c in self.changes if c.kind == restructure.MOVE}
        ended = self.ended
        return {code: moved.get(code, parent) for code, parent in self.parent_of.items() if code not in ended}

    @property
    def members_now(self) -> dict[str, int]:
        """Members of the CĐCS still active."""
        ended = self.ended
        return {code: n for code, n in self.members.items() if code not in ended}

    def rows_now(self) -> list[dict[str, Any]]:
        """The unit rows with today's parents (what the import must find once the change is applied)."""
        parents = self.parent_now
        return [dict(r, parent_code=parents.get(r["code"], r["parent_code"])) for r in self.unit_rows]

    def active_rows(self) -> list[dict[str, Any]]:
        """The units active today, with today's parents."""
        ended = self.ended
        return [r for r in self.rows_now() if r["code"] not in ended]

    def upper_codes_now(self) -> list[str]:
        """The upper-level unions of today's tree."""
        return [u.code for u in UPPERS if not u.place] + [n.code for n in NEW_UPPERS]


def _district_changes(rows: list[dict[str, Any]], parent_of: dict[str, str]) -> list[Change]:
    """What happens to every CĐCS and every district federation on 01/07/2025 (rules in the docstring)."""
    changes: list[Change] = []
    name_of = {r["code"]: r["name"] for r in rows}
    sector_of = {r["code"]: r["sector"] for r in rows}
    for new in NEW_UPPERS:
        codes = sorted((c for c, p in parent_of.items() if p == new.replaces), key=lambda c: c)
        town = next((c for c in codes if new.town_office and name_of[c] == new.town_office), "")
        for code in codes:
            name = name_of[code]
            if name.startswith(CLOSED_NAMES):
                changes.append(Change(restructure.CLOSE, code))
            elif name.startswith(MERGED_NAMES):
                changes.append(Change(restructure.MERGE, code, town) if town else Change(restructure.CLOSE, code))
            elif sector_of[code] == DNNN or name.startswith(TO_PROVINCE_NAMES):
                changes.append(Change(restructure.MOVE, code, PROVINCE_CODE))
            else:
                changes.append(Change(restructure.MOVE, code, new.code))
        changes.append(Change(restructure.CLOSE, new.replaces))
    return changes


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
    for new in NEW_UPPERS:
        rows.append(dict(code=new.code, name=new.name, parent_code=PROVINCE_CODE, level=UPPER, sector="",
                         type_label=NEW_UPPER_LABEL, contact=new.contact, members=""))
    changes = _district_changes([dict(code=c, name=g.name, sector=g.sector) for c, g in grassroots], parent_of)
    members = _scale_members(grassroots, {c.code for c in changes if c.kind != restructure.MOVE})
    for code, g in grassroots:
        rows.append(dict(code=code, name=g.name, parent_code=parent_of[code], level=GRASSROOTS,
                         sector=g.sector, type_label=g.type_label, contact="", members=members[code]))
    return DemoTree(rows, members, parent_of, {c: g.sector for c, g in grassroots}, changes)


# --------------------------------------------------------------------------- targets and rounds


def _round_up(value: float, step: int) -> int:
    return int(math.ceil(value / step) * step)


def _grassroots_targets(tree: DemoTree) -> Iterator[dict[str, Any]]:
    for code, members in tree.members_now.items():
        new_members = round(members * 0.03) if members >= 30 else 0
        if new_members:
            yield dict(unit_code=code, indicator="DV_MOI", period=str(YEAR), value=new_members)
        yield dict(unit_code=code, indicator="GT_DANG", period=str(YEAR), value=1)
        yield dict(unit_code=code, indicator="QXH_THU", period=str(YEAR),
                   value=max(500_000, round(members * 60_000, -5)))


def build_target_rows(tree: DemoTree) -> list[dict[str, Any]]:
    """Targets: term and 2026 for the province, 2026 per upper union and per CĐCS of today's tree.

    The province's 2026 DV_MOI / QXH_THU / GT_DANG are its upper unions' targets plus those of
    the CĐCS directly under it."""
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
    parent_now = tree.parent_now
    province_new = province_fund = 0
    for upper in tree.upper_codes_now():
        children = [r for r in grassroots if parent_now[r["unit_code"]] == upper]
        new = _round_up(sum(r["value"] for r in children if r["indicator"] == "DV_MOI") * 1.1, 5)
        fund = sum(r["value"] for r in children if r["indicator"] == "QXH_THU")
        count = sum(1 for r in children if r["indicator"] == "GT_DANG")
        rows += [dict(unit_code=upper, indicator="DV_MOI", period=year, value=new),
                 dict(unit_code=upper, indicator="QXH_THU", period=year, value=fund),
                 dict(unit_code=upper, indicator="GT_DANG", period=year, value=count)]
        province_new += new
        province_fund += fund
    direct = [r for r in grassroots if parent_now[r["unit_code"]] == PROVINCE_CODE]
    province_new += sum(r["value"] for r in direct if r["indicator"] == "DV_MOI")
    province_fund += sum(r["value"] for r in direct if r["indicator"] == "QXH_THU")
    rows += [dict(unit_code=PROVINCE_CODE, indicator="DV_MOI", period=year, value=province_new),
             dict(unit_code=PROVINCE_CODE, indicator="QXH_THU", period=year, value=province_fund),
             dict(unit_code=PROVINCE_CODE, indicator="GT_DANG", period=year, value=len(tree.members_now))]
    return rows + grassroots


ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def _quarter_dates(year: int, quarter: int) -> tuple[str, str]:
    """Opens the 1st of the quarter's last month, deadline the 20th of the next month."""
    month = quarter * 3
    nxt_year, nxt_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"01/{month:02d}/{year}", f"20/{nxt_month:02d}/{nxt_year}"


def build_history_round_rows() -> list[dict[str, Any]]:
    """Quarterly rounds of 2024 and 2025, already reported (bot/demo_history.py) and locked."""
    return [
        dict(code=f"{y}-Q{q}", title=f"Báo cáo số liệu quý {ROMAN[q]}/{y}", period=f"{y}-Q{q}",
             opens=_quarter_dates(y, q)[0], deadline=_quarter_dates(y, q)[1],
             indicators=" ".join(QUARTER_INDICATORS), audience_levels=GRASSROOTS)
        for y in HISTORY_YEARS for q in range(1, 5)
    ]


def build_round_rows() -> list[dict[str, Any]]:
    """Quarterly rounds 2026-Q1…Q4 and the yearly round 2026-NAM."""
    quarter = " ".join(QUARTER_INDICATORS)
    dates = {q: _quarter_dates(YEAR, q) for q in (1, 2, 3)}
    dates[4] = ("01/11/2026", "20/01/2027")  # Q4 opens a month early so the demo (21/11/2026) has it open
    rows = [
        dict(code=f"{YEAR}-Q{q}", title=f"Báo cáo số liệu quý {ROMAN[q]}/{YEAR}", period=f"{YEAR}-Q{q}",
             opens=opens, deadline=deadline, indicators=quarter, audience_levels=GRASSROOTS)
        for q, (opens, deadline) in dates.items()
    ]
    rows.append(dict(code=f"{YEAR}-NAM", title=f"Báo cáo kết quả thực hiện chỉ tiêu năm {YEAR}",
                     period=str(YEAR), opens="15/11/2026", deadline="20/12/2026",
                     indicators=" ".join(YEAR_INDICATORS), audience_levels=GRASSROOTS))
    return rows


def all_round_rows() -> list[dict[str, Any]]:
    """Every round of the demo: 2024–2025 (history) then 2026."""
    return build_history_round_rows() + build_round_rows()


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


def _reorganised(session: Session, tree: DemoTree) -> bool:
    """Whether the change of 01/07/2025 is in the database (every district federation has ended)."""
    districts = [u.code for u in UPPERS if u.place]
    rows = session.exec(select(Unit.code, Unit.active).where(Unit.code.in_(districts))).all()  # type: ignore[attr-defined]
    return len(rows) == len(districts) and not any(active for _c, active in rows)


def reorganise(session: Session, tree: DemoTree) -> int:
    """Apply the change of 01/07/2025 through the restructure service; returns the changes made
    (0 when it is already in place)."""
    actions = [restructure.Action(kind=c.kind, code=c.code, effective=RESTRUCTURE_DAY, to=c.to, line=i)
               for i, c in enumerate(tree.changes, start=1)]
    plan = restructure.plan(session, actions, utcnow())
    if not plan.ok:
        raise DemoError(f"demo reorganisation refused: {plan.errors[:5]}")
    if not plan.changes:
        return 0
    return restructure.apply(session, plan, actor=ACTOR, now=utcnow())


def load_demo(session: Session) -> DemoSummary:
    """Load (or check) the Lai Châu demo data; a second run changes nothing. The caller commits."""
    summary = DemoSummary()
    created, updated, unchanged = ensure_indicators(session)
    summary.add(created, updated, unchanged)
    summary.indicators = created + updated + unchanged
    _ensure_periods(session, summary)
    tree = build_tree()
    unit_columns = ("code", "name", "parent_code", "level", "sector", "type_label", "contact", "members")
    # the tree of 30/06/2025 on a first run; today's parents once the change of 01/07/2025 is in
    unit_rows = tree.rows_now() if _reorganised(session, tree) else tree.unit_rows
    _run(summary, "units", import_unit_table(session, table_from_dicts(unit_rows, unit_columns),
                                             actor=ACTOR, source="demo"))
    summary.add(reorganise(session, tree), 0, 0)
    targets = build_target_rows(tree)
    _run(summary, "targets", import_target_table(
        session, table_from_dicts(targets, ("unit_code", "indicator", "period", "value", "sector")),
        actor=ACTOR, source="demo"))
    rounds = all_round_rows()
    _run(summary, "rounds", import_round_table(
        session, table_from_dicts(rounds, ("code", "title", "period", "opens", "deadline", "indicators",
                                           "audience_levels")),
        actor=ACTOR, source="demo"))
    summary.add(ensure_history(session), 0, 0)
    summary.units = len(tree.unit_rows)
    summary.upper_units = len(tree.upper_codes_now())
    summary.grassroots_units = len(tree.members_now)
    summary.members = sum(tree.members_now.values())
    summary.targets = len(targets)
    summary.rounds = len(rounds)
    if summary.changed:
        audit.record(session, "demo.load", entity="demo", actor=ACTOR,
                     detail={"created": summary.created, "updated": summary.updated})
    session.flush()
    log.info("demo: %d created, %d updated, %d unchanged", summary.created, summary.updated, summary.unchanged)
    return summary
