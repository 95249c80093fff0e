"""Regenerate the GBK variants of the seed page from seed-utf8.html.

    python samples/make_gbk.py

Both outputs carry the same text as seed-utf8.html, encoded as GBK, with the
<meta charset> line removed so that nothing inside the file names an encoding.
seed-gbk-header.html is served with `Content-Type: text/html; charset=gbk`;
seed-gbk-nodecl.html is served with no charset at all. The two files are
byte-identical; only the way they are served differs.
"""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
META_CHARSET = re.compile(r'^[ \t]*<meta charset="utf-8">[ \t]*\r?\n', re.I | re.M)


def main() -> None:
    text = (HERE / "seed-utf8.html").read_text(encoding="utf-8")
    text, n = META_CHARSET.subn("", text)
    if n != 1:
        raise SystemExit("expected exactly one <meta charset> line in seed-utf8.html")
    if "charset" in text.lower():
        raise SystemExit("seed-utf8.html still names a charset after removing <meta charset>")
    data = text.encode("gbk")  # strict: fails loudly on a character GBK lacks
    for name in ("seed-gbk-header.html", "seed-gbk-nodecl.html"):
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
