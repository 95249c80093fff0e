"""The only numpy importer: the per-character loops of dedup and search as array passes.

A body of a thousand characters would otherwise cost a Python step per character (per shingle
for MinHash, per bigram for the search text), several hundred microseconds an article on the
one thread that writes the archive. Here each is a handful of vector operations. The callers
own the meaning (``dedup``: hashing scheme and constants; ``textindex``: which
tokens the index holds); these functions only compute, and their tests pin them against the
plain-Python definitions.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_LOW40 = np.uint64((1 << 40) - 1)
_SHIFT = np.uint64(10)


@lru_cache(maxsize=32)
def _constants(values: tuple[int, ...], dtype: type[np.generic]) -> np.ndarray:
    """The caller's fixed constants as an array, made once (these functions run per article)."""
    array = np.array(values, dtype=dtype)
    array.flags.writeable = False
    return array


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as uint32."""
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


def window_hashes(text: str, multipliers: tuple[int, ...]) -> np.ndarray:
    """``((sum_j a_j * c_{i+j}) mod 2**40) >> 10`` for every window of ``len(multipliers)``
    code points of ``text`` (which must be at least that long), as uint32.

    With a_j < 2**40 and code points < 2**21 every product and their sum fit in 64 bits
    (uint64 arithmetic would wrap, harmlessly for a result mod 2**40, anyway).
    """
    width = len(multipliers)
    codes = code_points(text).astype(np.uint64)
    m = len(codes) - width + 1
    factors = _constants(multipliers, np.uint64)
    sums: np.ndarray = codes[width - 1 :] * factors[width - 1]
    term = np.empty(m, dtype=np.uint64)
    for j in range(width - 1):
        np.multiply(codes[j : j + m], factors[j], out=term)
        sums += term
    sums &= _LOW40
    sums >>= _SHIFT
    return sums.astype(np.uint32)


def bin_minima(hashes: np.ndarray, bin_starts: tuple[int, ...]) -> list[int]:
    """For each bin ``[start, next start)``, its smallest hash; an empty bin takes the first
    hash of the next non-empty bin, circularly (densification by rotation)."""
    ordered = np.sort(hashes)
    starts = np.searchsorted(ordered, _constants(bin_starts, np.uint32))
    starts[starts == len(ordered)] = 0  # past the last hash: wrap to the first
    return ordered[starts].tolist()  # type: ignore[no-any-return]


def mix_rows(
    values: tuple[int, ...], row_multipliers: tuple[int, ...], offsets: tuple[int, ...]
) -> list[int]:
    """``((sum_r v[b*R + r] * m_r + offset_b) mod 2**64) >> 1`` for each band b of R rows."""
    rows = np.array(values, dtype=np.uint64).reshape(len(offsets), len(row_multipliers))
    rows *= _constants(row_multipliers, np.uint64)  # wraps: the sum is taken mod 2**64
    keys = rows.sum(axis=1, dtype=np.uint64)
    keys += _constants(offsets, np.uint64)
    keys >>= np.uint64(1)
    return keys.tolist()  # type: ignore[no-any-return]


def equal_counts(values: tuple[int, ...], stored: list[bytes]) -> list[int]:
    """For each of ``stored`` (as many little-endian uint32 as ``values``), how many of its
    values equal ``values`` at the same place."""
    if not stored:
        return []
    matrix = np.frombuffer(b"".join(stored), dtype="<u4").reshape(len(stored), len(values))
    mine = np.array(values, dtype=np.uint32)
    return (matrix == mine).sum(axis=1).tolist()  # type: ignore[no-any-return]


def char_table(ranges: list[tuple[int, int]]) -> np.ndarray:
    """A lookup table over the Basic Multilingual Plane, true inside the inclusive ranges."""
    table = np.zeros(0x10000, dtype=bool)
    for low, high in ranges:
        table[low : high + 1] = True
    return table


def bigram_spaced(text: str, is_cjk: np.ndarray) -> str:
    """``text`` with every run of characters marked in ``is_cjk`` (a lookup table over the
    Basic Multilingual Plane) written as its overlapping bigrams and then its last character,
    each followed by a space, and a space before each run: ``ab中文字c`` -> ``ab 中文 文字 字 c``.

    Other characters are copied as they are, but U+0000, which marks an empty slot here; the
    caller chooses what reaches here.
    """
    if not text:
        return ""
    codes = code_points(text)
    cjk = is_cjk[np.minimum(codes, len(is_cjk) - 1)]
    after = np.empty_like(codes)
    after[:-1] = codes[1:]
    after[-1] = 0
    cjk_after = np.zeros_like(cjk)
    cjk_after[:-1] = cjk[1:]
    pair = cjk & cjk_after  # a bigram starts here
    edge = cjk ^ cjk_after  # a run ends after this character, or starts after it
    space = np.uint32(32)
    out = np.zeros((len(codes), 3), dtype=np.uint32)
    out[:, 0] = codes
    out[:, 1] = np.where(pair, after, np.where(edge, space, 0))
    out[:, 2] = np.where(pair, space, 0)
    flat = out.ravel()
    spaced: str = flat[flat != 0].tobytes().decode("utf-32-le")
    return spaced
