"""The checkpoint that ships in ours/checkpoints: it loads, covers the lexicon, and reads unseen styles."""
import random
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ours.model import count_parameters, load_checkpoint  # noqa: E402

SHIPPED = Path(__file__).resolve().parent.parent / "ours" / "checkpoints"


def _ood_words(per_lang=20, seed=0):
    """Lexicon words rendered by out-of-domain writers (never seen in training), with their ids."""
    from bench.data import builtin
    from bench.data.synth import render_word
    from bench.data.synth.render import can_draw
    from bench.dataset.lexicon import BUILTIN_LEXICON, Lexicon

    lex = Lexicon.load(BUILTIN_LEXICON)
    rng = random.Random(seed)
    out = []
    for lang in ("en", "es", "zh"):
        writers = builtin.split_writers("ood", lang)
        pairs = list(zip(lex.words(lang), lex.ids(lang)))
        while sum(1 for o in out if o[1] == lang) < per_lang:
            word, sid = rng.choice(pairs)
            w = rng.choice(writers)
            if can_draw(word, w):
                out.append((render_word(word, lang, w, rng.randrange(1 << 30)), lang, sid))
    return out


@pytest.mark.parametrize("name", ["ours", "ours-no-ft"])
def test_shipped_checkpoint_retrieves_words_in_unseen_styles(name):
    model = load_checkpoint(SHIPPED / name)
    assert 1.2e6 < count_parameters(model.image) < 1.4e6
    assert (SHIPPED / name / "MODEL_CARD.md").is_file()
    # a trained checkpoint carries its config; an interpolated one (ours interpolate) names both parents;
    # a refitted one (python -m ours.refit_text) names its base and keeps the base's lineage
    meta = model.meta
    refit = meta.get("refit_text")
    if refit:
        assert len(refit["sha256"]) == 64 and refit["keep_anchors"] is True
        meta = meta["base_meta"]
    wise = meta.get("wise_ft")
    assert (SHIPPED / name / "train_config.json").is_file() or (
        wise and len(wise["base"]["sha256"]) == 64 and len(wise["finetuned"]["sha256"]) == 64)
    for lang in ("en", "es", "zh"):
        assert len(model.anchors.of(lang)[0]) == 1550
    samples = _ood_words()
    z = model.encode_images([s[0] for s in samples])
    hits = []
    for (_, lang, sid), zz in zip(samples, z):
        _, ids, mat = model.anchors.of(lang)
        hits.append(ids[int(np.argmax(mat @ zz))] == sid)
    # the benchmark measures ~0.76 over 19,880 such images; 60 images leave room for chance
    assert np.mean(hits) >= 0.5


def test_shipped_onnx_exports_match_the_checkpoint():
    pytest.importorskip("onnxruntime")
    from ours.export import OnnxImageEncoder

    model = load_checkpoint(SHIPPED / "ours")
    imgs = [s[0] for s in _ood_words(per_lang=4, seed=1)]
    ref = model.encode_images(imgs)
    fp32 = OnnxImageEncoder(SHIPPED / "ours" / "image_fp32.onnx").encode_images(imgs)
    int8 = OnnxImageEncoder(SHIPPED / "ours" / "image_int8.onnx").encode_images(imgs)
    assert (fp32 * ref).sum(1).min() > 0.9999
    assert (int8 * ref).sum(1).mean() > 0.95
