"""Every sample page parses to its expected record, every field of it (samples/README.md).

An expected file names every field the parser returns, or lists it under ``not_checked`` with
the reason it is left out: a field the parser stops producing fails, and so does one it starts
producing that no expected file has considered. Text blocks (body, disclaimer, footer) are
compared line by line, so a lost or added paragraph break fails too.

Where the parser is known to be wrong, the expected file keeps the right answer and the field
is listed in ``KNOWN_WRONG`` below: that field is checked by its own test, marked xfail
(strict, so fixing the parser turns it into a failure until the entry is removed).
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from scraper.decode import decode
from scraper.models import Article
from scraper.parse import parse_page

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
EXPECTED = SAMPLES / "expected"
# Pages whose charset is declared only in the HTTP header, as served.
HEADER_CHARSET = {"seed-gbk-header.html": "text/html; charset=gbk"}
# Every field of a parsed record; an expected file names each one or says why not.
FIELDS = tuple(f.name for f in fields(Article))
NOT_CHECKED = "not_checked"
# Multi-line text, compared line by line (see _lines).
TEXT_BLOCKS = frozenset({"body", "disclaimer", "footer"})
_WS = re.compile(r"\s+")

# (page, field) -> why the parser's answer is wrong. The expected file holds the right answer.
KNOWN_WRONG: dict[tuple[str, str], str] = {
    ("list/index.html", "title"): (
        "no line matches <title> (the channel heading 工作动态 is a plain 4-character span, "
        "under the 6 an unhinted line needs), and the <title> fallback takes its longest "
        "segment when the first is short: the site name"
    ),
    ("list/index_1.html", "title"): (
        "no line matches <title> (the channel heading 工作动态 is a plain 4-character span, "
        "under the 6 an unhinted line needs), and the <title> fallback takes its longest "
        "segment when the first is short: the site name"
    ),
    ("list/index.html", "published"): (
        "a list page has no publication date of its own; an entry's date is taken"
    ),
    ("list/index_1.html", "published"): (
        "a list page has no publication date of its own; an entry's date is taken"
    ),
    ("list/index.html", "footer"): (
        "the footer's last line is taken as the (empty) list's body, and the footer search "
        "starts after it, so no footer is found"
    ),
    ("list/index_1.html", "footer"): (
        "the footer's last line is taken as the (empty) list's body, and the footer search "
        "starts after it, so no footer is found"
    ),
    ("negative/search.html", "published"): (
        "a search results page has no publication date of its own; a result's date is taken"
    ),
    ("negative/home.html", "site_name"): (
        "site_name reads og:site_name and the <title> suffix only, not the gov SiteName meta, "
        "so a home page whose <title> is the bare site name gets none"
    ),
    ("labelled/disclaimer-multi.html", "disclaimer"): (
        "a bare 免责声明 heading takes the next six lines whatever they are: the share bar and "
        "the 相关阅读 heading after the three disclaimer paragraphs are taken too"
    ),
    ("labelled/disclaimer-block.html", "disclaimer"): (
        "a disclaimer line with text after its label is continued only inside its own <p>: the "
        "two further paragraphs of the same disclaimer block are dropped"
    ),
}


def _cases() -> list[Path]:
    return sorted(p for p in SAMPLES.rglob("*.htm*") if not p.is_relative_to(EXPECTED))


def _name(path: Path) -> str:
    return path.relative_to(SAMPLES).as_posix()


def _expected_path(html: Path) -> Path:
    return (EXPECTED / html.relative_to(SAMPLES)).with_suffix(".json")


def _expected(path: Path) -> dict[str, Any]:
    data = json.loads(_expected_path(path).read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def _parsed(path: Path) -> dict[str, Any]:
    text, _enc = decode(path.read_bytes(), HEADER_CHARSET.get(path.name))
    return parse_page(text, "http://samples.test/" + _name(path)).to_dict()


def _lines(value: object) -> object:
    """A text block as its lines, each with its whitespace runs as one space and its ends
    stripped (the parser's own convention for a line; lets an expected file keep the page's
    U+3000 padding). Line breaks and empty lines are compared as they are."""
    if not isinstance(value, str):
        return value
    return [_WS.sub(" ", line).strip() for line in value.split("\n")]


def _comparable(key: str, value: object) -> object:
    return _lines(value) if key in TEXT_BLOCKS else value


def _checked(expected: dict[str, Any]) -> list[str]:
    return [k for k in FIELDS if k not in expected.get(NOT_CHECKED, {})]


@pytest.mark.parametrize("path", _cases(), ids=_name)
def test_sample_has_complete_expected_record(path: Path) -> None:
    """Each expected file accounts for every field, and only for fields the parser has."""
    assert _expected_path(path).exists(), f"no expected record for {_name(path)}"
    expected = _expected(path)
    skipped = expected.get(NOT_CHECKED, {})
    assert isinstance(skipped, dict), f"{NOT_CHECKED} maps each field to why it is not checked"
    for key, why in skipped.items():
        assert key in FIELDS, f"{NOT_CHECKED} names {key!r}, which the parser does not produce"
        assert key not in expected, f"{key!r} is both expected and not checked"
        assert isinstance(why, str) and why.strip(), f"{NOT_CHECKED}[{key!r}] gives no reason"
    unknown = sorted(set(expected) - set(FIELDS) - {NOT_CHECKED})
    assert not unknown, f"expected fields the parser does not produce: {unknown}"
    missing = [k for k in FIELDS if k not in expected and k not in skipped]
    assert not missing, f"fields neither expected nor listed in {NOT_CHECKED}: {missing}"
    assert expected["url"] == "http://samples.test/" + _name(path)
    for page, key in KNOWN_WRONG:
        if page == _name(path):
            assert key in expected, f"KNOWN_WRONG lists {key!r}, which is not expected"


@pytest.mark.parametrize("path", _cases(), ids=_name)
def test_sample_parses_to_expected_record(path: Path) -> None:
    expected = _expected(path)
    got = _parsed(path)
    assert sorted(got) == sorted(FIELDS), "the record's fields are not Article's"
    wrong = []
    for key in _checked(expected):
        if (_name(path), key) in KNOWN_WRONG:
            continue
        want, have = _comparable(key, expected[key]), _comparable(key, got[key])
        if have != want:
            wrong.append(f"{key}:\n  expected {want!r}\n  got      {have!r}")
    assert not wrong, f"{_name(path)}\n" + "\n".join(wrong)


def _known_wrong_cases() -> list[Any]:
    return [
        pytest.param(
            SAMPLES / page,
            key,
            id=f"{page}:{key}",
            marks=pytest.mark.xfail(strict=True, reason=reason),
        )
        for (page, key), reason in sorted(KNOWN_WRONG.items())
    ]


@pytest.mark.parametrize(("path", "key"), _known_wrong_cases())
def test_sample_known_wrong_field(path: Path, key: str) -> None:
    """The fields the parser gets wrong, each against its right answer."""
    want = _comparable(key, _expected(path)[key])
    assert _comparable(key, _parsed(path)[key]) == want


def test_samples_cover_what_they_are_for() -> None:
    """The sample set is there and holds what the README promises: articles, non-articles
    (each with the reason it is refused), doubtful short notices, and at least one page of
    each text block whose lines are checked."""
    cases = _cases()
    assert len(cases) >= 25, [_name(p) for p in cases]
    for page, _key in KNOWN_WRONG:
        assert (SAMPLES / page).is_file(), f"KNOWN_WRONG names a missing page: {page}"
    records = {_name(p): _expected(p) for p in cases}
    articles = [r for r in records.values() if r["is_article"]]
    refused = [r for r in records.values() if not r["is_article"]]
    assert len(articles) >= 20 and len(refused) >= 4
    assert all(r["rejected"] and r["doubt"] is None for r in refused)
    assert all(r["rejected"] is None for r in articles)
    assert any(r["doubt"] for r in articles), "no doubtful (short) article"
    multi_line_disclaimers = [
        name
        for name, r in records.items()
        if isinstance(r.get("disclaimer"), str)
        and r["disclaimer"].count("\n") >= 2
        and (name, "disclaimer") not in KNOWN_WRONG
    ]
    assert multi_line_disclaimers, "no page checks a disclaimer of several lines"
    # The GBK sample with a <meta charset> must really be GBK bytes (not valid UTF-8).
    gbk = (SAMPLES / "labelled" / "gbk-meta.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    assert b'charset=gbk"' in gbk
