"""Per-image randomness: one seeded numpy generator, with pooled scalar draws.

A scalar draw from a numpy Generator costs microseconds; a word image needs dozens of them, so
scalars come from pools drawn in bulk (still fully determined by the seed).
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np

_POOL = 96
_local = threading.local()  # one bit generator per thread, re-seeded for every rendering


class Rand:
    """Seeded draws for one rendering: ``gen`` for arrays, fast methods for scalars."""

    __slots__ = ("gen", "_u", "_n")

    def __init__(self, *keys: int | str) -> None:
        # Setting a PCG64 state from a hash is ~10x cheaper than seeding through SeedSequence.
        h = hashlib.blake2b(repr(keys).encode("utf-8"), digest_size=32).digest()
        bits = _local.__dict__.get("bits")
        if bits is None:
            bits = _local.bits = np.random.PCG64(0)
        bits.state = {"bit_generator": "PCG64", "has_uint32": 0, "uinteger": 0,
                      "state": {"state": int.from_bytes(h[:16], "little"), "inc": int.from_bytes(h[16:], "little") | 1}}
        self.gen = np.random.Generator(bits)
        self._u: list[float] = []
        self._n: list[float] = []

    def random(self) -> float:
        if not self._u:
            self._u = self.gen.random(_POOL).tolist()
        return self._u.pop()

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.random()

    def normal(self, mu: float = 0.0, sd: float = 1.0) -> float:
        if not self._n:
            self._n = self.gen.standard_normal(_POOL).tolist()
        return mu + sd * self._n.pop()

    def integers(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi)."""
        return lo + min(hi - lo - 1, int(self.random() * (hi - lo)))
