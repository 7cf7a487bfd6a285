"""Choose ``ours-read``'s fusion weight per language on in-domain data (never on ood/oov, which stay unseen).

Two kinds of query decide it, because a user retrieves both: ``id`` queries (lexicon words, gallery =
the lexicon) and words from ``bench/data/tune_words.csv`` (in no split and no training list) rendered
by the same in-domain writers, against the lexicon plus those words, as the ``oov`` split's gallery is
built. Tuning on lexicon words alone favours the anchors, which know only the lexicon, and so tells the
reader to ignore its reading exactly where reading is the point.

The CTC length bonus (``reading.fuse``) is chosen with the weight, over the same queries: both are
settings of one fusion, and a bonus is only worth what it adds at its best weight.

``python -m ours.tune_read CHECKPOINT [--per-lang 1000]`` prints Acc@1 of both kinds for a grid of
(weight, bonus) and the pair each language would get; ``OursRead.weights`` and
``OursRead.length_bonus`` are set from it.
"""
from __future__ import annotations

import argparse
import csv
import sys
import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
# 0 to 6: beta at 3 was still rising on all three languages. Chinese then chose 6, the edge again, on a
# plateau (+0.1 point over 4.5 on 2,000 queries); the grid stays fixed rather than chase a flat edge.
BONUSES = tuple(0.5 * k for k in range(13))
TUNE_SEED_BASE = 1 << 41  # above the id/ood image seeds (1 << 40) and every training seed


@dataclass
class LangSweep:
    """Acc@1 per (weight, length bonus) on lexicon queries (``id``) and on unseen words (``tune``)."""

    lang: str
    n_id: int
    n_tune: int
    acc_id: dict[tuple[float, float], float]
    acc_tune: dict[tuple[float, float], float]

    def score(self, wb: tuple[float, float]) -> float:
        """The objective: both kinds of query count the same."""
        return (self.acc_id[wb] + self.acc_tune[wb]) / 2.0

    def best(self) -> tuple[float, float]:
        """The (weight, bonus) with the highest score (on a tie the smaller weight, then bonus)."""
        return max(sorted(self.acc_id), key=lambda wb: (round(self.score(wb), 6), -wb[0], -wb[1]))


def tune_words(lang: str) -> list[str]:
    """The tuning words of ``lang`` from the shipped list."""
    from bench.data import TUNE_WORDS

    with open(TUNE_WORDS, encoding="utf-8", newline="") as fh:
        return [r["word"] for r in csv.DictReader(fh) if r["lang"] == lang]


def render_tune_queries(lang: str, words: list[str]):
    """Each word by an in-domain writer that can draw it, cased and seeded as the built-in data does."""
    from bench.data import builtin, synth
    from bench.data.synth.render import can_draw

    writers = builtin.split_writers("id", lang)
    images, kept = [], []
    for k, word in enumerate(words):
        able = [w for w in writers if can_draw(word, w)]
        if not able:
            continue
        h = zlib.crc32(f"tune:{lang}:{word}".encode())
        w = able[h % len(able)]
        text = synth.cased_for(word, w, (h % 10_000) / 10_000)
        images.append(synth.render_word(text, lang, w, TUNE_SEED_BASE + k))
        kept.append(word)
    return images, kept


def grid(weights: Sequence[float] = WEIGHTS, bonuses: Sequence[float] = BONUSES) -> list[tuple[float, float]]:
    """(weight, bonus) pairs; weight 0 is the cosine alone, where a bonus means nothing."""
    return [(w, b) for w in weights for b in (bonuses if w > 0 else (0.0,))]


def sweep(checkpoint: str | None, per_lang: int = 1000, seed: int = 0, weights=WEIGHTS,
          langs: list[str] | None = None, bonuses=BONUSES) -> list[LangSweep]:
    """One encoding of the sampled ``id`` queries and of the rendered tuning words, scored at every
    (weight, bonus)."""
    from adapters.ours import OursRead
    from bench import api
    from bench.textnorm import normalize

    ds = api.builtin_dataset()
    ad = OursRead(api.AdapterOptions(model_path=checkpoint, threads=2))
    ad.ensure_loaded()
    out: list[LangSweep] = []
    for lang in langs or ds.languages("id"):
        rng = np.random.default_rng([seed, zlib.crc32(lang.encode())])  # a language's sample is its own
        td = api.build_task(ds, "id", api.Task("within", lang, lang))
        idx = rng.choice(len(td.queries), min(per_lang, len(td.queries)), replace=False)
        q_id = ad.encode_images([ds.load_image(p) for p in td.queries.iloc[idx]["path"]], lang)
        g_id = ad.encode_texts(td.gallery, lang)
        lexicon = list(ds.lexicon.words(lang)) if ds.lexicon is not None else []
        known = {normalize(w) for w in lexicon}
        words = [w for w in tune_words(lang) if normalize(w) not in known][:per_lang]
        images, words = render_tune_queries(lang, words)
        gallery = lexicon + words
        targets = np.arange(len(lexicon), len(gallery))
        q_tune = ad.encode_images(images, lang)
        g_tune = ad.encode_texts(gallery, lang)
        parts_id = ad.reading_parts(q_id, g_id, td.gallery)  # the CTC term once, not once per weight
        parts_tune = ad.reading_parts(q_tune, g_tune, gallery)
        acc_id, acc_tune = {}, {}
        for wb in grid(weights, bonuses):
            acc_id[wb] = _acc(parts_id, ad.scale, wb, td.targets[idx])
            acc_tune[wb] = _acc(parts_tune, ad.scale, wb, targets)
        out.append(LangSweep(lang, len(idx), len(words), acc_id, acc_tune))
    return out


def _acc(parts: tuple[np.ndarray, np.ndarray, np.ndarray], scale: float, wb: tuple[float, float],
         targets: np.ndarray) -> float:
    """Acc@1 of the fused scores at one (weight, bonus), as ``OursRead.similarity`` ranks them
    (cosine alone at weight 0)."""
    from ours.reading import fuse

    cos, logp, lengths = parts
    weight, bonus = wb
    scores = cos if weight <= 0 else fuse(cos, logp, scale, weight, lengths, bonus)
    return float((scores.argmax(1) == targets).mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", nargs="?", default=None, help="checkpoint folder (default: the shipped one)")
    ap.add_argument("--per-lang", type=int, default=1000)
    args = ap.parse_args(argv)
    chosen = {}
    for s in sweep(args.checkpoint, args.per_lang):
        print(f"{s.lang}: {s.n_id} id queries, {s.n_tune} unseen words")
        for w, b in s.acc_id:
            print(f"  w={w:.1f} bonus={b:.1f}  id {s.acc_id[w, b]:.3f}  unseen {s.acc_tune[w, b]:.3f}  "
                  f"mean {s.score((w, b)):.4f}")
        chosen[s.lang] = s.best()
    print("weights:", {lang: wb[0] for lang, wb in chosen.items()})
    print("length_bonus:", {lang: wb[1] for lang, wb in chosen.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
