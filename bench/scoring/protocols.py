"""Retrieval protocols: which images are queries, which words form the gallery, which is the target.

Within-language L: queries are the images of L in the split; the gallery is the distinct words of
L in the split, plus the lexicon's words of L when the dataset declares a lexicon; the target is the
query's own text. Galleries always come from every image of the split (``Dataset.select_all``):
``--limit`` samples queries only, so it never shrinks a gallery and never inflates accuracy.

Cross-language A->B: queries are the images of A whose semantic_id has a word in B; the gallery is
the B words of the concepts present in the split (all lexicon concepts when a lexicon is declared);
the target is the B word with the query's semantic_id. Samples with semantic_id -1 take part in
within-language retrieval only.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import permutations

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..errors import BenchError
from ..textnorm import normalize


@dataclass(frozen=True, order=True)
class Task:
    """One retrieval direction; ``key`` names it in the results store."""

    kind: str  # "within" or "cross"
    query_lang: str
    gallery_lang: str

    @property
    def key(self) -> str:
        if self.kind == "within":
            return f"within-{self.query_lang}"
        return f"cross-{self.query_lang}-{self.gallery_lang}"

    @classmethod
    def parse(cls, key: str) -> "Task":
        parts = key.split("-")
        if parts[0] == "within" and len(parts) == 2:
            return cls("within", parts[1], parts[1])
        if parts[0] == "cross" and len(parts) == 3:
            return cls("cross", parts[1], parts[2])
        raise BenchError(f"not a task key: {key!r} (expected within-L or cross-A-B)")


@dataclass
class TaskData:
    """Everything a job needs, with queries as dataset rows and targets as gallery indices."""

    task: Task
    queries: pd.DataFrame
    gallery: list[str]
    gallery_ids: list[int]
    targets: np.ndarray

    @property
    def target_words(self) -> list[str]:
        return [self.gallery[i] for i in self.targets]


def tasks_for(ds: Dataset, split: str, langs: list[str] | None = None, cross: bool = True) -> list[Task]:
    """All within-language tasks of the split's languages and, if asked, every ordered pair."""
    present = ds.languages(split)
    if langs:
        unknown = [l for l in langs if l not in present]
        if unknown:
            raise BenchError(f"unknown language(s) {', '.join(unknown)} for split {split!r} "
                             f"(it has {', '.join(present)})")
        present = [l for l in present if l in langs]
    tasks = [Task("within", l, l) for l in present]
    if cross:
        tasks += [Task("cross", a, b) for a, b in permutations(present, 2)]
    return tasks


def build_task(ds: Dataset, split: str, task: Task, strict: bool = False) -> TaskData:
    """Resolve queries, gallery and targets for one task on one split."""
    if task.kind == "within":
        return _within(ds, split, task, strict)
    return _cross(ds, split, task)


def _within(ds: Dataset, split: str, task: Task, strict: bool = False) -> TaskData:
    """Gallery words are distinct after the harness's normalization (unless strict), so 'The' and
    'the' are one candidate: with pessimistic ties, twins would push a perfect reading to rank 2."""
    rows = ds.select(split, task.query_lang)
    if rows.empty:
        raise BenchError(f"split {split!r} has no {task.query_lang} images")
    every = ds.select_all(split, task.query_lang)
    gallery: list[str] = []
    ids: list[int] = []
    if ds.lexicon is not None and task.query_lang in ds.lexicon.languages:
        gallery = ds.lexicon.words(task.query_lang)
        ids = ds.lexicon.ids(task.query_lang)
    pos: dict[str, int] = {}
    for i, w in enumerate(gallery):
        pos.setdefault(normalize(w, strict), i)
    for text, sid in zip(every["text"], every["semantic_id"]):
        key = normalize(text, strict)
        if key not in pos:
            pos[key] = len(gallery)
            gallery.append(text)
            ids.append(int(sid))
    targets = np.array([pos[normalize(t, strict)] for t in rows["text"]], dtype=np.int64)
    return TaskData(task, rows, gallery, ids, targets)


def _concept_words(ds: Dataset, split: str, lang: str) -> dict[int, str]:
    """semantic_id -> word in ``lang``: from the lexicon if declared, else the split's most common text."""
    if ds.lexicon is not None and lang in ds.lexicon.languages:
        return ds.lexicon.word_of(lang)
    rows = ds.select_all(split, lang)
    rows = rows[rows["semantic_id"] >= 0]
    out: dict[int, str] = {}
    for sid, grp in rows.groupby("semantic_id"):
        out[int(sid)] = Counter(grp["text"]).most_common(1)[0][0]
    return out


def _cross(ds: Dataset, split: str, task: Task) -> TaskData:
    words_b = _concept_words(ds, split, task.gallery_lang)
    if ds.lexicon is None:
        present = set(ds.select_all(split)["semantic_id"].tolist())
        words_b = {i: w for i, w in words_b.items() if i in present}
    rows = ds.select(split, task.query_lang)
    rows = rows[rows["semantic_id"].isin(list(words_b))]
    if rows.empty:
        raise BenchError(f"split {split!r}: no {task.query_lang} images share a concept with "
                         f"{task.gallery_lang} words")
    ids = sorted(words_b)
    gallery = [words_b[i] for i in ids]
    pos = {i: k for k, i in enumerate(ids)}
    targets = np.array([pos[int(s)] for s in rows["semantic_id"]], dtype=np.int64)
    return TaskData(task, rows, gallery, ids, targets)
