#!/usr/bin/env python3
"""Rebuild bench/corpus/html/ from the repositories named in manifest.json, byte for byte.

usage: python bench/corpus/get_pages.py (--clones DIR | --clone)

Each page is read with ``git show COMMIT:PATH`` (never re-encoded) and kept only if its
sha256 matches the manifest's. Exit 1 if any page could not be brought back.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def git_dir(root: Path, repo: str) -> Path | None:
    owner, name = repo.split("/")
    for base in (root / f"{owner}+{name}", root / owner / name, root / name):
        for cand in (base / ".git", base / "repo", base):  # a work tree, a nested or bare git dir
            if (cand / "HEAD").is_file():
                return cand
    return None


def main() -> int:
    args = sys.argv[1:]
    if "--clones" in args:
        root = Path(args[args.index("--clones") + 1])
    elif "--clone" in args:
        root = Path(tempfile.mkdtemp(prefix="corpus-clones-"))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    entries = json.loads((HERE / "manifest.json").read_text("utf-8"))
    (HERE / "html").mkdir(exist_ok=True)
    missing = 0
    for e in entries:
        where = git_dir(root, e["repo"])
        if where is None and "--clone" in args:
            where = root / e["repo"].replace("/", "+")
            url = f"https://github.com/{e['repo']}.git"
            subprocess.run(["git", "clone", "-q", "--bare", url, str(where)], check=False)
        if where is None or not where.exists():
            print(f"{e['id']}: no clone of {e['repo']}", file=sys.stderr)
            missing += 1
            continue
        done = subprocess.run(
            ["git", f"--git-dir={where}", "show", f"{e['commit']}:{e['path']}"],
            capture_output=True,
            check=False,
        )
        data = done.stdout
        if done.returncode or hashlib.sha256(data).hexdigest() != e["sha256"]:
            print(f"{e['id']}: not found, or not the bytes the manifest names", file=sys.stderr)
            missing += 1
            continue
        (HERE / "html" / f"{e['id']}.html").write_bytes(data)
    print(f"{len(entries) - missing} of {len(entries)} pages in {HERE / 'html'}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
