"""Full-text search for Chinese without a custom tokenizer: overlapping bigrams.

FTS5's trigram tokenizer cannot match terms under three characters (党建, 纪委), and a plain
sqlite3 or Datasette user cannot load a custom tokenizer. So the archive indexes text that
Python has already cut: every run of CJK characters becomes its overlapping bigrams followed by
its last character (``纪委书记`` -> ``纪委 委书 书记 记``), other text stays as words, and FTS5's
stock ``unicode61`` tokenizer splits that on spaces.

A query becomes an FTS5 phrase of the same tokens, so a term of any length matches exactly
where it occurs as a substring (within one CJK run): ``党建`` -> ``"党建"``, ``纪委书记`` ->
``"纪委 委书 书记"`` (the bigrams in a row are the substring). A term ending in one CJK character
after no other needs a prefix match: ``党`` -> ``"党"*`` (a bigram starting with 党, or 党 ending a
run), which the index answers from its one-character prefix index (``prefix='1'``) as one list,
not a merge of every 党X bigram's. The run's last character is indexed on its own so that a
one-character term finds it at the end of a run. A two-character word is itself a token, which
is why Datasette's stock search box finds 党建 with no help.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

_CJK_RANGES = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)]
_CJK = "".join(f"{chr(low)}-{chr(high)}" for low, high in _CJK_RANGES)


@cache
def _is_cjk() -> np.ndarray:
    """The CJK lookup table, made on first use: reading (search, show) needs no numpy."""
    from scraper.archive import vectors

    return vectors.char_table(_CJK_RANGES)


_NOT_WORD = re.compile(r"\W+")
_CJK_RUN = re.compile(f"[{_CJK}]+")
# What unicode61 would keep as a token: letters and digits outside the CJK ranges.
_WORD = re.compile(rf"[^\W{_CJK}]+", re.UNICODE)
_SEGMENT = re.compile(rf"[{_CJK}]+|[^\W{_CJK}]+", re.UNICODE)


def _run_tokens(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]


def tokens(text: str) -> list[str]:
    """The tokens the index holds for ``text``, in order.

    What is not a word character goes first, as in :func:`index_text`'s array passes: the CJK
    ranges hold unassigned code points (U+FADA), which are not word characters.
    """
    out: list[str] = []
    for segment in _SEGMENT.findall(_NOT_WORD.sub(" ", text)):
        if _CJK_RUN.fullmatch(segment):
            out.extend(_run_tokens(segment))
        else:
            out.append(segment.lower())
    return out


# Below this many characters (a title) token by token is cheaper than the array passes, whose
# fixed cost is some 25 us: 6 us instead of 25 for a 20-character title.
_SHORT = 100


# How much of a text is indexed. FTS5 holds one row's terms in memory until the row is
# written: a 10 MB body of 3 million characters took 400 MB and 10 s to index. Real articles,
# a government work report included, are far shorter; the body itself is always stored whole.
INDEX_CHARS = 500_000


def index_text(text: str | None) -> str:
    """The text stored in the FTS5 table for ``text``: its :func:`tokens` between spaces.

    Only the first ``INDEX_CHARS`` characters are indexed (a term past them is not found).

    A body is built in a few C-level passes rather than token by token (it runs for every
    saved article): what is not a word character becomes a space, the text is lowercased as
    :func:`tokens` lowercases words, and the CJK runs become spaced bigrams. Either way its
    ``split()`` is exactly ``tokens(text)`` (tests/test_textindex.py checks that).
    """
    if not text:
        return ""
    text = text[:INDEX_CHARS]
    if len(text) < _SHORT:
        return " ".join(tokens(text))
    from scraper.archive import vectors

    return vectors.bigram_spaced(_NOT_WORD.sub(" ", text).lower(), _is_cjk())


# The query syntax, as a search box user expects it: ``OR`` between two terms (either), ``NOT
# term`` or ``-term`` (excluded), ``title:term`` (in the title only). Terms side by side must
# all match; OR binds tighter than that (``党建 纪委 OR 监委``: 党建, and 纪委 or 监委).
OR = "OR"
NOT = "NOT"
TITLE = "title:"


@dataclass(frozen=True)
class Term:
    """One term of a query: its text, whether it is excluded, whether only titles count."""

    text: str
    excluded: bool = False
    title_only: bool = False


def parse(query: str) -> list[list[Term]]:
    """The query's terms: a list of groups, each group's terms alternatives (``OR``).

    An ``OR`` or ``NOT`` with nothing after it is ignored, and so is a term with no letter
    or digit in it; an excluded term is a group of its own.
    """
    groups: list[list[Term]] = []
    words = query.split()
    join = negate = False
    for word in words:
        if word == OR:
            join = bool(groups) and not groups[-1][-1].excluded
            continue
        if word == NOT:
            negate = True
            continue
        excluded = negate or (word.startswith("-") and len(word) > 1)
        text = word[1:] if word.startswith("-") and len(word) > 1 else word
        title_only = text.startswith(TITLE) and len(text) > len(TITLE)
        if title_only:
            text = text[len(TITLE) :]
        negate = False
        if not tokens(text):
            join = False
            continue
        term = Term(text, excluded, title_only)
        if join and not excluded:
            groups[-1].append(term)
        else:
            groups.append([term])
        join = False
    return groups


def phrase_tokens(text: str) -> tuple[list[str], bool]:
    """The tokens a term's phrase needs, and whether the last is a prefix (see the top).

    A CJK run of two or more characters at the end is found by its bigrams alone: its last
    character, indexed on its own only at the end of a run, is left out (with it, the phrase
    would need a prefix match over every bigram that character starts). One CJK character at
    the end (``党``, ``2024年``) is a prefix: the bigram it starts, or itself ending a run.
    """
    toks = tokens(text)
    segments = _SEGMENT.findall(_NOT_WORD.sub(" ", text))
    last = segments[-1] if segments else ""
    if not _CJK_RUN.fullmatch(last):
        return toks, False
    if len(last) >= 2:
        return toks[:-1], False
    return toks, True


def phrase(term: Term) -> str:
    """The FTS5 expression of one term (``title:`` limits it to the title column)."""
    toks, prefix = phrase_tokens(term.text)
    quoted = '"' + " ".join(t.replace('"', "") for t in toks) + '"' + ("*" if prefix else "")
    return "{title} : " + quoted if term.title_only else quoted


def match_query(query: str) -> str | None:
    """An FTS5 MATCH expression for ``query`` over a table with a ``title`` column.

    Each term must occur as a contiguous substring (punctuation inside a term is ignored);
    terms side by side must all match, ``OR`` offers alternatives, ``NOT``/``-`` excludes and
    ``title:`` looks in titles only (see :func:`parse`). None when nothing is left to find: no
    searchable characters, or only excluded terms (FTS5 cannot list "everything but").
    """
    groups = parse(query)
    found = [g for g in groups if not g[0].excluded]
    if not found:
        return None
    parts = []
    for group in found:
        alternatives = [phrase(t) for t in group]
        parts.append(alternatives[0] if len(group) == 1 else f"({' OR '.join(alternatives)})")
    expr = " AND ".join(parts)
    excluded = [phrase(g[0]) for g in groups if g[0].excluded]
    if excluded:
        expr = f"({expr})" + "".join(f" NOT {phrase}" for phrase in excluded)
    return expr


def terms(query: str) -> list[str]:
    """The query's searchable terms (not the excluded ones), for highlighting."""
    wanted = (clean_term(t.text) for g in parse(query) for t in g if not t.excluded)
    return [t for t in wanted if t]


def clean_term(term: str) -> str:
    """A term as it stands in text: its letters and digits (what the index matches)."""
    return "".join(_SEGMENT.findall(term))


def snippet(text: str, query: str, width: int = 60, mark: tuple[str, str] = ("【", "】")) -> str:
    """A window of ``text`` around the first matching term, every term occurrence marked."""
    wanted = terms(query)
    if not text:
        return ""
    first = min((i for i in (text.find(t) for t in wanted) if i >= 0), default=0)
    start = max(0, first - width // 3)
    window = text[start : start + width].replace("\n", " ")
    for term in sorted(set(wanted), key=len, reverse=True):
        window = window.replace(term, f"{mark[0]}{term}{mark[1]}")
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(text) else ""
    return prefix + window + suffix
