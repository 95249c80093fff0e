"""Which kind of file the bytes are: magic numbers first, then the name, then the mime.

DOCX, XLSX and OFD are all zips: the member that only that kind has decides (word/document.xml,
xl/workbook.xml, OFD.xml). Legacy DOC, XLS and WPS are all OLE2 compound files: the name
decides first (Kingsoft .wps files also carry a WordDocument stream), then the stream names.
"""

from __future__ import annotations

import io
import posixpath
import zipfile

from .limits import MAX_ZIP_MEMBERS
from .safezip import zip_entry_count

MIMES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "ofd": "application/ofd",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "wps": "application/vnd.ms-works",
    "et": "application/vnd.ms-excel",
    "zip": "application/zip",
    "rtf": "application/rtf",
}

_BY_MIME = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
    "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.ms-works": "wps",
    "application/kswps": "wps",
    "application/wps-office.wps": "wps",
    "application/ofd": "ofd",
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "application/rtf": "rtf",
    "text/rtf": "rtf",
    MIMES["docx"]: "docx",
    MIMES["xlsx"]: "xlsx",
    MIMES["pptx"]: "pptx",
}
_EXTENSIONS = {
    "pdf", "docx", "xlsx", "pptx", "ofd", "doc", "xls", "ppt", "wps", "et", "zip", "rtf",
}  # fmt: skip
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def _extension(name: str | None) -> str | None:
    if not name:
        return None
    base = posixpath.basename(name.split("?", 1)[0].replace("\\", "/")).lower()
    ext = base.rsplit(".", 1)[-1] if "." in base else ""
    return ext if ext in _EXTENSIONS else None


def _from_mime(mime: str | None) -> str | None:
    if not mime:
        return None
    return _BY_MIME.get(mime.split(";")[0].strip().lower())


def _zip_kind(data: bytes) -> str | None:
    count = zip_entry_count(data)
    if count is None or count > MAX_ZIP_MEMBERS:
        return None
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return None
    lowered = {name.lower().lstrip("/") for name in names}
    if "word/document.xml" in lowered:
        return "docx"
    if "xl/workbook.xml" in lowered:
        return "xlsx"
    if "ofd.xml" in lowered:
        return "ofd"
    if "ppt/presentation.xml" in lowered:
        return "pptx"
    return "zip"


def _ole_kind(data: bytes) -> str:
    head = data[: 1 << 20]  # directory sectors of small files sit in the first megabyte
    if "WordDocument".encode("utf-16-le") in head:
        return "doc"
    if "Workbook".encode("utf-16-le") in head or "Book\x00".encode("utf-16-le") in head:
        return "xls"
    if "PowerPoint Document".encode("utf-16-le") in head:
        return "ppt"
    return "ole"


def sniff(data: bytes, name: str | None = None, mime: str | None = None) -> str:
    """The kind: pdf, docx, xlsx, pptx, ofd, doc, xls, ppt, wps, et, ole, rtf, zip or unknown."""
    ext = _extension(name)
    declared = _from_mime(mime)
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(_ZIP_MAGICS):
        kind = _zip_kind(data)
        if kind is not None and kind != "zip":
            return kind
        # A zip we cannot list (truncated) or without a marker member: trust a zip-based name.
        for hint in (ext, declared):
            if hint in ("docx", "xlsx", "pptx", "ofd"):
                return hint
        return "zip"
    if data.startswith(_OLE2):
        for hint in (ext, declared):
            if hint in ("wps", "et"):
                return hint
        kind = _ole_kind(data)
        if kind == "ole":
            for hint in (ext, declared):
                if hint in ("doc", "xls", "ppt"):
                    return hint
        return kind
    if b"%PDF-" in data[:1024]:  # readers accept junk before the header
        return "pdf"
    if data.lstrip()[:5] == b"{\\rtf":
        return "rtf"
    return ext or declared or "unknown"
