"""Caps on what one attachment may cost: hostile or broken files must end fast and small.

Each cap turns into a one-line ``error`` (or a ``truncated`` flag), never an exception.
"""

from __future__ import annotations

import time

# Real government attachments are rarely above 20 MB (scans excepted, and those hold no text);
# reading more into memory for text we cannot get is not worth it.
MAX_INPUT_BYTES = 50 * 1024 * 1024

# A zip member is inflated only if its declared size is under this. The declared size is also
# a hard limit (zipfile stops there), so a member that lies about it cannot inflate further.
# The largest document.xml or sheet XML seen in real notices is a few MB.
MAX_MEMBER_BYTES = 64 * 1024 * 1024

# All members read from one archive together (a zip of many DOCX, or a DOCX whose sheets are
# each under the member cap): bounds the total work of a zip bomb made of many small bombs.
MAX_TOTAL_INFLATED = 256 * 1024 * 1024

# Entries listed or opened in one archive: a zip with a million empty entries is cheap to
# send and costs a ZipInfo object each.
MAX_ZIP_MEMBERS = 10_000

# Pages read from one PDF. Notices and their tables fit in far fewer; a 5,000-page PDF is a
# compilation whose first pages identify it well enough for search.
MAX_PDF_PAGES = 300

# Characters of text kept per attachment (about 1-2 MB of UTF-8 for Chinese). Beyond this the
# text is cut and ``truncated`` is set: the text feeds a search index, not a reader.
MAX_CHARS = 1_000_000

# Wall-clock budget for one attachment, checked between pages, paragraphs and sheet rows
# (a single page cannot be interrupted): stops a slow-but-not-infinite file from stalling a crawl.
MAX_SECONDS = 30.0


class Unreadable(Exception):
    """The file cannot be read; the message is the one-line reason."""


class LimitExceeded(Unreadable):
    """A cap was reached; the message is the one-line reason."""


class Budget:
    """Characters and time left for one attachment: readers stop when ``spent`` turns true."""

    def __init__(self, max_chars: int | None = None, max_seconds: float | None = None) -> None:
        self.chars_left = MAX_CHARS if max_chars is None else max_chars
        seconds = MAX_SECONDS if max_seconds is None else max_seconds
        self.deadline = time.monotonic() + seconds
        self.truncated = False
        self.timed_out = False

    def take(self, text: str) -> str:
        """The part of ``text`` that still fits; sets ``truncated`` when something was cut."""
        if len(text) <= self.chars_left:
            self.chars_left -= len(text)
            return text
        kept = text[: max(self.chars_left, 0)]
        self.chars_left = 0
        self.truncated = True
        return kept

    @property
    def spent(self) -> bool:
        """No characters or no time left (what was read so far is kept, marked truncated)."""
        if self.chars_left <= 0:
            self.truncated = True
            return True
        if time.monotonic() > self.deadline:
            self.truncated = self.timed_out = True
            return True
        return False
