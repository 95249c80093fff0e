"""Getting page bytes: the only package that imports httpx (and httpcore).

Every attempt is recorded (as a ``FetchAttempt``) so the archive can keep one row per attempt,
failures included. Bodies are streamed and cut off at the size cap, so an oversized or endless
response costs at most the cap in memory; a whole-page deadline bounds slow drips that a
per-read timeout never catches.

``client`` holds ``Fetcher`` (retries, caps, what an answer is taken as), ``wire`` what sits
under it (the network backend dialling through ``netguard``, the deadline on every socket wait,
decompression, the headers kept), ``local`` saved pages read from disk, ``settings`` the
settings and the User-Agent.
"""

from .client import Fetcher
from .local import is_local, read_local, saved_from
from .settings import DEFAULT_USER_AGENT, FetchSettings, now_iso
from .wire import tls_context, without_credentials

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
