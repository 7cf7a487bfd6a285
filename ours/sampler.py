"""Batch sampler: several instances per semantic ID, languages balanced, every ID once per epoch.

Each batch holds ``batch_size // instances`` distinct groups (semantic IDs), each contributing
``instances`` samples. A group's samples cycle through its languages in a shuffled order, so a
group present in all languages gives an equal share to each when ``instances`` is a multiple of the
number of languages; groups with fewer samples than ``instances`` repeat samples (for rendered data a
repeat is a fresh rendering with another writer). Every group appears exactly once per epoch, in an
order fixed by (seed, epoch). Rows outside the lexicon (semantic_id -1) should get their own group
keys from the caller (e.g. ("text", lang, text)). Groups named in ``rotate`` are optional: each epoch
holds ``per_epoch`` of them, a different draw each epoch, so a long list of extra words keeps a fixed
share of the batches instead of crowding out the lexicon.
"""
from __future__ import annotations

import random
from collections import defaultdict
from typing import Hashable, Iterator, Sequence


class SemanticBatchSampler:
    """Yields lists of row indices; ``len()`` is the number of batches per epoch."""

    def __init__(self, groups: Sequence[Hashable], langs: Sequence[str], batch_size: int,
                 instances: int = 3, seed: int = 0, drop_last: bool = False,
                 rotate: Sequence[Hashable] = (), per_epoch: int | None = None) -> None:
        if len(groups) != len(langs):
            raise ValueError("groups and langs must have the same length")
        if instances < 1 or batch_size < instances:
            raise ValueError("need 1 <= instances <= batch_size")
        self.instances = instances
        self.per_batch = batch_size // instances
        self.batch_size = self.per_batch * instances
        self.seed = seed
        self.epoch = 0
        self.drop_last = drop_last
        by: dict[Hashable, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i, (g, lang) in enumerate(zip(groups, langs)):
            by[g][lang].append(i)
        rotating = set(rotate) & set(by)
        self.keys = sorted((k for k in by if k not in rotating), key=repr)
        self.rotating = sorted(rotating, key=repr)
        self.per_epoch = len(self.rotating) if per_epoch is None else max(0, min(per_epoch, len(self.rotating)))
        self.members = {k: {lang: list(v) for lang, v in sorted(by[k].items())} for k in self.keys + self.rotating}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.keys) + self.per_epoch
        return n // self.per_batch if self.drop_last else -(-n // self.per_batch)

    def _draw(self, rng: random.Random, key: Hashable) -> list[int]:
        langs = list(self.members[key])
        rng.shuffle(langs)
        pools = {lang: rng.sample(v, len(v)) for lang, v in self.members[key].items()}
        out = []
        for j in range(self.instances):
            lang = langs[j % len(langs)]
            pool = pools[lang]
            out.append(pool[(j // len(langs)) % len(pool)])
        return out

    def batches(self, epoch: int) -> list[list[int]]:
        """All batches of one epoch (deterministic in seed and epoch)."""
        rng = random.Random(f"{self.seed}:{epoch}")
        keys = self.keys
        if self.rotating:  # this epoch's draw of the optional groups (all of them when per_epoch allows)
            keys = keys + random.Random(f"{self.seed}:{epoch}:rotate").sample(self.rotating, self.per_epoch)
        order = rng.sample(keys, len(keys))
        out = []
        for b in range(len(self)):
            chunk = order[b * self.per_batch:(b + 1) * self.per_batch]
            if len(chunk) < self.per_batch:  # top up the last batch with other groups
                rest = [k for k in order if k not in set(chunk)]
                chunk = chunk + rng.sample(rest, min(len(rest), self.per_batch - len(chunk)))
            out.append([i for k in chunk for i in self._draw(rng, k)])
        return out

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.batches(self.epoch)
