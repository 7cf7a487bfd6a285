"""Training-only Chinese font writers: ``python -m bench.data.build.train_fonts``.

Japanese handwriting and brush families (npm ``@fontsource``, all OFL) draw the kanji they share with
Chinese in hands none of the benchmark's sources has (looks of an out-of-domain group are left out). They cover only part of the lexicon,
so unlike ``assets.json`` (whose fonts must draw every word of a language) an entry lists the
characters it really inks and the trainer uses a font only for words it can draw. They live in
``bench/data/train_assets/``, outside ``bench/data/assets/``: no split uses them, so the built
benchmark and its fingerprint do not depend on them.
"""
from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path

from .asset_catalog import LEXICON, SRC_CACHE, TRAIN_ASSETS_DIR, ZH_TRAIN_ONLY_NPM
from .asset_packages import npm_package
from .assets import lexicon_charsets
from .font_assets import build_font, fontsource_meta, npm_font_pieces

INDEX = "train_fonts.json"
MIN_WORD_SHARE = 0.3  # a face drawing fewer of the lexicon's Chinese words is not worth its bytes


def build(out: Path = TRAIN_ASSETS_DIR, cache: Path = SRC_CACHE, lexicon: Path = LEXICON, log=print) -> Path:
    """Subset each family to the lexicon's Chinese characters, save it with its licence, and index it."""
    import csv

    need, _ = lexicon_charsets(lexicon)
    need = {"zh": need["zh"]}
    (out / "licenses").mkdir(parents=True, exist_ok=True)
    with lexicon.open(encoding="utf-8", newline="") as fh:
        words = [r["zh"] for r in csv.DictReader(fh) if r.get("zh")]
    from ..synth.store import index

    benchmark_ids = {e["id"] for e in index()["fonts"]}
    entries = []
    for name, group in ZH_TRAIN_ONLY_NPM.items():
        if name in benchmark_ids:  # one id, one font: font_entry would silently draw the benchmark's
            raise RuntimeError(f"train font {name}: the benchmark's assets already have this id")
        pkg = npm_package(f"@fontsource/{name}", cache)
        version, lic_text, lic = fontsource_meta(pkg)
        pieces, weight = npm_font_pieces(pkg, name)
        e = build_font(name, pieces, 0, lic_text, lic, name.replace("-", " ").title(), group, "zh",
                       f"npm:@fontsource/{name}@{version} (weight {weight})", need, out)
        inked = set(e["chars"])
        share = sum(set(unicodedata.normalize("NFC", w).replace(" ", "")) <= inked for w in words) / len(words)
        if share < MIN_WORD_SHARE:
            log(f"train font {name}: draws {share:.0%} of the Chinese words, left out")
            (out / e["file"]).unlink()
            (out / e["license_file"]).unlink()
            continue
        # partial by design: a writer of the words it can draw (render.can_draw checks ``chars``)
        e.update(langs=["zh"], word_share={"zh": round(share, 4)}, role="train-only")
        entries.append(e)
        log(f"train font {name}: {len(inked)} characters, {share:.0%} of the Chinese words, {e['bytes'] // 1024} KB")
    index = out / INDEX
    index.write_text(json.dumps({"version": 1, "fonts": entries}, ensure_ascii=False, indent=1) + "\n",
                     encoding="utf-8")
    return index


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=TRAIN_ASSETS_DIR)
    args = ap.parse_args(argv)
    print(build(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
