"""What every part of notices shares: limits, statuses, audience kinds, who may broadcast."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from enum import StrEnum

from bot import filetypes
from bot.i18n import N_, _
from bot.messages import FileRef
from bot.models import Person, Role, Sector

log = logging.getLogger(__name__)

MAX_BODY = 4000  # characters a notice text may have (channels split longer messages themselves)
DOCUMENT_EXTENSIONS = (".pdf", ".doc", ".docx", ".odt", ".xls", ".xlsx")
BROADCASTERS = (Role.STAFF, Role.OFFICER, Role.ADMIN)
FAILED_LISTED = 30  # unreachable recipients named in the final report (the rest are counted)
CHUNK = 500
MAX_FILE_BYTES = 20 * 1024 * 1024  # the largest file a bot may download from Telegram

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
    QUEUING = "queuing"  # "Gửi" pressed on a large notice: a background job is queueing its recipients
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


class FileProblem(StrEnum):
    NOT_DOCUMENT = "not_document"  # by its name or type, or by its content
    MISMATCH = "mismatch"  # the content is a document, but not the one its name says
    TOO_BIG = "too_big"
    UNREADABLE = "unreadable"  # the channel could not hand over the content


def check_document(file: FileRef) -> tuple[str | None, FileProblem | None]:
    """The document format of an attachment judged by its content, or the problem with it."""
    if not is_document(file.file_name, file.mime_type):
        return None, FileProblem.NOT_DOCUMENT
    if file.size is not None and file.size > MAX_FILE_BYTES:
        return None, FileProblem.TOO_BIG
    if file.read is None:
        return None, FileProblem.UNREADABLE
    try:
        content = file.read()
    except Exception:  # a network or platform error while downloading: ask to send it again
        log.warning("could not download file %s", file.file_id, exc_info=True)
        return None, FileProblem.UNREADABLE
    fmt = filetypes.document_format(content)
    if fmt is None:
        return None, FileProblem.NOT_DOCUMENT
    if not filetypes.extension_fits(file.file_name, fmt):
        return fmt, FileProblem.MISMATCH
    return fmt, None


def chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
