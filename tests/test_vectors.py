"""The array kernels compute exactly their plain-Python definitions."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.archive import vectors

MULTIPLIERS = (0x9E3779B97F | 1, 0x7F4A7C15 | 1, 0xF39CC0605 | 1, 0xD1B54A32D | 1, 0xABCDEF123 | 1)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=5, max_size=80))
def test_window_hashes_are_the_multiply_shift_formula(text: str) -> None:
    expected = [
        (sum(a * ord(ch) for a, ch in zip(MULTIPLIERS, text[i : i + 5], strict=True)) % 2**40) >> 10
        for i in range(len(text) - 4)
    ]
    assert vectors.window_hashes(text, MULTIPLIERS).tolist() == expected


def test_bin_minima_take_their_own_minimum_or_the_next_bins_circularly() -> None:
    starts = (0, 100, 200, 300)
    hashes = np.array([250, 120, 150, 210, 290], dtype=np.uint32)  # bins 0 and 3 empty
    assert vectors.bin_minima(hashes, starts) == [120, 120, 210, 120]
    rng = random.Random(7)
    values = [rng.randrange(400) for _ in range(30)]
    got = vectors.bin_minima(np.array(values, dtype=np.uint32), starts)
    ordered = sorted(values)
    for b, start in enumerate(starts):
        later = [v for v in ordered if v >= start]
        assert got[b] == (later[0] if later else ordered[0])


def test_mix_rows_is_the_band_formula_mod_2_64() -> None:
    rng = random.Random(3)
    values = tuple(rng.randrange(2**30) for _ in range(12))
    mults = tuple(rng.randrange(2**64) | 1 for _ in range(4))
    offsets = tuple(rng.randrange(2**64) for _ in range(3))
    expected = [
        ((sum(values[b * 4 + r] * mults[r] for r in range(4)) + offsets[b]) % 2**64) >> 1
        for b in range(3)
    ]
    assert vectors.mix_rows(values, mults, offsets) == expected


def test_bigram_spaced_splits_marked_runs_only() -> None:
    table = vectors.char_table([(0x4E00, 0x9FFF)])
    assert vectors.bigram_spaced("ab中文字c", table).split() == ["ab", "中文", "文字", "字", "c"]
    assert vectors.bigram_spaced("中", table).split() == ["中"]
    assert vectors.bigram_spaced("", table) == ""
    assert vectors.bigram_spaced("x 𠀀y", table) == "x 𠀀y"  # outside the table: copied
