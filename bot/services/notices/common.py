"""What every part of notices shares: limits, statuses, audience kinds, who may broadcast."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from bot.i18n import N_, _
from bot.models import Person, Role, Sector


MAX_BODY = 4000  # characters a notice text may have (a Telegram message holds 4096)
CAPTION_LIMIT = 1024  # Telegram's limit for a document caption
DOCUMENT_EXTENSIONS = (".pdf", ".doc", ".docx", ".odt", ".xls", ".xlsx")
BROADCASTERS = (Role.STAFF, Role.OFFICER, Role.ADMIN)
FAILED_LISTED = 30  # unreachable recipients named in the final report (the rest are counted)
CHUNK = 500

SECTOR_LABELS = {
    Sector.HCSN.value: N_("public administration and services"),
    Sector.DNNN.value: N_("state-owned enterprises"),
    Sector.NGOAINN.value: N_("non-state enterprises"),
}


class AudienceKind(StrEnum):
    CHAIRS = "chairs"  # every CĐCS chair in the sender's subtree
    UNIONS = "unions"  # the chairs under chosen upper-level unions  {"units": [unit ids]}
    SECTOR = "sector"  # the chairs of the CĐCS of one sector          {"sector": "hcsn"}
    OFFICERS = "officers"  # the officers of upper-level unions
    UNITS = "units"  # the chairs and officers of listed units          {"codes": [unit codes]}


class NoticeStatus(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    SENT = "sent"  # every recipient dealt with; the final report is queued
    CANCELLED = "cancelled"


def can_broadcast(person: Person | None) -> bool:
    return person is not None and person.role in BROADCASTERS


def sector_label(sector: str | None) -> str:
    return _(SECTOR_LABELS[sector]) if sector in SECTOR_LABELS else (sector or "")


def is_document(file_name: str | None, mime_type: str | None = None) -> bool:
    """A file staff may attach: PDF, Word (and a few office formats)."""
    name = (file_name or "").lower()
    if name.endswith(DOCUMENT_EXTENSIONS):
        return True
    return (mime_type or "") in ("application/pdf", "application/msword",
                                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document")


def chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
