"""Getting page bytes: the only package that imports httpx (and httpcore).

Every attempt is recorded (as a ``FetchAttempt``) so the archive can keep one row per attempt,
failures included. Bodies are streamed and cut off at the size cap, so an oversized or endless
response costs at most the cap in memory; a whole-page deadline bounds slow drips that a
per-read timeout never catches.

``client`` holds ``Fetcher`` (retries, caps, what an answer is taken as), ``wire`` what sits
under it (the network backend dialling through ``netguard``, the deadline on every socket wait,
decompression, the headers kept), ``local`` saved pages read from disk, ``settings`` the
settings and the User-Agent.

The names below are loaded on first use: a command that only reads the archive names the
default User-Agent in its help (``settings``) and must not pull in httpx with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import Fetcher as Fetcher
    from .local import is_local as is_local
    from .local import read_local as read_local
    from .local import saved_from as saved_from
    from .settings import DEFAULT_USER_AGENT as DEFAULT_USER_AGENT
    from .settings import FetchSettings as FetchSettings
    from .settings import now_iso as now_iso
    from .wire import tls_context as tls_context
    from .wire import without_credentials as without_credentials

_EXPORTS = {
    "Fetcher": "client",
    "is_local": "local",
    "read_local": "local",
    "saved_from": "local",
    "DEFAULT_USER_AGENT": "settings",
    "FetchSettings": "settings",
    "now_iso": "settings",
    "tls_context": "wire",
    "without_credentials": "wire",
}

__all__ = [
    "DEFAULT_USER_AGENT",
    "FetchSettings",
    "Fetcher",
    "is_local",
    "now_iso",
    "read_local",
    "saved_from",
    "tls_context",
    "without_credentials",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
