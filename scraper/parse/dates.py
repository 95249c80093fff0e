"""Printed dates to ISO 8601 at the precision printed, local time as printed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

DATE = re.compile(
    r"(?<![\d])((?:19|20)\d{2})\s*([-/.年])\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?![\d])\s*日?"
    r"(?:\s*[T ]?\s*(\d{1,2})\s*[:：时]\s*(\d{2})(?:\s*[:：分]\s*(\d{2}))?)?"
)
# Labels that say "this is when it was published" (as opposed to 成文日期, 更新时间...).
PUBLISH_LABEL = re.compile(
    r"(?:发布|发表|发稿|刊发|出版|上线)?(?:时间|日期)\s*+[:：]?\s*+$|发布\s*+[:：于]?\s*+$"
)  # \s*+: spaces given back to the next \s* would make a long run fail in quadratic time


@dataclass(frozen=True)
class Found:
    """A date found in a line: ISO value and where it sat."""

    iso: str
    start: int
    end: int


def _valid(y: int, mo: int, d: int) -> bool:
    """A day of the calendar (not 2022-02-30) in the years of the web."""
    if not 1990 <= y <= 2040:
        return False
    try:
        date(y, mo, d)
    except ValueError:
        return False
    return True


def find_dates(text: str) -> list[Found]:
    """Every plausible date in ``text``, converted to ISO."""
    out = []
    for m in DATE.finditer(text):
        y, sep, mo, d, hh, mm, ss = m.groups()
        if not _valid(int(y), int(mo), int(d)):
            continue
        if sep == "." and not hh and "." in text[m.end() : m.end() + 1]:
            continue  # version numbers like 2020.1.2.3
        iso = f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"
        end = m.end()
        if hh is not None and mm is not None and int(hh) < 24 and int(mm) < 60:
            iso += f"T{int(hh):02d}:{mm}"
            if ss is not None and int(ss) < 60:
                iso += f":{ss}"
        else:
            end = m.end(4) + (1 if text[m.end(4) : m.end(4) + 1] == "日" else 0)
        out.append(Found(iso, m.start(), end))
    return out


def first_date(text: str) -> Found | None:
    found = find_dates(text)
    return found[0] if found else None
