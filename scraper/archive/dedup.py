"""Near-duplicate detection as pure functions: which bodies are the same work.

Exact copies share :func:`fingerprint` (sha256 of the normalized text). Republished copies
that differ a little (leftover boilerplate, a dropped or added paragraph, light edits, a
truncated copy) are found by MinHash over character shingles of the normalized text:
character shingles need no Chinese word segmentation. :func:`band_keys` gives the LSH keys
the archive indexes to find candidates; :func:`is_same_work` decides.

Everything here is stable across processes, platforms and Python versions (signatures and
band keys are stored): no built-in ``hash()``, only integer arithmetic on fixed constants,
explicit byte orders and sha256.

Speed: a signature is a few array passes (``scraper.archive.vectors``): the window hashes are five
vector multiply-adds over the code points, and the minimum of each of the ``NUM_PERM`` bins
is read off one sort with ``searchsorted``. That is about 25 us for
a 1,000-character body, against 160 us for the best pure-Python form (one big-integer
multiplication and ``list.sort``) measured before it, and the signature is the largest
share of grouping an article (bench/dedup.py).
"""

from __future__ import annotations

import hashlib
import re
import struct
import sys
import unicodedata
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from operator import eq
from typing import TypeVar

__all__ = [
    "BANDS",
    "MIN_CHARS",
    "NUM_PERM",
    "ROWS",
    "SHINGLE",
    "THRESHOLD",
    "Digest",
    "Signature",
    "band_keys",
    "best_match",
    "digest",
    "fingerprint",
    "groupable",
    "is_same_work",
    "normalize",
    "signature",
    "signature_from_bytes",
    "signature_to_bytes",
    "similarities",
    "similarity",
]

SHINGLE = 5
"""Characters per shingle. Chinese words are 1-4 characters: shorter shingles let shared 政务
phrasing (高质量发展, 贯彻落实) count between different articles, longer ones let each edit
break more shingles. tests/test_dedup.py measures the gap between the least similar
republished copy and the most similar different article for k = 3..6 (exact Jaccard
0.288, 0.307, 0.317, 0.311): k=5 separates best."""

NUM_PERM = 128
"""Bins of the one-permutation MinHash: the estimate's standard error is about
sqrt(J(1-J)/128) ~= 0.044 at J=0.5, so THRESHOLD sits several errors away from both the
grouped (>= 0.67) and kept-apart (<= 0.35) cases the tests cover."""

BANDS = 32
ROWS = 4
"""LSH shape: 32 bands of 4 rows use all 128 values. A pair with similarity s becomes a
candidate with probability 1 - (1 - s**4)**32: S-curve midpoint (1/32)**(1/4) ~= 0.42,
below THRESHOLD, so pairs at THRESHOLD are found 87% of the time, at 0.6 99%, at 0.7
(a copy truncated to 70%) 99.97%; unrelated pairs (s ~0.1) only 0.3% of the time."""

THRESHOLD = 0.5
"""Estimated Jaccard similarity at or above which two bodies are the same work.

Republication keeps most shingles (measured in tests/test_dedup.py): boilerplate lines
~0.9, an added editor's note ~0.93, any one of seven paragraphs dropped 0.84-0.87, a dozen
light edits ~0.86, a copy cut to its first 70% 0.70, boilerplate plus a dropped paragraph
plus edits 0.67. Different articles share at most their template: series parts with a
common opening and closing ~0.29, two notices from one template ~0.35, two reports of one
meeting ~0.04. 0.5 is the middle of that gap, four standard errors (0.044) from 0.67 and
0.35; a copy keeping under about half of the original is not grouped."""

MIN_CHARS = 50
"""Bodies with fewer normalized characters are grouped only by exact fingerprint: a few
dozen characters (a one-line notice, a caption) give too few shingles for an estimate, and
short texts from one template would otherwise merge."""

SCHEME = 1
"""Version of the hashing scheme; stored with every signature and mixed into band keys."""

_BIN_BITS = 7
_RANK_BITS = 23
_HASH_BITS = _BIN_BITS + _RANK_BITS  # 30 bits: one CPython digit, so sorting is fast
_EMPTY = 1 << _HASH_BITS  # every bin of an empty text; never a real hash
assert 1 << _BIN_BITS == NUM_PERM and BANDS * ROWS == NUM_PERM


def _constants(label: str, count: int) -> list[int]:
    """Fixed 64-bit constants derived from a label (nothing up the sleeve, never changes)."""
    out: list[int] = []
    for i in range(count):
        data = hashlib.sha256(f"archiver.dedup.v{SCHEME}.{label}.{i}".encode()).digest()
        out.append(int.from_bytes(data[:8], "little"))
    return out


# Window hash: h = ((sum_j a_j * c_{i+j}) mod 2**40) >> 10, the multiply-shift vector hash
# (universal) of the window's code points c, with a_j fixed odd 40-bit numbers: 30 bits,
# the top 7 of which are the bin.
_MULTIPLIERS = tuple((c >> 24) | 1 for c in _constants("window", SHINGLE))
_BIN_STARTS = tuple(b << _RANK_BITS for b in range(NUM_PERM))
_U32 = "I" if array("I").itemsize == 4 else "L"
_BIG_ENDIAN = sys.byteorder == "big"

_BAND_ROW_MULT = tuple(c | 1 for c in _constants("band-row", ROWS))
_BAND_OFFSET = tuple(_constants("band", BANDS))

_HEADER = struct.Struct("<II")  # scheme, normalized length

# Punctuation and whitespace dropped before NFKC. Every character here is a starter whose
# NFKC form has no letter or digit (tests check all of them), so dropping it first gives
# what NFKC-then-strip gives, and what remains usually passes NFKC's quick check: full
# NFKC of a Chinese text (its full-width punctuation) would cost more than the signature.
_PUNCT_SPACE = re.compile(
    "[\\s\u0021-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u007e\u00a7\u00ab\u00b7\u00bb"
    "\u2010-\u2027\u2030-\u205e\u3000-\u3004\u3008-\u3020\u3030\u303d"
    "\ufe10-\ufe19\ufe30-\ufe6b\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]+"
)
_NOT_ALNUM = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class Signature:
    """MinHash of one body: ``NUM_PERM`` bin minima and the normalized length.

    The length travels with the values because near-duplicate grouping needs at least
    ``MIN_CHARS`` normalized characters on both sides.
    """

    values: tuple[int, ...]
    length: int


def normalize(body: str) -> str:
    """The text that is compared: letters and digits only, NFKC-folded and case-folded.

    Full-width and half-width forms, spacing, line breaks and punctuation differ between
    copies of one article without changing it, so none of them survive: what is left is
    the sequence of characters (汉字, digits, Latin letters) in order. Punctuation and
    whitespace are removed before NFKC, which differs from NFKC-first only where a
    punctuation mark separates a letter from its combining mark, which real text lacks.
    """
    text = _PUNCT_SPACE.sub("", body)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold()
    if not text.isalnum():
        text = _NOT_ALNUM.sub("", text)
    return text


def fingerprint(body: str) -> str:
    """Exact-duplicate key: one body under two URLs, whatever its spacing, is one work."""
    return _fingerprint_of(normalize(body))


def signature(body: str) -> Signature:
    """MinHash signature over the 5-character shingles of ``normalize(body)``."""
    return _signature_of(normalize(body))


Digest = tuple[str, Signature]
"""A body's fingerprint and signature: what the archive needs of it to place it in a work."""


def digest(body: str) -> Digest:
    """Fingerprint and signature from one normalization (what the archive stores).

    Computed where the page is parsed (a crawl's worker threads, a distributed worker), so
    the one process that writes the archive does not spend its time on it.
    """
    text = normalize(body)
    return _fingerprint_of(text), _signature_of(text)


def _fingerprint_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _window_hashes(text: str) -> list[int]:
    """30-bit hashes of every ``SHINGLE``-character window of ``text``, in order.

    A text shorter than a shingle is padded with U+0000 (which normalization never leaves)
    to one window.
    """
    from scraper.archive import vectors  # numpy: loaded by the first article grouped

    hashes: list[int] = vectors.window_hashes(_padded(text), _MULTIPLIERS).tolist()
    return hashes


def _padded(text: str) -> str:
    return text + "\0" * (SHINGLE - len(text)) if len(text) < SHINGLE else text


def _signature_of(text: str) -> Signature:
    """One-permutation MinHash with rotation densification.

    Each window hash falls in the bin given by its top 7 bits; a bin's value is its
    smallest hash. After one sort, ``searchsorted`` finds every bin's first element; for
    an empty bin that is the first element of the next non-empty bin (circularly), which
    is exactly densification by rotation, and the borrowed value keeps its own bin bits,
    so it never equals a value the bin could hold itself.
    """
    if not text:
        return Signature((_EMPTY,) * NUM_PERM, 0)
    from scraper.archive import vectors

    values = vectors.bin_minima(vectors.window_hashes(_padded(text), _MULTIPLIERS), _BIN_STARTS)
    return Signature(tuple(values), len(text))


def signature_to_bytes(sig: Signature) -> bytes:
    """Compact storage form: scheme and length, then ``NUM_PERM`` little-endian uint32."""
    values = array(_U32, sig.values)
    if _BIG_ENDIAN:
        values.byteswap()
    return _HEADER.pack(SCHEME, sig.length) + values.tobytes()


def _unpack(data: bytes) -> tuple[int, bytes]:
    """A stored signature's body length and its values' bytes; refuses other schemes and
    sizes."""
    if len(data) != _HEADER.size + 4 * NUM_PERM:
        raise ValueError(f"signature must be {_HEADER.size + 4 * NUM_PERM} bytes")
    scheme, length = _HEADER.unpack_from(data)
    if scheme != SCHEME:
        raise ValueError(f"signature scheme {scheme}, expected {SCHEME}")
    return length, data[_HEADER.size :]


def signature_from_bytes(data: bytes) -> Signature:
    """Inverse of :func:`signature_to_bytes`; refuses other schemes and sizes."""
    length, payload = _unpack(data)
    values = array(_U32)
    values.frombytes(payload)
    if _BIG_ENDIAN:
        values.byteswap()
    return Signature(tuple(values), length)


def band_keys(sig: Signature) -> list[int]:
    """LSH keys, one per band of ``ROWS`` values, as non-negative 63-bit integers.

    Two signatures sharing any key are candidates. Each key mixes the band index and the
    scheme, so keys of different bands never meet. Bodies under ``MIN_CHARS`` get no keys:
    they are grouped by fingerprint only.
    """
    if sig.length < MIN_CHARS:
        return []
    from scraper.archive import vectors

    return vectors.mix_rows(sig.values, _BAND_ROW_MULT, _BAND_OFFSET)


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two bodies' shingle sets (share of equal bins)."""
    matches: int = sum(map(eq, a.values, b.values))
    return matches / NUM_PERM


def similarities(sig: Signature, stored: list[bytes]) -> list[float]:
    """``similarity(sig, signature_from_bytes(b))`` for each of ``stored``, in one pass."""
    from scraper.archive import vectors

    values = [_unpack(data)[1] for data in stored]
    return [n / NUM_PERM for n in vectors.equal_counts(sig.values, values)]


def groupable(body: str) -> bool:
    """Whether ``body`` is long enough for near-duplicate grouping (else exact only).

    :func:`band_keys` already returns no keys for shorter bodies, and with a signature at
    hand ``sig.length >= MIN_CHARS`` says the same without normalizing again.
    """
    return len(normalize(body)) >= MIN_CHARS


def is_same_work(a: Signature, b: Signature) -> bool:
    """Near-duplicate test: both bodies long enough and similarity at least THRESHOLD."""
    return min(a.length, b.length) >= MIN_CHARS and similarity(a, b) >= THRESHOLD


K = TypeVar("K")


def best_match(sig: Signature, candidates: Iterable[tuple[K, Signature]]) -> K | None:
    """The candidate most similar to ``sig`` that is the same work (first on ties), if any."""
    best: K | None = None
    best_score = -1.0
    if sig.length < MIN_CHARS:
        return None
    for key, other in candidates:
        if other.length < MIN_CHARS:
            continue
        score = similarity(sig, other)
        if score >= THRESHOLD and score > best_score:
            best, best_score = key, score
    return best
