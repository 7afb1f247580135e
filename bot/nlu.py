"""Understand a chair's free-text question: text → Intent(name, indicators, period, unit, round).

Pure and offline: no database, no model. What the bot knows about the world (indicator
names and aliases, unit codes and names, round codes, term periods) comes in as a
`Vocabulary` built by the caller (see bot.services.progress.vocabulary).

How a question is read, step by step:

1. `fold` (lower case, no diacritics), then unit codes ("TD_001", "td 001") and round
   codes ("2026-NAM") are taken out verbatim;
2. the rest is split into words; chat abbreviations are expanded ("ĐV" → đoàn viên,
   "KPCĐ" → kinh phí công đoàn, "ko" → không, "q2" → quý 2) and a word that is not in the
   lexicon is corrected when exactly one known word is one edit away ("tieeu" → tieu,
   "hna" → han) or split when it is two known words glued together ("chitieu");
3. the period is read with a few patterns ("quý II", "6 tháng đầu năm", "năm ngoái",
   "cả nhiệm kỳ", "2026") relative to `today`;
4. indicators are the longest non-overlapping phrases of their names, aliases and the
   synonym table below (one mistyped word allowed per phrase; a generic phrase such as
   "đoàn viên" gives way to a specific one next to it such as "kết nạp"); units are
   matched by their names without "xã", "huyện", "CĐCS"… (the longest name wins; several
   units with that name are all returned, to ask which one);
5. the intent is the first rule that fires in a fixed order (contact, missing units,
   deadline, submitted, round content, report, off-topic, target, remaining, progress);
   a question that names an indicator or a unit but no intent word is a progress question.

Intents: target, progress, remaining, deadline, submitted, round_content, missing_units,
contact, report (the person wants to report: offer the open rounds), help, smalltalk, unknown.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from datetime import date

from bot.textvn import fold

INTENTS = ("target", "progress", "remaining", "deadline", "submitted", "round_content",
           "missing_units", "ranking", "compare", "contact", "report", "help", "smalltalk", "unknown")

# ---------------------------------------------------------------------------- vocabulary

# Phrases that name no indicator but contain alias words ("Liên đoàn Lao động" is not "lao động").
NOT_INDICATORS = ("lien doan lao dong", "cong doan co so", "cong doan cap tren", "cong doan nganh",
                  "to chuc cong doan", "cong doan vien chuc", "luong co so", "tien luong", "nguoi lao dong duoc nghi")

# Chat abbreviations, folded word → folded words.
ABBREVIATIONS: dict[str, str] = {
    "dv": "doan vien", "dvien": "doan vien", "dvm": "doan vien moi",
    "nld": "nguoi lao dong", "cnld": "cong nhan lao dong", "cnvcld": "cong nhan vien chuc lao dong",
    "cnvc": "cong nhan vien chuc", "cdcs": "cong doan co so", "cd": "cong doan", "ldld": "lien doan lao dong",
    "kpcd": "kinh phi cong doan", "kp": "kinh phi", "tuldtt": "thoa uoc lao dong tap the",
    "tuld": "thoa uoc lao dong", "qxh": "quy xa hoi", "xh": "xa hoi",
    "dpcd": "doan phi cong doan", "dp": "doan phi", "qcdc": "quy che dan chu", "bc": "bao cao",
    "bcao": "bao cao", "nk": "nhiem ky", "sdt": "so dien thoai", "dt": "dien thoai",
    "bn": "bao nhieu", "bnh": "bao nhieu", "bnhieu": "bao nhieu", "nhiu": "nhieu", "bh": "bao gio",
    "ko": "khong", "k": "khong", "kh": "khong", "hok": "khong", "khg": "khong", "kg": "khong",
    "dc": "duoc", "dk": "duoc", "j": "gi", "r": "roi", "chx": "chua", "cx": "cung",
    "ntn": "nhu the nao", "vs": "voi", "mk": "minh", "mik": "minh", "mh": "minh", "hn": "hom nay",
    "ng": "nguoi", "ctcd": "chu tich cong doan", "%": "phan tram", "nvu": "nhiem vu", "ktra": "kiem tra",
    "tp": "thanh pho",
    # unit types as officers write them
    "th": "tieu hoc", "thcs": "trung hoc co so", "thpt": "trung hoc pho thong", "mn": "mam non",
    "mg": "mau giao", "tyt": "tram y te", "ttyt": "trung tam y te", "bv": "benh vien", "cty": "cong ty",
    "ubnd": "uy ban nhan dan", "hdnd": "hoi dong nhan dan", "htx": "hop tac xa",
    "cp": "co phan", "pgd": "phong giao duc",
    # actions
    "kn": "ket nap", "gt": "gioi thieu", "bhxh": "bao hiem xa hoi",
}

# Words the typo corrector must know besides the vocabulary (folded). Keeping everyday
# words here stops "vay" (borrow) being corrected into something meaningful.
BASE_WORDS = """
a ai am an ang anh ao au ay ba bac bai ban bang banh bao bat bau bay be ben bi bia bien biet binh bo boi
bon bong bu bua bui bun buoc buoi buon bup ca cac cach cai cam can cang canh cao cap cat cau chan chang
chanh chao chap chat chau che chen chet chi chia chien chinh chiu cho choi chon chong chu chua chuan chuc
chung chuong chuyen co coi con cong cu cua cuc cung cuoc cuoi da dac dai dam dan dang danh dao dap dat
dau day de dem den deo dep det deu di dia dich diem dien dieu dinh do doc doi don dong du dua dung duoc
duong duy e em gan ghe ghi gi gia giai giam gian giao giay gio gioi giu giua go goi gom gui gung ha hai
ham han hang hanh hao hat hau hay he hen het hien hieu hinh ho hoa hoan hoang hoat hoc hoi hom hon hong
hop hu hua huong huu huy im in kem ken keo ket kha khac khach khai kham khan khang khanh khi khien kho
khoa khoan khoe khoi khong khu khuyen kia kiem kien kinh ky la lac lai lam lan lang lanh lao lap lau lay
le len lich lien lieu linh lo loai loan loi lon long luat luc lui luon luong ly ma mai man mang manh mat
mau may me men met mien minh mo moi mon mong mot mua muc mui muon muoi nam nang nao nay ne nen neu ngay
nghe nghi nghia nghiep nghin ngo ngoai ngu nguoi nguon nhan nhanh nhat nhau nhe nhi nhieu nhin nho nhu
nhung noi nong nop nu nua nuoc o oi on ong pha phai phan phap phat phi phia phien phieu pho phong phu
phuc phuong qua quan quang que quen quoc quy ra rang rat re rieng roi rong ruoi rut sa sach sai san sang
sao sau se sinh so soan song suat suc sung sut ta tac tai tam tan tang tao tap tat te tet thach thai
tham than thang thanh thao that thay the them then theo thi thich thien thieu thiet tho thoa thoi thong
thu thua thuc thuoc thuong thuy ti tich tien tiep tiet tieu tim tin tinh to toan toi tong tra trai
tram tran trang tre tren tri trien trinh tro troi trong truoc truong tu tua tuan tuc tuoi tuong tuy
tuyen uy ung uoc va van vang vao vat vay ve vi viec vien viet vinh vo voi vu vua vui vuot xa xac xang xanh
xay xe xem xep xet xin xong xuat xuong y yeu
hello hi ok oke okay thanks thank you help menu alo
sua xoa nhap mua dung moi nhat huy doi lay gap ngan cuu kho
""".split()


@dataclass(frozen=True)
class UnitEntry:
    code: str
    name: str
    level: str = "grassroots"


@dataclass(frozen=True)
class RoundEntry:
    code: str
    period: str


@dataclass
class Vocabulary:
    """What the parser may recognise, built once from the database (or the demo specs).

    indicators: (code, names) — the Vietnamese name and each alias, as stored;
    units: unit codes and names; rounds: round codes and their period codes;
    terms: term period codes such as "2023-2028".
    """

    indicators: list[tuple[str, list[str]]] = field(default_factory=list)
    units: list[UnitEntry] = field(default_factory=list)
    rounds: list[RoundEntry] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index: _Index | None = None

    @property
    def index(self) -> "_Index":
        """The compiled vocabulary; the same contents compile once per process (see _compiled)."""
        if self._index is None:
            key = (tuple((c, tuple(n)) for c, n in self.indicators), tuple(self.units), tuple(self.rounds),
                   tuple(self.terms))
            self._index = _compiled(key)
        return self._index


@functools.lru_cache(maxsize=4)
def _compiled(key: tuple) -> "_Index":
    """Compile a vocabulary given as a hashable key: the bot reads the vocabulary from the database
    for every question, and compiling it (phrases, lexicon, unit keys) costs far more than parsing."""
    indicators, units, rounds, terms = key
    return _Index(Vocabulary([(c, list(n)) for c, n in indicators], list(units), list(rounds), list(terms)))


@dataclass(frozen=True)
class Intent:
    """What a question asks: the intent name and its slots.

    indicators: indicator codes in the order they were named; period: a period code
    ("2026", "2026-Q2", "2026-H1", "2023-2028"); unit: the code of a named unit;
    unit_candidates: several units fit the name equally well (ask which one);
    round: a round code typed literally.
    """

    name: str
    indicators: tuple[str, ...] = ()
    period: str | None = None
    unit: str | None = None
    unit_candidates: tuple[str, ...] = ()
    round: str | None = None
    order: str | None = None  # ranking: "lowest", "highest" or "all"
    compare: str | None = None  # comparison: "previous", "last_year" or a period code
    unit_query: str | None = None  # words that name a unit none of the known units fits
    weak: bool = False  # the intent was only guessed (a follow-up naming slots, or a bare question)
    # other indicators a named one's words also fit ("ủng hộ quỹ XH": the donors, or the money given),
    # for the caller to prefer one that has a target or figures
    alternatives: tuple[str, ...] = ()

    @property
    def names_unit(self) -> bool:
        """Whether the question named a unit (found, ambiguous, or not found)."""
        return bool(self.unit or self.unit_candidates or self.unit_query)


# ---------------------------------------------------------------------------- text helpers

_TOKEN = re.compile(r"[a-z0-9]+|%")
# Unit codes as typed: "TD_001", "td 001", "td001"; "LDLD_TD". Only codes in the vocabulary count.
_UNIT_CODE = re.compile(r"\b([a-z]{2,5})[ _-]?(\d{3})\b|\b([a-z]{2,6}_[a-z]{2,6})\b")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "mot": 1, "nhat": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4}
# Words left out when matching unit names ("trường tiểu học Bản Bo" names "Trường Tiểu học xã Bản Bo").
_ADMIN_WORDS = {"xa", "phuong", "thi", "tran", "huyen", "tinh", "thanh", "pho", "tp", "tt", "va"}
# Leading words of a unit name that people often leave out.
_TYPE_PREFIXES = (("truong",), ("co", "quan"), ("cong", "ty"), ("cong", "ty", "co", "phan"), ("cong", "ty", "tnhh"),
                  ("hop", "tac"))


# Types of units as their names begin (folded, abbreviations expanded), longest first.
UNIT_TYPES: tuple[tuple[str, ...], ...] = tuple(sorted((tuple(w for w in t.split() if w not in _ADMIN_WORDS) for t in (
    "truong ptdtbt trung hoc co so", "truong trung hoc co so", "truong trung hoc pho thong", "truong tieu hoc",
    "truong mam non", "truong mau giao", "truong", "trung hoc co so", "trung hoc pho thong", "tieu hoc", "mam non",
    "mau giao", "ptdtbt", "tram y te", "trung tam y te", "benh vien", "uy ban nhan dan", "cong ty co phan",
    "cong ty tnhh", "cong ty", "hop tac xa", "dien luc", "buu dien", "chi nhanh ngan hang", "ngan hang", "co quan",
    "van phong", "phong", "so", "trung tam")), key=lambda t: -len(t)))
_TYPES_ALONE = {("dien", "luc"), ("buu", "dien"), ("benh", "vien")}  # few enough to offer them all


def within_one(a: str, b: str) -> bool:
    """Whether two words are at most one edit apart (insert, delete, substitute, swap)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (len(diff) == 2 and diff[1] == diff[0] + 1
                and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1:]


def words(text: str) -> list[str]:
    """Folded words of a text with abbreviations expanded."""
    out: list[str] = []
    for token in _TOKEN.findall(fold(text)):
        expanded = ABBREVIATIONS.get(token)
        if expanded is None and re.fullmatch(r"(q|quy)[1-4]", token):
            expanded = f"quy {token[-1]}"
        out.extend((expanded or token).split())
    return out


_TELEX_TONE = re.compile(r"(?<=[a-z])[sfrxj]$")
_TELEX_LETTERS = (("dd", "d"), ("aa", "a"), ("ee", "e"), ("oo", "o"), ("aw", "a"), ("ow", "o"), ("uw", "u"),
                  ("w", "u"))


def detelex(word: str) -> str:
    """A word typed with the Telex keys left in ("tieens" → tien, "ddoanf" → doan, "nawm" → nam)."""
    out = word
    for typed, plain in _TELEX_LETTERS:
        out = out.replace(typed, plain)
    m = re.search(r"[sfrxj]", out[1:])
    if m is not None:  # a tone key typed after the vowel: "tieens", "dduowcj", "chir"
        pos = m.start() + 1
        if pos == len(out) - 1 or out[pos - 1] in "aeiouy":
            out = out[:pos] + out[pos + 1:]
    return out


class _Index:
    """The compiled vocabulary: phrases, lexicon and unit keys."""

    def __init__(self, vocab: Vocabulary) -> None:
        phrases: list[tuple[tuple[str, ...], str]] = []
        for code, names in vocab.indicators:
            for name in names:  # the catalogue's names and aliases (its `aliases` column)
                w = tuple(words(name))
                if w:
                    phrases.append((w, code))
        phrases += [(tuple(p.split()), "") for p in NOT_INDICATORS]
        # longest phrases first, so that "đoàn viên mới" wins over "đoàn viên"
        self.phrases = sorted(set(phrases), key=lambda p: (-len(p[0]), p[1]))
        self.phrases_of: dict[str, list[tuple[str, ...]]] = {}
        for w, code in self.phrases:
            self.phrases_of.setdefault(code, []).append(w)
        self.units = {u.code.upper(): u for u in vocab.units}
        self.unit_keys: list[tuple[tuple[str, ...], str]] = []
        for unit in vocab.units:
            base = tuple(unit_words(unit.name))
            keys = {base}
            for prefix in _TYPE_PREFIXES:
                if base[:len(prefix)] == prefix and len(base) - len(prefix) >= 2:
                    keys.add(base[len(prefix):])
            if unit.level != "grassroots":  # "huyện Tam Đường" names its district federation
                text = fold(unit.name)
                for prefix in ("lien doan lao dong ", "cong doan "):
                    if text.startswith(prefix):
                        keys.add(tuple(unit_words(text[len(prefix):])))
            self.unit_keys += [(key, unit.code) for key in keys if len(key) >= 2]
        self.union_keys: list[tuple[tuple[str, ...], str]] = []
        for unit in vocab.units:
            text = fold(unit.name)
            if unit.level != "grassroots" and text.startswith("cong doan "):
                head = []
                for w in words(text[len("cong doan "):]):
                    if w in _ADMIN_WORDS:
                        break
                    head.append(w)
                if head:
                    self.union_keys.append((tuple(head), unit.code))
        self.unit_parts: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        for unit in vocab.units:
            base = tuple(unit_words(unit.name))
            prefix = next((t for t in UNIT_TYPES if base[:len(t)] == t and len(base) > len(t)), ())
            self.unit_parts[unit.code] = (prefix, base[len(prefix):])
        self.indicator_ngrams = {w[i:i + n] for w, _c in self.phrases for n in range(1, len(w) + 1)
                                 for i in range(len(w) - n + 1)}
        self.rounds = vocab.rounds
        self.round_codes = {fold(r.code): r.code for r in vocab.rounds}
        self.terms = vocab.terms
        lexicon = set(BASE_WORDS)
        for w, _code in self.phrases:
            lexicon.update(w)
        for unit in vocab.units:
            lexicon.update(words(unit.name))
        lexicon.update(_KEYWORDS)
        self.lexicon = frozenset(x for x in lexicon if not x.isdigit())
        self.important = frozenset(_KEYWORDS) | {x for w, _c in self.phrases for x in w}
        self.stop_words = self.important | _STOP_AFTER_UNIT

    def correct(self, word: str) -> list[str]:
        """A word as known words: itself, its single one-edit correction, or two glued words."""
        if word in self.lexicon or word.isdigit() or len(word) < 3 or word in _ROMAN:
            return [word]
        plain = detelex(word)
        if plain != word and (plain in self.lexicon or plain.isdigit()):
            return [plain]
        near = [w for w in self.lexicon if abs(len(w) - len(word)) <= 1 and within_one(word, w)]
        # Prefer, in turn: a keyword with the dropped letter put back (the commonest slip on a
        # phone keyboard), a keyword with the same first letter, any word with the letter back.
        important = [w for w in near if w in self.important]
        for pool in (near if len(near) == 1 else [],
                     [w for w in important if len(w) > len(word)],
                     [w for w in important if w[0] == word[0]],
                     important,
                     [w for w in near if len(w) > len(word)]):
            if len(pool) == 1:
                return [pool[0]]
        for cut in range(2, len(word) - 1):
            head, tail = word[:cut], word[cut:]
            if head in self.lexicon and tail in self.lexicon and len(tail) >= 2:
                return [head, tail]
        return [word]


# ---------------------------------------------------------------------------- intents

# Words that end a unit's name typed after its type ("trường tiểu học Pa Khoang đã nộp chưa").
_STOP_AFTER_UNIT = frozenset("""
da duoc cua co bao cao nop gui chua roi nhieu may quy nam thang nay ngoai truoc ket nap thu la o the sao nao
hay khong ad a nhe vay oi ve tai trong voi so sanh dat tien do chi tieu con thieu them bn kn tang giam
""".split())

# Every word used below is added to the typo lexicon.
_KEYWORDS = """
chi tieu giao ke hoach muc dinh tien do dat phan tram ty le hoan thanh ket qua thuc hien con thieu
them lai han nop chot het thoi deadline ngay nao khi bao gio luc may gui chua roi hay nhan gom
noi dung gi mau yeu cau lien he lac dien thoai hotline email phu trach dau moi ai danh sach
tinh hinh huong dan tro giup chao cam on cao xin hello alo thanks ok bieu quy nhiem ky nua
thap nhat kem bet cuoi dau top xep hang so voi tang giam chenh lech cung muon du
""".split()
_KEYWORD_SET = frozenset(_KEYWORDS)  # a part of a unit's name made only of these names no unit ("Kế hoạch")

_CONTACT = re.compile(
    r"\b(lien he|lien lac|so dien thoai|dien thoai|hotline|email|hoi ai|goi ai|gap ai|bao ai|nho ai"
    r"|ai phu trach|nguoi phu trach|can bo phu trach|dau moi|(can|xin|muon) (duoc |nguoi )?(ho tro|giup do|tu van))\b"
    r"|\bcap tren\b.{0,20}\b(la ai|o dau|la don vi nao)\b")
_MISSING = re.compile(
    r"\b(don vi|co so|cong doan co so) nao\b.{0,30}\b(chua|khong|da) (nop|gui|bao cao)"
    r"|\b(nhung|cac|bao nhieu|may|danh sach)( cac)? (don vi|co so|cong doan co so)\b.{0,60}"
    r"\b(chua|khong|da) (nop|gui|bao cao)"
    r"|\b(ai|nhung ai|con ai)( van)? (chua|khong) (nop|gui|bao cao)"
    r"|\b(cac|nhung)( [a-z]+){1,4} (chua|khong) (nop|gui|bao cao)"
    r"|\bchua (nop|gui|bao cao)\b.{0,30}\b((don vi|co so) nao|nhung (don vi|co so|ai)|la ai|danh sach)"
    r"|\b(danh sach|tinh hinh) (nop|gui|bao cao|cac don vi|don vi|chua)"
    r"|\b(bao nhieu|may) (don vi|co so|cong doan co so)( [a-z]+){0,3} (nop|gui|bao cao)\b"
    r"|\b(nop|gui|bao cao) (du|het|day du) (chua|roi|khong)\b")
_DEADLINE = re.compile(
    r"\b(han (nop|chot|cuoi|bao cao|gui|la|den)|het han|thoi han|deadline|dead line|con han"
    r"|(may|bao nhieu) ngay nua)\b|^(han|han nop)\b"
    r"|\b(khi nao|bao gio|luc nao|thoi gian|ngay nao|ngay bao nhieu|ngay may|truoc ngay|den ngay"
    r"|(may|bao nhieu) ngay)\b.{0,30}\b(nop|gui|bao cao|het|han)\b"
    r"|\b(nop|gui|bao cao|han)\b.{0,40}\b(khi nao|bao gio|luc nao|ngay nao|ngay bao nhieu|ngay may|truoc ngay"
    r"|den ngay|(may|bao nhieu) ngay)\b")
# "ngày nào tôi đã nộp" asks when it was submitted, not the deadline
_SUBMITTED_WHEN = re.compile(
    r"\bda (nop|gui)\b.{0,30}\b(ngay nao|khi nao|luc nao)|\b(ngay nao|khi nao)\b.{0,10}\bda (nop|gui)")
_SUBMITTED = re.compile(
    r"\b(nop|gui|bao cao)\b(?!.*\bbao nhieu\b).{0,40}?\b(chua|roi chua|hay chua|chua vay|chua nhi|roi a|roi ha)$"
    r"|\bda (nop|gui|bao cao)( bao cao)?( .{0,30})? (chua|roi)\b"
    r"|\b(nop|gui|bao cao)\b.{0,30}\b(roi|chua) (a|ha|phai khong|dung khong|nhi|nhe)\b"
    r"|\b(nhan duoc|da nhan|duoc nhan|nhan) (bao cao|chua)\b|\bbao cao\b.{0,30}\bduoc nhan\b"
    r"|\btinh trang (nop|bao cao|gui)\b|\bchua (nop|gui)\b")
_CONTENT = re.compile(
    r"\b(bao cao|dot|mau|bieu mau|nop)\b.{0,50}\b(gom|bao gom|co|hoi|yeu cau|can)( nhung| cac)? "
    r"(gi|muc gi|muc nao|chi tieu gi|chi tieu nao|noi dung gi|noi dung nao|so lieu gi|so lieu nao|nhung gi)\b"
    r"|\b(can|phai)( phai)? (bao cao|nop|dien|khai|ke khai|chuan bi|nhap)( nhung| cac)? "
    r"(gi|muc gi|muc nao|chi tieu gi|chi tieu nao|noi dung gi|so lieu gi|so lieu nao|nhung gi|nhung chi tieu)\b"
    r"|\bnoi dung (bao cao|dot|mau)\b|\b(mau|bieu mau) bao cao\b|\bbao cao (nhung )?(gi|chi tieu nao|muc nao)\b"
    r"|\bgom (nhung|cac) (chi tieu|muc|noi dung)\b")
# "tôi muốn báo cáo", "nộp báo cáo quý 4": the person wants to report, not to ask
_REPORT = re.compile(
    r"^(toi |em |minh )?(muon |can |se |xin |bat dau |cho toi )?((nop|gui|lam|sua|nhap) )?bao cao\b"
    r"(?!.*\b(chua|roi|gom|gi|nao|bao nhieu|may)\b)|^(toi |em |minh )?(muon |can |se |xin |bat dau )?"
    r"(nop|gui|sua|nhap) so lieu\b(?!.*\b(chua|roi|gom|gi|nao|bao nhieu|may)\b)"
    r"|\b(muon|can|bat dau|xin) (nop|gui|lam|sua|nhap) (bao cao|so lieu)\b(?!.*\b(chua|gom|gi|nao)\b)")
# "còn thiếu bao nhiêu?" needs nothing else to be a question about what is missing
_REMAINING_STRONG = re.compile(r"\b(con thieu|thieu bao nhieu|thieu may|can them bao nhieu|chua dat)\b")
_REMAINING = re.compile(
    r"\b(con phai|con can|con lai|can them|phai them|con bao nhieu|con may|bao nhieu nua|may nua"
    r"|them bao nhieu|them may|dang thieu|bi thieu)\b|\bcan\b.{0,25}\bthem\b")
_PROGRESS = re.compile(
    r"\b(tien do|dat (duoc )?(bao nhieu|may|chua|den dau|toi dau)|bao nhieu phan tram|may phan tram|phan tram"
    r"|da dat|dat duoc|lam duoc|thuc hien (duoc|den dau|the nao|ra sao)|hoan thanh|ket qua"
    r"|den dau roi|duoc bao nhieu|bao nhieu roi|so lieu da|da (ket nap|thu|bao cao|co|gioi thieu)"
    r"|vuot chi tieu|tinh hinh thuc hien|hien nay|hien co|den nay)\b")
_TARGET = re.compile(
    r"\b(chi tieu|duoc giao|giao (cho )?(bao nhieu|may)|ke hoach|muc tieu|dinh muc|phai dat|can dat"
    r"|yeu cau dat|giao chi tieu)\b|\bphai (ket nap|thu|dat|gioi thieu)\b.{0,25}\b(may|bao nhieu)\b")
# Words that turn a target question into a progress or remaining one.
_NOT_JUST_TARGET = re.compile(
    r"\b(dat|tien do|thuc hien|hoan thanh|con thieu|con lai|con phai|con can|them|(?<!gioi )thieu"
    r"|duoc bao nhieu|bao nhieu roi|ket qua|vuot|den nay|hien nay)\b")
_HELP = re.compile(
    r"\b(huong dan|tro giup|giup gi|lam duoc (nhung )?gi|hoi duoc (nhung )?gi|hoi (nhung )?gi|ban la ai"
    r"|giup (duoc )?(gi|nhung gi)|co the (hoi|lam) (nhung )?gi|biet (lam )?gi|chuc nang|dung de (lam )?gi|de lam gi)\b"
    r"|^(help|menu|giup|giup toi|giup minh)$")
_SMALLTALK = re.compile(
    r"^(xin )?(chao|hello|hi|alo|cam on|thanks|thank you|ok|oke|okay|vang|uh|um|tot|hay qua)\b"
    r"|^da( (vang|a|ad|roi|em cam on|cam on|ok))*$"  # "dạ", "dạ vâng"; "da …" is otherwise "đã …"
    r"|\b(cam on|thank)\b")
# Questions about rules, procedures and reasons, and topics outside the bot's data.
_OFF_TOPIC = re.compile(
    r"\b(lam sao|lam the nao|the nao de|nhu the nao de|thu tuc|cach (nao|de|tinh)|quy dinh|bo luat|luat cong doan"
    r"|nghi dinh|thong tu|muc dong|dong bao nhieu|tai sao|vi sao|che do|om dau|thai san|bao hiem|tro cap"
    r"|luong co so|tien luong|muc luong|nghi phep|nghi huu|huu tri|ho tro gi|mat khau)\b|\bla gi$")
# Rules of law, rates fixed by regulation, procedures: never a unit's data (checked first).
_REGULATION = re.compile(
    r"\b(quy luong|trich nop|trich|muc dong|phai dong|doanh nghiep dong|dong (bao nhieu|may) phan tram"
    r"|phan tram (tien )?luong|luong co so|luong toi thieu|thu tuc|quy dinh|dieu le|(?<!phap )luat|nghi dinh"
    r"|thong tu|dieu kien (de|duoc|ket nap)|mien dong|cach tinh|tinh (nhu )?the nao|duoc tinh|che do|tro cap"
    r"|thai san|om dau|nghi huu|huu tri|giu lai|(duoc )?chia (the nao|nhu the nao|ty le)|toi da (la )?(bao nhieu|may)|ho so"
    r"|khen thuong|giai the|bao hiem)\b")
# "so với …", "tăng hay giảm": one period against another.
_COMPARE = re.compile(
    r"\b(so voi|tang hay giam|giam hay tang|tang (bao nhieu|may|them|len)|giam (bao nhieu|may|di|xuong)"
    r"|chenh lech|nhieu hon hay it hon|it hon hay nhieu hon|hon hay kem|kem hay hon|cung ky)\b")
_NOT_COMPARE = re.compile(r"\bso voi (chi tieu|ke hoach|muc tieu|yeu cau|dinh muc)\b")
_LOWEST = re.compile(r"\b(thap nhat|it nhat|kem nhat|cham nhat|dung cuoi|dung bet|bet nhat|xep cuoi|cuoi bang"
                     r"|thap hon het)\b")
_HIGHEST = re.compile(r"\b(cao nhat|nhieu nhat|tot nhat|dan dau|dung dau|xep dau|dau bang|top|cao hon het)\b")
_RANK_ALL = re.compile(r"\b(xep hang|bang xep hang|thu hang|xep thu|thu tu thi dua|xep loai thi dua)\b")
# "phải đạt ít nhất bao nhiêu" asks a minimum, not which unit is last
_NOT_RANKING = re.compile(r"\b(it nhat|toi thieu|cao nhat|nhieu nhat|toi da)( la)? (bao nhieu|may|la)\b(?!.*\bnao\b)")


def ranking_order(s: str) -> str | None:
    """"lowest", "highest" or "all" when a normalised question asks for a ranking, else None."""
    if _NOT_RANKING.search(s):
        return None
    if _LOWEST.search(s):
        return "lowest"
    if _HIGHEST.search(s):
        return "highest"
    if _RANK_ALL.search(s):
        return "all"
    return None


# Words that put a question without an indicator ("kết quả thế nào?") in the bot's domain.
_DOMAIN = re.compile(r"\b(chi tieu|bao cao|don vi|thi dua|nhiem vu|so lieu)\b")


def _intent_name(s: str, has_subject: bool, has_period: bool) -> str:
    """The intent of a normalised question (words joined by spaces): the first rule that fires."""
    domain = has_subject or bool(_DOMAIN.search(s))
    if _REGULATION.search(s):
        return "unknown"
    if _CONTACT.search(s):
        return "contact"
    if _COMPARE.search(s) and not _NOT_COMPARE.search(s):
        return "compare"
    if ranking_order(s) is not None:
        return "ranking"
    if _MISSING.search(s):
        return "missing_units"
    if _DEADLINE.search(s) and not _SUBMITTED_WHEN.search(s):
        return "deadline"
    if _SUBMITTED.search(s):
        return "submitted"
    if _CONTENT.search(s):
        return "round_content"
    if _REPORT.search(s):
        return "report"
    if _OFF_TOPIC.search(s):
        return "unknown"
    if _TARGET.search(s) and not _NOT_JUST_TARGET.search(s):
        return "target"
    if _REMAINING_STRONG.search(s) or (_REMAINING.search(s) and domain):
        return "remaining"
    if _PROGRESS.search(s) and (domain or has_period):
        return "progress"
    if _TARGET.search(s):
        return "target"
    if _HELP.search(s):
        return "help"
    if has_subject or (has_period and domain):
        return "progress"
    if _SMALLTALK.search(s) and len(s.split()) <= 6:
        return "smalltalk"
    return "unknown"


# ---------------------------------------------------------------------------- periods


def _year_from(s: str, today: date) -> int | None:
    """A year named in the text: năm nay / năm ngoái / năm sau / (năm) 2026."""
    patterns = (
        (r"\b(nam|trong nam) (nay|hien tai|hien nay)\b|\bnam nay\b", 0),
        # "năm trước ngày nào" is "the year report, before which day"; "năm rồi à" is "already?"
        (r"\bnam (ngoai|truoc(?! (ngay|han|khi|thoi))|roi(?! (a|ha|chua|nhe|nhi|phai|dung))"
         r"|qua|vua qua|vua roi)\b", -1),
        # "năm tôi gửi" is "the year report I sent" (tôi and tới fold alike)
        (r"\bnam (sau|toi(?! (gui|nop|da|bao|co|chua|duoc|lam|can|phai|muon|xem|hoi)))\b", 1),
    )
    if re.search(r"\bda\b.*\bnam roi$", s):
        s = s[:-len(" roi")]
    for pattern, delta in patterns:
        if re.search(pattern, s):
            return today.year + delta
    m = re.search(r"\b(?:nam )?(20\d\d)\b(?! 20\d\d)", s)
    if m and not re.search(rf"\b20\d\d {m[1]}\b", s):
        return int(m[1])
    return None


def parse_period(s: str, today: date, terms: list[str] | None = None) -> str | None:
    """The period code named in a normalised question, relative to `today` (local date)."""
    m = re.search(r"\b(nhiem ky )?(20\d\d) (20\d\d)\b|\bnhiem ky\b", s)
    if m:
        if m[2]:
            return f"{m[2]}-{m[3]}"
        year = _year_from(s, today) or today.year
        for term in terms or []:
            start, _sep, end = term.partition("-")
            if start.isdigit() and end.isdigit() and int(start) <= year <= int(end):
                return term
        return None
    m = re.search(r"\bquy (1|2|3|4|iv|iii|ii|i|mot|nhat|hai|ba|bon|tu)\b(?! (nguoi|doan|dong|trieu))", s)
    if m:
        year = _year_from(s[m.end():], today) or _year_from(s[:m.start()], today) or today.year
        return f"{year}-Q{m[1] if m[1].isdigit() else _ROMAN[m[1]]}"
    m = re.search(r"\bquy (nay|hien tai|truoc|vua qua|sau|toi)\b", s)
    if m:
        q = (today.month - 1) // 3 + 1 + {"truoc": -1, "vua": -1, "sau": 1, "toi": 1}.get(m[1].split()[0], 0)
        year = today.year + (q - 1) // 4
        return f"{year}-Q{(q - 1) % 4 + 1}"
    m = re.search(r"\b(6|sau) thang (dau|cuoi)\b|\bnua (dau|cuoi|sau) nam\b|\bnua nam (dau|cuoi|sau)\b", s)
    if m:
        first = (m[2] or m[3] or m[4]) == "dau"
        year = _year_from(s, today) or today.year
        return f"{year}-H{1 if first else 2}"
    year = _year_from(s, today)
    if year is not None:
        return str(year)
    if re.search(r"\b(ca nam|cuoi nam|trong nam|bao cao nam|dot nam|chi tieu nam|ke hoach nam|hang nam)\b", s):
        return str(today.year)
    return None


# ---------------------------------------------------------------------------- slots


def _phrase_at(tokens: list[str], start: int, phrase: tuple[str, ...]) -> bool:
    """Whether a phrase stands at `start`, allowing one mistyped word (one edit) in phrases of 2+ words."""
    segment = tokens[start:start + len(phrase)]
    if len(segment) < len(phrase):
        return False
    diffs = [(typed, word) for typed, word in zip(segment, phrase) if typed != word]
    if not diffs:
        return True
    if len(diffs) > 1 or len(phrase) < 2:
        return False
    typed, word = diffs[0]
    return (not typed.isdigit() and len(word) >= 3 and within_one(typed, word)
            and (len(phrase) >= 3 or len(word) >= 4))


def _contains(outer: tuple[str, ...], inner: tuple[str, ...]) -> bool:
    n = len(inner)
    return len(outer) > n and any(outer[i:i + n] == inner for i in range(len(outer) - n + 1))


def _find_indicators(tokens: list[str], index: _Index, used: set[int] | None = None) -> list[str]:
    """Indicator codes named in the words, in order.

    Longest phrases first, without overlaps; then a generic match ("đoàn viên") is dropped
    when another named indicator has a phrase that contains it ("kết nạp đoàn viên").
    """
    used = set(used or ())
    found: list[tuple[int, str, tuple[str, ...]]] = []
    for phrase, code in index.phrases:
        n = len(phrase)
        for start in range(len(tokens) - n + 1):
            span = range(start, start + n)
            if not used.intersection(span) and _phrase_at(tokens, start, phrase):
                used.update(span)
                if code:
                    found.append((start, code, phrase))
    named = {code for _s, code, _p in found}
    kept = [
        (start, code) for start, code, phrase in found
        if not any(other != code and any(_contains(q, phrase) for q in index.phrases_of[other]) for other in named)
    ]
    codes: list[str] = []
    for _start, code in sorted(kept):
        if code not in codes:
            codes.append(code)
    return codes


_MEASURE_WORDS = {"nguoi", "tien", "dong", "suat", "can"}


def _find_alternatives(tokens: list[str], index: _Index, chosen: list[str], used: set[int] | None = None) -> list[str]:
    """Indicators not chosen whose phrase matches words of a chosen indicator's phrase (it lost to a longer one)."""
    spans: set[int] = set()
    for phrase, code in index.phrases:
        if code in chosen:
            n = len(phrase)
            for start in range(len(tokens) - n + 1):
                if _phrase_at(tokens, start, phrase):
                    spans.update(range(start, start + n))
    spans -= set(used or ())
    if any(tokens[i] in _MEASURE_WORDS for i in spans):
        return []  # "số người ủng hộ", "tiền ủng hộ": the words already say which one
    found: list[str] = []
    for phrase, code in index.phrases:
        if not code or code in chosen or code in found:
            continue
        n = len(phrase)
        for start in range(len(tokens) - n + 1):
            if set(range(start, start + n)) <= spans and _phrase_at(tokens, start, phrase):
                found.append(code)
                break
    return found


def unit_words(text: str) -> list[str]:
    """The words of a unit name that matter for recognising it (no "xã", "huyện", "CĐCS" …)."""
    return [w for w in _strip_union_words(words(text)) if w not in _ADMIN_WORDS]


def _strip_union_words(tokens: list[str]) -> list[str]:
    """Drop "công đoàn cơ sở" / "công đoàn" that people put before a unit's name."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i:i + 4] == ["cong", "doan", "co", "so"]:
            i += 4
        elif tokens[i:i + 2] == ["cong", "doan"]:
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return out


def _find_units(tokens: list[str], index: _Index) -> tuple[list[str], set[int], str | None]:
    """Units named in the words: (codes, positions of the naming words, words naming no known unit).

    First a whole name (without "xã", "huyện", "CĐCS", and with "Trường", "Công ty" … optional):
    the longest wins, several if tied. Else a part of a name after its type ("Tả Lèng" of
    "Trường Mầm non Tả Lèng"): every unit with the longest such part, narrowed by the types the
    question names ("MN", "trường", "TYT"). A type followed by a name that fits nothing
    ("trường tiểu học Pa Khoang") is returned as the words that named no unit.
    """
    union = set()
    for i in range(len(tokens) - 1):
        if tokens[i:i + 2] == ["cong", "doan"]:
            union.update((i, i + 1) if tokens[i + 2:i + 4] != ["co", "so"] else (i, i + 1, i + 2, i + 3))
    kept = [(i, w) for i, w in enumerate(tokens) if w not in _ADMIN_WORDS and i not in union]
    words_only = [w for _i, w in kept]
    best = 0
    codes: set[str] = set()
    spans: set[int] = set()
    for key, code in index.unit_keys:
        n = len(key)
        if n < best:
            continue
        for start in range(len(words_only) - n + 1):
            if tuple(words_only[start:start + n]) == key:
                if n > best:
                    best, codes, spans = n, set(), set()
                codes.add(code)
                spans.update(range(kept[start][0], kept[start + n - 1][0] + 1))
                break
    if not codes:
        for key, code in index.union_keys:  # "Công đoàn Viên chức (tỉnh)": only after "công đoàn"
            n = len(key)
            for start in range(len(tokens) - n - 1):
                if tokens[start:start + 2] == ["cong", "doan"] and tuple(tokens[start + 2:start + 2 + n]) == key:
                    codes.add(code)
                    spans.update(range(start, start + 2 + n))
    if codes:
        return sorted(codes), spans, None
    return _find_units_by_part(kept, index)


def _type_spans(words_only: list[str]) -> list[tuple[int, int, tuple[str, ...]]]:
    """Unit types named in the words: (start, end, type phrase), longest first, without overlaps."""
    found: list[tuple[int, int, tuple[str, ...]]] = []
    used: set[int] = set()
    for phrase in UNIT_TYPES:
        n = len(phrase)
        for start in range(len(words_only) - n + 1):
            if phrase == ("truong",) and start and words_only[start - 1] in ("moi", "thi", "hien", "quang"):
                continue  # "môi trường", "thị trường": not a school
            if tuple(words_only[start:start + n]) == phrase and not used.intersection(range(start, start + n)):
                used.update(range(start, start + n))
                found.append((start, start + n, phrase))
    return sorted(found)


def _find_units_by_part(kept: list[tuple[int, str]], index: _Index) -> tuple[list[str], set[int], str | None]:
    words_only = [w for _i, w in kept]
    types = _type_spans(words_only)
    best = 0
    codes: set[str] = set()
    span: tuple[int, int] = (0, 0)
    typed = {i for s0, e0, _p in types for i in range(s0, e0)}

    def run_of(start: int, length: int) -> list[str]:
        return words_only[start:start + length]
    for code, (_prefix, core) in index.unit_parts.items():
        length, start = _longest_common_run(words_only, core)
        if typed.intersection(range(start, start + length)) or all(w in _KEYWORD_SET for w in run_of(start, length)):
            continue  # "y tế" of "trạm y tế" names a type, not the "Sở Y tế"
        run = tuple(words_only[start:start + length])
        if length < best or not run or (length < 2 and length < len(core)) or run in index.indicator_ngrams:
            continue
        if length > best:
            best, codes, span = length, set(), (start, start + length)
        codes.add(code)
    if codes:
        named_types = [phrase for s0, e0, phrase in types if e0 <= span[0] or s0 >= span[1]]
        fitting = [c for c in codes if all(_contains_seq(index.unit_parts[c][0], t) for t in named_types)]
        positions = {kept[i][0] for i in range(span[0], span[1])}
        positions |= {kept[i][0] for s0, e0, _p in types for i in range(s0, e0)}
        if fitting:
            return sorted(fitting), positions, None
        return [], positions, " ".join(words_only[types[0][0]:span[1]] if types else words_only[span[0]:span[1]])
    for start, end, phrase in types:
        name = []
        for w in words_only[end:end + 4]:
            if w in index.stop_words:
                break
            name.append(w)
        if not name or (phrase == ("truong",) and name[0] in index.lexicon):
            continue
        if len(phrase) == 1 and phrase[0] in ("so", "phong"):
            continue
        positions = {kept[i][0] for i in range(start, end + len(name))}
        return [], positions, " ".join(phrase + tuple(name))
    for start, end, phrase in types:  # "điện lực nộp chưa": every unit of a rare type
        if phrase in _TYPES_ALONE and (start == 0 or words_only[start - 1] not in ("cac", "nhung")):
            of_type = [c for c, (prefix, _core) in index.unit_parts.items() if _contains_seq(prefix, phrase)]
            if 1 < len(of_type) <= 8:
                return sorted(of_type), {kept[i][0] for i in range(start, end)}, None
    return [], set(), None


def _longest_common_run(query: list[str], core: tuple[str, ...]) -> tuple[int, int]:
    """Length and start (in the query) of the longest run of words the query shares with a name part."""
    best, where = 0, 0
    for i in range(len(query)):
        for j in range(len(core)):
            n = 0
            while i + n < len(query) and j + n < len(core) and query[i + n] == core[j + n]:
                n += 1
            if n > best:
                best, where = n, i
    return best, where


def _contains_seq(outer: tuple[str, ...], inner: tuple[str, ...]) -> bool:
    n = len(inner)
    return any(outer[i:i + n] == inner for i in range(len(outer) - n + 1))


# Chat tails that never change the meaning, taken off the end of a question.
_TAILS = {"ad", "admin", "oi", "nhe", "nha", "a", "ah", "ak", "vay", "voi", "di", "the", "khong"}
_KEEP_BEFORE_TAIL = {"chua", "roi", "duoc", "phai", "dung"}  # "… rồi à", "… chưa vậy": the tail stays after them
# "Dạ" (yes, politely) opens a sentence before a pronoun or a request; otherwise "da" is "đã".
_DA_PARTICLE = re.compile(r"^da (cho|em|toi|anh|chi|thua|vang|minh|con|xin|ad|vay|a)\b")
_FOLLOW_UP = re.compile(r"^(the |vay |con |the con |vay con )?con\b|\bthi sao$|^the con\b|^vay con\b|^the thi\b")
# "tt" is "tuyên truyền" next to these words (else it is "thị trấn", a place word)
_TT_BEFORE = {"chinh", "phap", "cho", "duoc", "nguoi", "doan", "chu", "nghi", "ve", "quy", "dv"}
_TT_AFTER = {"le", "tieu", "do", "da", "qua"}


def _strip_tails(tokens: list[str]) -> list[str]:
    out = list(tokens)
    while len(out) > 1 and out[-1] in _TAILS:
        if out[-1] in ("khong", "voi", "di", "the") and len(out) > 1:
            break  # "có … không", "với", "đi", "thế" can carry meaning; only end particles go
        if out[-1] in ("a", "ah", "ak") and out[-2] in _KEEP_BEFORE_TAIL:
            break  # "… rồi à" asks whether it is done ("năm rồi" would be last year)
        out.pop()
    return out


def _normalise_tokens(tokens: list[str], raw: str) -> list[str]:
    """Tails off, a leading "dạ" off, "tt" read as "tuyên truyền" where it is."""
    tokens = _strip_tails(tokens)
    joined = " ".join(tokens)
    raw_start = raw.strip().lower()
    if tokens[:1] == ["da"] and (raw_start.startswith("dạ") or _DA_PARTICLE.match(joined)) and len(tokens) > 1:
        tokens = tokens[1:]
    out: list[str] = []
    for i, token in enumerate(tokens):
        if token == "tt":
            after = tokens[i + 1] if i + 1 < len(tokens) else ""
            before = tokens[i - 1] if i else ""
            if after in _TT_BEFORE or before in _TT_AFTER or not after:
                out += ["tuyen", "truyen"]
                continue
        out.append(token)
    return out


# Words after "so với" that name the other period relative to the asked one.
_PREVIOUS = re.compile(r"^(quy|nam|ky|dot|thang|lan|nua nam|6 thang|sau thang) (truoc|ngoai|vua qua|roi)\b"
                       r"|^(ky|lan|dot) truoc\b")
_SAME_LAST_YEAR = re.compile(r"^cung ky( (cua )?(nam|quy) (truoc|ngoai|roi))?\b")
_PERIOD_PHRASE = re.compile(
    r"^(quy (1|2|3|4|i|ii|iii|iv|mot|hai|ba|bon|nay|truoc)|(6|sau) thang (dau|cuoi)|nua (dau|cuoi|sau) nam"
    r"|nam (20\d\d|nay|ngoai|truoc)|20\d\d)( nam (20\d\d|nay|ngoai|truoc)| 20\d\d)?\b")


def _compare_slot(s: str) -> tuple[str | None, str]:
    """The other period of a comparison ("previous", "last_year" or a phrase to read as a period)
    and the question without it (where the asked period is read)."""
    if _SAME_LAST_YEAR.search(s) or re.search(r"\bcung ky\b", s):
        m = re.search(r"\bcung ky( (cua )?(nam|quy) (truoc|ngoai|roi))?\b", s)
        assert m is not None
        return "last_year", s[:m.start()] + s[m.end():]
    marks = [m for m in re.finditer(r"\b(so voi|hon)\b ?", s)]
    if not marks:
        return "previous", s
    m = marks[-1] if marks[-1][1] == "so voi" or not any(x[1] == "so voi" for x in marks) else \
        [x for x in marks if x[1] == "so voi"][-1]
    side = s[m.end():]
    found = _PREVIOUS.match(side)
    if found:
        return "previous", s[:m.end()] + side[found.end():]
    found = _PERIOD_PHRASE.match(side)
    if found:
        return "period:" + found.group(0), s[:m.end()] + side[found.end():]
    return "previous", s


def parse(text: str, vocab: Vocabulary, today: date) -> Intent:
    """Read a question: its intent and slots (see the module docstring)."""
    index = vocab.index
    folded = fold(text)
    unit_code: str | None = None
    round_code: str | None = None
    for code_folded, code in index.round_codes.items():
        pattern = r"\b" + r"[ _-]?".join(map(re.escape, re.split(r"[-_ ]", code_folded))) + r"\b"
        m = re.search(pattern, folded)
        if m:
            round_code = code
            folded = folded[:m.start()] + " " + folded[m.end():]
            break
    for m in _UNIT_CODE.finditer(folded):
        candidate = (f"{m[1]}_{m[2]}" if m[1] else m[3]).upper()
        if candidate in index.units:
            unit_code = candidate
            folded = folded[:m.start()] + " " + folded[m.end():]
            break
    tokens: list[str] = []
    for word in words(folded):
        tokens.extend(index.correct(word))
    # a correction may have produced an abbreviation's parts; expand once more
    tokens = [w for t in tokens for w in ABBREVIATIONS.get(t, t).split()]
    if tokens:
        tokens = _normalise_tokens(tokens, text)
    s = " ".join(tokens)
    compare: str | None = None
    period_text = s
    if _COMPARE.search(s) and not _NOT_COMPARE.search(s):
        compare, period_text = _compare_slot(s)
        if compare.startswith("period:"):
            compare = parse_period(compare[len("period:"):], today, index.terms) or "previous"
    period = parse_period(period_text, today, index.terms)
    candidates: list[str] = []
    unit_span: set[int] = set()
    unit_query: str | None = None
    if unit_code is None:
        candidates, unit_span, unit_query = _find_units(tokens, index)
        if len(candidates) == 1:
            unit_code = candidates[0]
            candidates = []
    indicators = _find_indicators(tokens, index, unit_span)
    alternatives = _find_alternatives(tokens, index, indicators, unit_span) if len(indicators) == 1 else []
    if round_code is not None and period is None:
        period = next((r.period for r in index.rounds if r.code == round_code), None)
    has_subject = bool(indicators or unit_code or candidates or round_code or unit_query)
    name = _intent_name(s, has_subject, period is not None)
    weak = False
    follow = bool(_FOLLOW_UP.search(s)) and bool(has_subject or period or compare)
    if follow and name in ("progress", "unknown", "smalltalk", "help", "target") and not _explicit(s):
        name, weak = "progress", True
    elif name == "unknown" and _BARE_PROGRESS.search(s):
        name = "progress"  # "được bao nhiêu rồi?": progress, about what was asked before
    elif name == "progress" and not _PROGRESS.search(s) and not _TARGET.search(s):
        weak = True  # only a subject was named
    if name in ("unknown", "smalltalk", "help"):
        return Intent(name)
    return Intent(name, tuple(indicators), period, unit_code, tuple(candidates), round_code,
                  order=ranking_order(s) if name == "ranking" else None,
                  compare=compare if name == "compare" else None, unit_query=unit_query, weak=weak,
                  alternatives=tuple(alternatives))


_BARE_PROGRESS = re.compile(r"^(da )?(dat )?(duoc|lam duoc|thu duoc) (bao nhieu|may)( roi)?$|^bao nhieu roi$")


def _explicit(s: str) -> bool:
    """Whether a follow-up carries its own intent words ("còn thiếu bao nhiêu", "còn cao nhất")."""
    return bool(_REMAINING_STRONG.search(s) or ranking_order(s) or _SUBMITTED.search(s) or _MISSING.search(s)
                or _DEADLINE.search(s) or (_COMPARE.search(s) and not _NOT_COMPARE.search(s))
                or re.search(r"\b(chi tieu|tien do|dat duoc|duoc bao nhieu)\b", s))


# ---------------------------------------------------------------------------- follow-ups

CARRY_INTENTS = ("target", "progress", "remaining", "submitted", "missing_units", "ranking", "compare")


def context_of(intent: Intent) -> dict:
    """What a question leaves for the next one (JSON-friendly)."""
    return {"intent": intent.name, "indicators": list(intent.indicators), "period": intent.period,
            "unit": intent.unit, "order": intent.order, "compare": intent.compare}


def follow_up(intent: Intent, context: dict | None) -> Intent:
    """Complete a question with the context of the previous one, replacing only what it names.

    A question that names only a period, an indicator or a unit ("còn quý 3 thì sao?", "thế còn
    quỹ xã hội?") asks the previous question again about it; a question with its own intent but
    no subject ("còn thiếu bao nhiêu?", "còn cao nhất?") takes the previous subject.
    """
    if not context or intent.name not in CARRY_INTENTS or context.get("intent") not in CARRY_INTENTS:
        return intent
    bare = not (intent.indicators or intent.period or intent.names_unit or intent.round)
    if not intent.weak and not bare:
        return intent
    name = context["intent"] if intent.weak else intent.name
    changes: dict = {"name": name, "weak": False}
    if not intent.indicators:
        changes["indicators"] = tuple(context.get("indicators") or ())
    if not intent.period and not intent.round:
        changes["period"] = context.get("period")
    if not intent.names_unit:
        changes["unit"] = context.get("unit")
    if name == "ranking":
        changes["order"] = intent.order or context.get("order") or "all"
    if name == "compare":
        changes["compare"] = intent.compare or context.get("compare") or "previous"
    return replace(intent, **changes)


