"""Writer-disjoint splits: a writer's every sample goes to one split, chosen by a salted hash of its id.

``--holdout real:0.3`` sends about 30% of the writers (not of the samples) to ``real`` and the rest to
the import's ``--split``; the choice depends only on the writer id and the salt, so re-importing,
importing another part of the same corpus, or adding writers never moves a writer across.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bench.errors import BenchError


@dataclass(frozen=True)
class Holdout:
    split: str
    share: float
    salt: str = "xsb-real-1"  # the real recipe's: an import with --holdout real:0.3 gives the same writers

    @classmethod
    def parse(cls, spec: str) -> "Holdout":
        """``SPLIT:SHARE`` (share of writers in (0, 1))."""
        name, _, share = spec.partition(":")
        try:
            value = float(share)
        except ValueError:
            raise BenchError(f"--holdout {spec!r}: expected SPLIT:SHARE, e.g. real:0.3") from None
        if not name.strip() or not 0.0 < value < 1.0:
            raise BenchError(f"--holdout {spec!r}: expected SPLIT:SHARE with a share between 0 and 1")
        return cls(name.strip(), value)

    def held_out(self, writer: str) -> bool:
        h = hashlib.sha256(f"{self.salt}:{writer}".encode("utf-8")).digest()
        return int.from_bytes(h[:8], "big") / 2 ** 64 < self.share

    def split_of(self, writer: str, default: str) -> str:
        return self.split if self.held_out(writer) else default

    def record(self) -> dict:
        return {"split": self.split, "share_of_writers": self.share, "salt": self.salt}
