"""From adapter outputs to job records: scores, ranks, metrics (retrieval) and embedding geometry.

Nothing here loads a model, reads the cache or writes the store: outputs come in (gallery-word
embeddings through the ``encode_texts`` callable), records and predictions go out. Each label,
transcription and gallery word is normalized once per job (``ScoringOptions.strict`` keeps raw
strings), and the same normalized strings feed the NES scores and the NES metric.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..dataset import Dataset
from ..dataset.lexicon import Lexicon
from ..errors import BenchError
from ..registry.adapter import Adapter, EmbeddingAdapter, TranscriberAdapter
from ..results.records import JobRecord
from ..scoring import nes_matrix, rank_targets
from ..scoring.geometry import geometry
from ..scoring.metrics import summarize
from ..scoring.protocols import TaskData, _concept_words
from ..textnorm import normalize_all
from .plan import Job, ScoringOptions

EncodeTexts = Callable[[list[str], str], np.ndarray]  # (words, lang) -> one embedding per word


class TooFewConcepts(BenchError):
    """The geometry step needs at least two concepts with embeddings."""


def bridged_scores(trans_norm: list[str], td: TaskData, lexicon: Lexicon, strict: bool) -> np.ndarray:
    """Score each target-language word by the NES between the transcription and the
    query-language word of the same concept: ranking these is ranking the query language's
    lexicon and mapping each semantic id to its target-language word. Concepts without a
    query-language word score -1, below every real candidate."""
    words_a = lexicon.word_of(td.task.query_lang)
    bridge = normalize_all([words_a.get(i, "") for i in td.gallery_ids], strict)
    scores = nes_matrix(trans_norm, bridge, strict=True)  # already normalized
    missing = np.array([i not in words_a for i in td.gallery_ids])
    if missing.any():
        scores[:, missing] = -1.0
    return scores


def why_skipped(skipped: list[dict]) -> str:
    """Skipped queries counted by reason, each with an example path ("6 file not found, e.g. a.png")."""
    by: dict[str, list[str]] = {}
    for s in skipped:
        by.setdefault(s["reason"], []).append(str(s["path"]))
    return "; ".join(f"{len(p)} {r}, e.g. {p[0]}" for r, p in by.items()) or "no queries"


def retrieval_record(adapter: Adapter, job: Job, td: TaskData, outputs: dict[str, Any], errors: dict[str, str],
                     opts: ScoringOptions, lexicon: Lexicon | None, encode_texts: EncodeTexts,
                     image_outputs: dict[str, int]) -> tuple[JobRecord, list[dict]]:
    """The done record of one retrieval job (the caller stamps ``finished``) and its per-query
    predictions; BenchError when no query image has an output."""
    keep = [i for i, sid in enumerate(td.queries["id"]) if outputs.get(sid) is not None]
    skipped = [{"id": sid, "path": path, "reason": errors.get(sid, "no output")}
               for sid, path in zip(td.queries["id"], td.queries["path"]) if outputs.get(sid) is None]
    if not keep:
        raise BenchError(f"no readable query images for {td.task.key}: {why_skipped(skipped)}")
    q = td.queries.iloc[keep]
    targets = td.targets[keep]
    gallery_norm = normalize_all(td.gallery, opts.strict)
    if isinstance(adapter, TranscriberAdapter):
        trans = [str(outputs[sid] or "") for sid in q["id"]]
        trans_norm = normalize_all(trans, opts.strict)
        if job.mode == "lexicon":
            scores = bridged_scores(trans_norm, td, lexicon, opts.strict)
        else:
            scores = nes_matrix(trans_norm, gallery_norm, strict=True)  # already normalized
    else:
        emb = np.stack([outputs[sid] for sid in q["id"]])
        gal = encode_texts(td.gallery, td.task.gallery_lang)
        scores = adapter.similarity(emb, gal, td.gallery, td.task.query_lang, td.task.gallery_lang)
        trans = trans_norm = None
    optimistic = opts.ties == "optimistic"
    ranking = rank_targets(scores, targets, opts.topk, target_first=optimistic)
    topk = ranking.topk
    shown = ranking.optimistic if optimistic else ranking.pessimistic
    # NES prediction: the transcription within-language, else the top-1 retrieved word.
    within_tr = trans is not None and td.task.kind == "within"
    preds = trans if within_tr else [td.gallery[t[0]] for t in topk]
    preds_norm = trans_norm if within_tr else [gallery_norm[t[0]] for t in topk]
    tgt_words = [td.gallery[t] for t in targets]
    metrics = summarize(ranking.optimistic, preds_norm, [gallery_norm[t] for t in targets],
                        tied=ranking.tied, ties=opts.ties)
    rows = []
    for k, (sid, r) in enumerate(zip(q["id"], shown)):
        # rank: the target's place in the top-k list shown; better/tied: any tie rule's rank
        rows.append({"id": sid, "path": q["path"].iloc[k], "target": tgt_words[k],
                     "prediction": preds[k], "rank": int(r), "better": int(ranking.better[k]),
                     "tied": int(ranking.tied[k]),
                     "topk": [td.gallery[j] for j in topk[k]],
                     "scores": [round(float(scores[k, j]), 5) for j in topk[k]]})
    if trans is not None:
        for row, t in zip(rows, trans):
            row["transcription"] = t
    rec = JobRecord(adapter=job.name, split=job.split, task=job.key, status="done",
                    family=adapter.card.family, mode=job.mode, scoring=adapter.card.scoring, ties=opts.ties,
                    metrics=metrics, gallery_size=len(td.gallery), random_acc1=1.0 / len(td.gallery),
                    n_skipped=len(skipped), skipped=skipped[:1000], image_outputs=image_outputs)
    return rec, rows


def geometry_points(adapter: EmbeddingAdapter, ds: Dataset, split: str, outputs: dict[str, Any],
                    encode_texts: EncodeTexts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(embeddings, concept ids, languages, modality, texts) of every image with an output and every
    concept word of the split, language by language (TooFewConcepts under two concepts)."""
    rows = ds.select(split)
    rows = rows[(rows["semantic_id"] >= 0) & rows["id"].map(lambda i: outputs.get(i) is not None)]
    emb, cls, langs, modality, texts = [], [], [], [], []
    for lang in sorted(rows["lang"].unique()):
        part = rows[rows["lang"] == lang]
        emb += list(adapter.embeddings(np.stack([outputs[i] for i in part["id"]])))
        cls += part["semantic_id"].tolist()
        langs += [lang] * len(part)
        modality += ["image"] * len(part)
        texts += part["text"].tolist()
        ids = sorted(set(part["semantic_id"].tolist()))
        words = _concept_words(ds, split, lang)
        ids = [i for i in ids if i in words]
        if ids:
            temb = encode_texts([words[i] for i in ids], lang)
            emb += list(temb)
            cls += ids
            langs += [lang] * len(ids)
            modality += ["text"] * len(ids)
            texts += [words[i] for i in ids]
    if len(set(cls)) < 2:
        raise TooFewConcepts("fewer than two concepts with embeddings")
    return np.stack(emb), np.array(cls), np.array(langs), np.array(modality), texts


def geometry_record(adapter: EmbeddingAdapter, job: Job, ds: Dataset, outputs: dict[str, Any],
                    encode_texts: EncodeTexts, seed: int,
                    image_outputs: dict[str, int]) -> tuple[JobRecord, dict[str, np.ndarray]]:
    """R, D, R/D and language-centre distances over images and words of every language (the
    caller stamps ``finished``), and the sample of points kept for the embedding map."""
    E, C, L, M, texts = geometry_points(adapter, ds, job.split, outputs, encode_texts)
    rec = JobRecord(adapter=job.name, split=job.split, task="geometry", status="done",
                    family=adapter.card.family, geometry=geometry(E, C, L), image_outputs=image_outputs)
    return rec, sample_for_map(E, C, L, M, texts, seed)


def sample_for_map(emb: np.ndarray, classes: np.ndarray, langs: np.ndarray, modality: np.ndarray,
                   texts: list[str], seed: int, n_classes: int = 12, per_group: int = 8) -> dict[str, np.ndarray]:
    """A small, seeded sample of points for the embedding map (Figure 4): a few concepts present in
    every language, up to ``per_group`` images per (concept, language) and all their words."""
    rng = np.random.default_rng(seed)
    all_langs = set(langs.tolist())
    full = [c for c in np.unique(classes) if set(langs[classes == c].tolist()) == all_langs]
    chosen = set(rng.permutation(np.array(full))[:n_classes].tolist()) if full else set()
    keep = []
    for c in sorted(chosen):
        for l in sorted(all_langs):
            for m in ("image", "text"):
                idx = np.flatnonzero((classes == c) & (langs == l) & (modality == m))
                keep += idx[:per_group].tolist()
    keep = np.array(keep, dtype=np.int64)
    return {"embeddings": emb[keep].astype(np.float16), "semantic_id": classes[keep], "lang": langs[keep],
            "modality": modality[keep], "text": np.array([texts[i] for i in keep], dtype=str)}
