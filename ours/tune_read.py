"""Choose ``ours-read``'s fusion weight per language on in-domain data (never on ood/oov, which stay unseen).

Two kinds of query decide it, because a user retrieves both: ``id`` queries (lexicon words, gallery =
the lexicon) and words from ``bench/data/tune_words.csv`` (in no split and no training list) rendered
by the same in-domain writers, against the lexicon plus those words, as the ``oov`` split's gallery is
built. Tuning on lexicon words alone favours the anchors, which know only the lexicon, and so tells the
reader to ignore its reading exactly where reading is the point.

``python -m ours.tune_read CHECKPOINT [--per-lang 1000]`` prints Acc@1 of both kinds for a grid of
weights and the weight each language would get; ``OursRead.weights`` is set from it.
"""
from __future__ import annotations

import argparse
import csv
import sys
import zlib
from dataclasses import dataclass

import numpy as np

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
TUNE_SEED_BASE = 1 << 41  # above the id/ood image seeds (1 << 40) and every training seed


@dataclass
class LangSweep:
    """Acc@1 per weight on lexicon queries (``id``) and on unseen words (``tune``) of one language."""

    lang: str
    n_id: int
    n_tune: int
    acc_id: dict[float, float]
    acc_tune: dict[float, float]

    def score(self, w: float) -> float:
        """The objective: both kinds of query count the same."""
        return (self.acc_id[w] + self.acc_tune[w]) / 2.0

    def best(self) -> float:
        """The weight with the highest score (the smaller weight on a tie)."""
        return max(sorted(self.acc_id), key=lambda w: (round(self.score(w), 6), -w))


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


def sweep(checkpoint: str | None, per_lang: int = 1000, seed: int = 0, weights=WEIGHTS,
          langs: list[str] | None = None) -> list[LangSweep]:
    """One encoding of the sampled ``id`` queries and of the rendered tuning words, scored at every weight."""
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
        for w in weights:
            acc_id[w] = _acc(parts_id, ad.scale, w, td.targets[idx])
            acc_tune[w] = _acc(parts_tune, ad.scale, w, targets)
        out.append(LangSweep(lang, len(idx), len(words), acc_id, acc_tune))
    return out


def _acc(parts: tuple[np.ndarray, np.ndarray], scale: float, weight: float, targets: np.ndarray) -> float:
    """Acc@1 of the fused scores at one weight, as ``OursRead.similarity`` ranks them (cosine alone at 0)."""
    from ours.reading import fuse

    cos, logp = parts
    scores = cos if weight <= 0 else fuse(cos, logp, scale, weight)
    return float((scores.argmax(1) == targets).mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", nargs="?", default=None, help="checkpoint folder (default: the shipped one)")
    ap.add_argument("--per-lang", type=int, default=1000)
    args = ap.parse_args(argv)
    chosen = {}
    for s in sweep(args.checkpoint, args.per_lang):
        print(f"{s.lang}: {s.n_id} id queries, {s.n_tune} unseen words")
        for w in s.acc_id:
            print(f"  w={w:.1f}  id {s.acc_id[w]:.3f}  unseen {s.acc_tune[w]:.3f}  mean {s.score(w):.4f}")
        chosen[s.lang] = s.best()
    print("weights:", chosen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
