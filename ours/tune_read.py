"""Choose ``ours-read``'s fusion weight on the in-domain split (never on ood/oov, which stay unseen).

``python -m ours.tune_read CHECKPOINT [--per-lang 400]`` prints within-language Acc@1 on a seeded
sample of ``id`` queries for a grid of weights; the adapter's ``OursRead.weight`` is set from it.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7)


def sweep(checkpoint: str, per_lang: int = 400, seed: int = 0, weights=WEIGHTS) -> dict[float, list[float]]:
    """Acc@1 per language for each weight, from one encoding of the sampled images."""
    from adapters.ours import OursRead
    from bench import api

    ds = api.builtin_dataset()
    ad = OursRead(api.AdapterOptions(model_path=checkpoint, threads=2))
    ad.ensure_loaded()
    rng = np.random.default_rng(seed)
    res: dict[float, list[float]] = {w: [] for w in weights}
    for lang in ds.languages("id"):
        td = api.build_task(ds, "id", api.Task("within", lang, lang))
        idx = rng.choice(len(td.queries), min(per_lang, len(td.queries)), replace=False)
        out = ad.encode_images([ds.load_image(p) for p in td.queries.iloc[idx]["path"]], lang)
        gal = ad.encode_texts(td.gallery, lang)
        for w in weights:
            ad.weight = w
            s = ad.similarity(out, gal, td.gallery, lang, lang)
            res[w].append(float((s.argmax(1) == td.targets[idx]).mean()))
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--per-lang", type=int, default=400)
    args = ap.parse_args(argv)
    for w, accs in sweep(args.checkpoint, args.per_lang).items():
        print(f"w={w:.1f}  " + "  ".join(f"{a:.3f}" for a in accs) + f"  mean {np.mean(accs):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
