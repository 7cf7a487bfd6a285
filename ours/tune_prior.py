"""Choose the reading rows' word-prior weight lambda per language, on the real dataset's training writers.

The prior (``ours.prior``) only helps where words come with their natural frequencies, as in running
handwriting, so it cannot be tuned on the synthetic splits (their words are drawn evenly) and must not
be tuned on ``real`` (the check). It is tuned on the real dataset's ``train`` split: word images of
writers training saw, whose gallery is the lexicon plus that split's words. Seen writers make the
reader look better than on new ones, which if anything favours a smaller lambda.

The rule (``ours/README.md``, seventh round): the smallest lambda of ``LAMBDAS`` whose Acc@1 is within
``TOLERANCE`` of the best; a language with no real data (Spanish) takes English's lambda.

``python -m ours.tune_prior REAL_DATASET [--adapter ours-read] [--per-lang en=2000 zh=1000]``
"""
from __future__ import annotations

import argparse
import sys
import zlib
from typing import Sequence

import numpy as np

LAMBDAS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
TOLERANCE = 0.01  # one point of Acc@1: the smallest lambda this close to the best wins
TRANSFER = {"es": "en"}  # languages without real data take another's lambda


def top1(scores: np.ndarray, targets: np.ndarray) -> float:
    """Acc@1 as the stored runs score it: ``bench.scoring`` ranks, the default tie rule (expected)."""
    from bench.scoring import rank_targets
    from bench.scoring.metrics import DEFAULT_TIES, hits_at_k

    ranking = rank_targets(scores, targets, k=1)
    return float(np.mean(hits_at_k(ranking.better, ranking.tied, 1, DEFAULT_TIES)))


def choose(acc: dict[float, float], tolerance: float = TOLERANCE) -> float:
    """The smallest lambda within ``tolerance`` of the best accuracy."""
    best = max(acc.values())
    return min(lam for lam, a in acc.items() if a >= best - tolerance - 1e-12)


def sweep(fused: np.ndarray, log_f: np.ndarray, targets: np.ndarray,
          lambdas: Sequence[float] = LAMBDAS) -> dict[float, float]:
    """Acc@1 of ``fused + lambda * ln f`` for each lambda, in float32 as ``adapters.ours.with_prior``
    returns it: exactly what the adapter ranks."""
    fused = np.asarray(fused, dtype=np.float32)
    return {lam: top1((fused + lam * log_f[None, :]).astype(np.float32), targets) for lam in lambdas}


def sample(n_queries: int, n: int, split: str, lang: str) -> np.ndarray:
    """A fixed sample of query indices (seeded by split and language)."""
    rng = np.random.default_rng([0, zlib.crc32(f"{split}{lang}".encode())])
    return np.sort(rng.choice(n_queries, min(n, n_queries), replace=False))


def fused_scores(adapter, dataset, split: str, lang: str, n: int) -> tuple[np.ndarray | None, np.ndarray, list[str]]:
    """The reading row's scores before the prior (``reader_scores``; None where its reader weight is 0)
    on ``n`` queries of ``split``, their targets and the gallery."""
    from bench import api

    task = api.build_task(dataset, split, api.Task("within", lang, lang))
    idx = sample(len(task.queries), n, split, lang)
    images = [dataset.load_image(p) for p in task.queries.iloc[idx]["path"]]
    out = adapter.encode_images(images, lang)
    gallery = list(task.gallery)
    fused = adapter.reader_scores(out, adapter.encode_texts(gallery, lang), gallery, lang)
    return fused, np.asarray(task.targets)[idx], gallery


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ours.tune_prior", description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", help="the real dataset folder (python -m bench.data.build.real)")
    ap.add_argument("--adapter", default="ours-read", help="a reading row: ours-read or ours-real-read")
    ap.add_argument("--split", default="train", help="held-out queries with natural word frequencies")
    ap.add_argument("--per-lang", nargs="+", default=["en=2000", "zh=1000"], metavar="LANG=N")
    ap.add_argument("--model-path", default=None)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    from bench import api
    from bench.dataset import Dataset
    from bench.registry import get as adapter_class
    from ours.prior import log_prior

    dataset = Dataset.load(args.dataset)
    adapter = adapter_class(args.adapter)(api.AdapterOptions(model_path=args.model_path, threads=args.threads))
    adapter.ensure_loaded()
    chosen: dict[str, float] = {}
    for item in args.per_lang:
        lang, n = item.split("=")
        fused, targets, gallery = fused_scores(adapter, dataset, args.split, lang, int(n))
        if fused is None:
            chosen[lang] = 0.0
            print(f"{args.adapter} {lang}: reader weight 0 (the cosine alone), so no prior")
            continue
        acc = sweep(fused, log_prior(gallery, lang), targets)
        chosen[lang] = choose(acc)
        print(f"{args.adapter} {lang} ({len(targets)} queries, gallery {len(gallery)}): "
              + "  ".join(f"{lam:g}: {a:.3f}" for lam, a in acc.items()) + f"  -> lambda {chosen[lang]:g}")
    for lang, source in TRANSFER.items():
        if lang not in chosen and source in chosen:
            chosen[lang] = chosen[source]
            print(f"{args.adapter} {lang}: no real data, takes {source}'s lambda {chosen[lang]:g}")
    print("prior_weights = {" + ", ".join(f'"{k}": {v:g}' for k, v in sorted(chosen.items())) + "}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
