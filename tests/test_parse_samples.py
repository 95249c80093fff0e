"""Every sample page with an expected record parses to that record, field by field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scraper.decode import decode
from scraper.parse import parse_page

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
# Pages whose charset is declared only in the HTTP header, as served.
HEADER_CHARSET = {"seed-gbk-header.html": "text/html; charset=gbk"}
SPACE_INSENSITIVE = {"body", "disclaimer", "footer"}
_WS = re.compile(r"\s+")


def _cases() -> list[Path]:
    if not (SAMPLES / "expected").is_dir():
        return []
    out = []
    for html in sorted(SAMPLES.rglob("*.htm*")):
        if _expected_path(html).exists():
            out.append(html)
    return out


def _expected_path(html: Path) -> Path:
    return (SAMPLES / "expected" / html.relative_to(SAMPLES)).with_suffix(".json")


def _squash(value: object) -> object:
    return _WS.sub("", value) if isinstance(value, str) else value


@pytest.mark.parametrize("path", _cases(), ids=lambda p: p.relative_to(SAMPLES).as_posix())
def test_sample_parses_to_expected_record(path: Path) -> None:
    expected = json.loads(_expected_path(path).read_text("utf-8"))
    text, _enc = decode(path.read_bytes(), HEADER_CHARSET.get(path.name))
    url = "http://samples.test/" + path.relative_to(SAMPLES).as_posix()
    got = parse_page(text, url).to_dict()
    if expected.get("is_article") is False:
        assert got["is_article"] is False
        return
    for key, want in expected.items():
        if key not in got:
            continue
        have = got[key]
        if key in SPACE_INSENSITIVE:
            want, have = _squash(want), _squash(have)
        assert have == want, f"{path.name}: {key}"


def test_samples_present_or_skipped() -> None:
    if not _cases():
        pytest.skip("no samples with expected records yet")
