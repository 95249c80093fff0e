"""PDF text with PDFium (pypdfium2): the only module that imports it.

Chosen by measurement (bench/documents.py): on the real files it found every expected phrase
(pypdf and pdfminer.six split a vertical CJK title into one character per line), read
ToUnicode CJK as well as they do, and was 6-18x (pypdf) and 27-80x (pdfminer.six) faster over
three runs, with less memory. It decrypts AES files itself (pypdf needs the cryptography
package). PDFium is C++ fuzzed upstream; it is not thread-safe, so each call holds one lock,
and it reads at most MAX_PDF_PAGES pages.
"""

from __future__ import annotations

import threading

import pypdfium2 as pdfium  # type: ignore[import-untyped]

from .limits import MAX_PDF_PAGES, Budget, Unreadable

_LOCK = threading.Lock()


def pdf_text(data: bytes, budget: Budget) -> str:
    """Text of the first MAX_PDF_PAGES pages, a blank line between pages."""
    with _LOCK:
        try:
            doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            reason = str(exc)
            if "password" in reason.lower():
                raise Unreadable("encrypted PDF: a password is needed to open it") from None
            raise Unreadable(f"unreadable PDF: {reason}") from None
        try:
            pages = len(doc)
            out: list[str] = []
            failed = 0
            for index in range(min(pages, MAX_PDF_PAGES)):
                if budget.spent:
                    break
                try:
                    text = _page_text(doc, index)
                except pdfium.PdfiumError:
                    failed += 1  # one broken page does not lose the others
                    continue
                if text:
                    out.append(budget.take(text + "\n\n"))
            if pages > MAX_PDF_PAGES:
                budget.truncated = True
            if failed and not out:
                raise Unreadable(f"unreadable PDF: {failed} of {pages} pages failed")
            return "".join(out)
        finally:
            doc.close()


def _page_text(doc: pdfium.PdfDocument, index: int) -> str:
    page = doc[index]
    try:
        textpage = page.get_textpage()
        try:
            text: str = textpage.get_text_range()
        finally:
            textpage.close()
    finally:
        page.close()
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()
