"""Site profiles as data: per-host CSS selectors that override the general result.

The shipped table (scraper/data/profiles.json) holds only an example; users add hosts in a
file named by ``ARCHIVER_PROFILES``, so fixing one site never means touching the heuristics.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

FIELDS = ("body", "title", "date", "source", "author", "editor")
_BUILTIN = Path(__file__).resolve().parent.parent / "data" / "profiles.json"


def _load(path: Path) -> dict[str, dict[str, str]]:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    hosts = data.get("hosts", {}) if isinstance(data, dict) else {}
    out: dict[str, dict[str, str]] = {}
    for host, sel in hosts.items() if isinstance(hosts, dict) else ():
        if isinstance(sel, dict):
            out[str(host).lower()] = {k: str(v) for k, v in sel.items() if k in FIELDS and v}
    return out


@lru_cache(maxsize=8)
def _table(extra: str | None) -> dict[str, dict[str, str]]:
    table = _load(_BUILTIN)
    if extra:
        table.update(_load(Path(extra)))
    return table


def profile_for(host: str | None) -> dict[str, str]:
    """Selectors for ``host`` (or its closest parent domain), empty when none."""
    if not host:
        return {}
    table = _table(os.environ.get("ARCHIVER_PROFILES"))
    host = host.lower().split(":")[0]
    parts = host.split(".")
    for i in range(len(parts) - 1):
        sel = table.get(".".join(parts[i:]))
        if sel:
            return sel
    return {}
