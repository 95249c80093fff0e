"""Text out of attachments (附件): PDF, DOCX, XLSX, OFD; legacy Office kinds named, not read.

``extract(data, name=..., mime=...)`` never raises for bad bytes: whatever goes wrong becomes
a one-line ``error`` with ``text=None``. The kind comes from the bytes first (magic numbers,
and for zips the member that marks DOCX/XLSX/OFD), then the name's extension, then the
declared mime: servers often send ``application/octet-stream`` and names lie less than mimes
but more than bytes. Caps (limits.py) bound size, inflation, pages, characters and time.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

from .limits import MAX_INPUT_BYTES, Budget, LimitExceeded, Unreadable
from .safezip import SafeZip
from .sniff import MIMES, sniff

__all__ = ["MIMES", "Extracted", "extract", "sniff"]

# Kinds recognised but not read (legacy OLE2 needs a converter such as LibreOffice).
_LEGACY = {
    "doc": "legacy Word .doc: no text extractor",
    "xls": "legacy Excel .xls: no text extractor",
    "ppt": "legacy PowerPoint .ppt: no text extractor",
    "wps": "WPS Office .wps: no text extractor",
    "et": "WPS spreadsheet .et: no text extractor",
    "ole": "OLE2 compound file of unknown kind: no text extractor",
    "rtf": "RTF: no text extractor",
    "pptx": "PowerPoint .pptx: no text extractor",
}


@dataclass(frozen=True)
class Extracted:
    """What one attachment yielded. ``text`` is None exactly when ``error`` says why."""

    kind: str
    mime: str
    text: str | None
    error: str | None
    truncated: bool = False


def extract(data: bytes, *, name: str | None = None, mime: str | None = None) -> Extracted:
    """The attachment's kind and text; never raises for bad bytes."""
    try:
        kind = sniff(data[:MAX_INPUT_BYTES] if len(data) > MAX_INPUT_BYTES else data, name, mime)
    except Exception:  # sniffing only looks; should it still fail, the kind is just unknown
        kind = "unknown"
    out_mime = MIMES.get(kind, (mime or "application/octet-stream").split(";")[0].strip())
    if len(data) > MAX_INPUT_BYTES:
        return Extracted(kind, out_mime, None, f"{len(data)} bytes: over the {MAX_INPUT_BYTES} cap")
    if not data:
        return Extracted(kind, out_mime, None, "empty file")
    if kind in _LEGACY:
        return Extracted(kind, out_mime, None, _LEGACY[kind])
    budget = Budget()
    try:
        text = _read(kind, data, budget)
    except Unreadable as exc:
        return Extracted(kind, out_mime, None, " ".join(str(exc).split()))
    except zipfile.BadZipFile as exc:
        reason = " ".join(str(exc).split())
        return Extracted(kind, out_mime, None, f"broken zip container: {reason}")
    except Exception as exc:  # any library failure on hostile bytes is a result, not a crash
        return Extracted(kind, out_mime, None, _one_line(exc))
    if text is None:
        return Extracted(kind, out_mime, None, "unknown file type: not PDF, Office, OFD or ZIP")
    if not text.strip():
        reason = "no text layer (a scanned image?)" if kind in ("pdf", "ofd") else "no text"
        if budget.timed_out:
            reason = "took longer than the time cap before any text"
        return Extracted(kind, out_mime, None, reason)
    return Extracted(kind, out_mime, text, None, budget.truncated)


def _one_line(exc: BaseException) -> str:
    message = " ".join(str(exc).split()) or "no message"
    return f"{type(exc).__name__}: {message}"[:300]


def _read(kind: str, data: bytes, budget: Budget, parent: SafeZip | None = None) -> str | None:
    if kind == "pdf":
        from .pdf import pdf_text

        return pdf_text(data, budget)
    if kind in ("docx", "xlsx", "ofd", "zip"):
        zf = SafeZip(data, parent)
        if kind == "docx":
            from .ooxml import docx_text

            return docx_text(zf, budget)
        if kind == "xlsx":
            from .ooxml import xlsx_text

            return xlsx_text(zf, budget)
        if kind == "ofd":
            from .ofd import ofd_text

            return ofd_text(zf, budget)
        return _zip_text(zf, budget)
    return None


def _zip_text(zf: SafeZip, budget: Budget) -> str:
    """A plain ZIP: its member names, then the text of each member of a known kind.

    One level only: a zip inside the zip is listed, not opened. Members share the archive's
    inflation caps and the attachment's character and time budget; a member that cannot be
    read gets its reason in brackets, a cap on the whole archive fails it.
    """
    from .safezip import member_name

    names = zf.names()
    out = [budget.take("\n".join(names) + "\n")]
    for info in zf.infos:
        if budget.spent:
            break
        if info.is_dir():
            continue
        member = zf.read(info)
        kind = sniff(member, member_name(info), None)
        if kind in _LEGACY or kind in ("zip", "unknown"):
            continue
        try:
            text = _read(kind, member, budget, zf)
        except LimitExceeded:
            raise  # a cap on the whole archive: the archive is the problem, not one member
        except Exception as exc:
            out.append(budget.take(f"\n## {member_name(info)}\n({_one_line(exc)})\n"))
            continue
        if text and text.strip():
            out.append(budget.take(f"\n## {member_name(info)}\n"))
            out.append(text)
    return "".join(out)
