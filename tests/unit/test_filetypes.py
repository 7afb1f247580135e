"""Documents are recognised by their content (magic bytes), whatever their name claims."""

from __future__ import annotations

import io
import zipfile

from bot import filetypes


def office_zip(*names: str, mimetype: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if mimetype is not None:
            archive.writestr("mimetype", mimetype)
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


DOCX = office_zip("[Content_Types].xml", "_rels/.rels", "word/document.xml")
XLSX = office_zip("[Content_Types].xml", "xl/workbook.xml")
ODT = office_zip("content.xml", mimetype=b"application/vnd.oasis.opendocument.text")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"This program cannot be run in DOS mode"


def test_formats_by_content():
    assert filetypes.document_format(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj") == filetypes.PDF
    assert filetypes.document_format(DOCX) == filetypes.DOCX
    assert filetypes.document_format(XLSX) == filetypes.XLSX
    assert filetypes.document_format(ODT) == filetypes.ODT
    assert filetypes.document_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100) == filetypes.OLE


def test_programs_archives_and_macros_are_not_documents():
    assert filetypes.document_format(EXE) is None
    assert filetypes.document_format(b"") is None
    assert filetypes.document_format(office_zip("setup.exe", "readme.txt")) is None  # a plain zip
    assert filetypes.document_format(office_zip("[Content_Types].xml", "word/document.xml",
                                                "word/vbaProject.bin")) is None  # a macro document
    assert filetypes.document_format(b"PK\x03\x04 broken zip") is None
    assert filetypes.document_format(b"<html><script>alert(1)</script>") is None


def test_the_name_must_agree_with_the_content():
    assert filetypes.extension_fits("cong-van.PDF", filetypes.PDF)
    assert filetypes.extension_fits("bao-cao.doc", filetypes.OLE)
    assert not filetypes.extension_fits("cong-van.pdf", filetypes.DOCX)
    assert filetypes.extension_fits("congvan", filetypes.DOCX)  # no extension: nothing to contradict
