"""What a file really is, by its content (magic bytes), not by the name or type it claims.

A notice relays a staff member's file to hundreds of chairs: a program renamed
``cong-van.pdf`` must not go out. PDF starts with ``%PDF-``; DOCX, XLSX and ODT are zip
archives holding ``word/``, ``xl/`` or an OpenDocument ``mimetype``; the old Word and
Excel formats are OLE compound files. The name's extension must agree with the content.
"""

from __future__ import annotations

import io
import zipfile

PDF = "pdf"
DOCX = "docx"
XLSX = "xlsx"
ODT = "odt"
OLE = "ole"  # .doc / .xls (Office 97–2003)

EXTENSIONS = {PDF: (".pdf",), DOCX: (".docx",), XLSX: (".xlsx",), ODT: (".odt",), OLE: (".doc", ".xls")}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODT_MIME = b"application/vnd.oasis.opendocument.text"


def document_format(content: bytes) -> str | None:
    """The office format of `content` (PDF, DOCX, XLSX, ODT, OLE), or None for anything else."""
    if b"%PDF-" in content[:1024]:  # readers accept a few bytes of junk before the header
        return PDF
    if content.startswith(_OLE_MAGIC):
        return OLE
    if not content.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.read("mimetype").strip() == _ODT_MIME:
                return ODT
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, NotImplementedError):
        return None
    if "[Content_Types].xml" not in names or any(n.endswith("vbaProject.bin") for n in names):
        return None  # not Office Open XML, or one carrying macros
    if any(n.startswith("word/") for n in names):
        return DOCX
    if any(n.startswith("xl/") for n in names):
        return XLSX
    return None


def extension_fits(file_name: str | None, fmt: str) -> bool:
    """True when the name ends like its content (a name without an extension fits anything)."""
    name = (file_name or "").lower()
    if "." not in name:
        return True
    return name.endswith(EXTENSIONS.get(fmt, ()))
