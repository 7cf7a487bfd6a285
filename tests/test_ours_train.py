"""Tiny end-to-end training: the loss falls, checkpoints round-trip, a resumed run equals an unbroken one."""
import json

import numpy as np
import torch
from PIL import Image, ImageDraw

from ours.data import FnSource, Item
from ours.model import load_checkpoint
from ours.config import load_config
from ours.train import step_loss, train
from ours.vocab import lexicon_words
from ours.losses import LossConfig

torch.set_num_threads(1)

WORDS = {"en": ["dog", "cat", "sun", "tree"], "es": ["perro", "gato", "sol", "árbol"]}
IDS = {"en": [0, 1, 2, 3], "es": [0, 1, 2, 3]}


def _render(text, lang, seed):
    rng = np.random.default_rng(seed)
    im = Image.new("L", (40 + 12 * len(text), 32), 255)
    ImageDraw.Draw(im).text((int(rng.integers(2, 10)), int(rng.integers(4, 14))), text, fill=0)
    return im


def _source():
    return FnSource([Item(w, lang, i) for lang in WORDS for w, i in zip(WORDS[lang], IDS[lang])], _render)


CFG = {
    "name": "tiny", "seed": 3, "threads": 1, "words": WORDS, "ids": IDS, "batch_size": 8, "instances": 2,
    "log_every": 1, "checkpoint_every_s": 1e9, "eval": {"per_lang": 0},
    "text": {"trainable_layers": 1},
    "loss": {"ctc": True, "sca_weight": 0.5, "lexicon": 0.5}, "lexicon_refresh": 3,
    "stage1": {"images": 32, "lr": 3e-3, "text_lr": 1e-4, "warmup": 0.0, "min_lr_ratio": 1.0},
    "stage2": {"images": 0},
}


def _tiny_tower(trainable_layers=1):
    """A 2-layer BERT with a character tokenizer: exercises the frozen/top split without e5's size."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from ours.texttower import TextTower, TextTowerConfig

    chars = sorted({c for ws in WORDS.values() for w in ws for c in w})
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *chars])}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex("."), "isolated")
    tk.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                      special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="[PAD]", unk_token="[UNK]")
    torch.manual_seed(0)
    enc = BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64, pad_token_id=0)).eval()
    return TextTower(TextTowerConfig(encoder="tiny-test", trainable_layers=trainable_layers, prefix=""), enc, tok)


def _fixed_loss(model):
    src = _source()
    x = torch.stack([torch.from_numpy(__import__("ours.preprocess", fromlist=["to_array"]).to_array(
        src.load(i, 1000 + i)))[None] for i in range(len(src.items))])
    gindex = {g: i for i, g in enumerate(dict.fromkeys(it.group for it in src.items))}
    model.train()
    with torch.no_grad():
        loss, _ = step_loss(model, x, src.items, gindex, LossConfig(ctc=True), torch.device("cpu"))
    return float(loss)


def test_two_steps_lower_the_loss_and_checkpoint_roundtrip(tmp_path):
    from ours.train import build_model

    cfg = load_config(CFG)
    words, _ = lexicon_words(cfg)
    before = build_model(cfg, words, _tiny_tower())
    l0 = _fixed_loss(before)
    run = train(cfg, tmp_path / "run", sources={1: _source()}, text_tower=_tiny_tower(),
                progress=False, stop_after_steps=2)
    assert json.loads((run / "ckpt" / "state.json").read_text())["step"] == 2
    after = build_model(cfg, words, _tiny_tower())
    from safetensors.torch import load_file

    after.load_tensors({k: v for k, v in load_file(str(run / "ckpt" / "train.safetensors")).items()
                        if not k.startswith("opt.")})
    assert _fixed_loss(after) < l0


def test_resume_equals_uninterrupted_and_inference_checkpoint(tmp_path):
    cfg = load_config(CFG)
    a = train(cfg, tmp_path / "a", sources={1: _source()}, text_tower=_tiny_tower(), progress=False)
    b = tmp_path / "b"
    train(cfg, b, sources={1: _source()}, text_tower=_tiny_tower(), progress=False, stop_after_steps=2)
    train(cfg, b, sources={1: _source()}, text_tower=_tiny_tower(), progress=False)
    from safetensors.torch import load_file

    ta, tb = load_file(str(a / "stage1" / "model.safetensors")), load_file(str(b / "stage1" / "model.safetensors"))
    assert set(ta) == set(tb)
    for k in ta:
        assert torch.allclose(ta[k], tb[k], atol=1e-6), k
    assert (a / "log.csv").is_file() and (a / "loss.png").is_file()

    m = load_checkpoint(a / "stage1")
    m.text = _tiny_tower()  # the base encoder is referenced by name; here it is the test's tiny one
    m.text.load_trainable_state(m._pending_text_state)
    imgs = [_render("dog", "en", 1).convert("RGB"), _render("gato", "es", 2)]
    z = m.encode_images(imgs)
    assert z.shape == (2, 128) and np.allclose(np.linalg.norm(z, axis=1), 1, atol=1e-5)
    words, ids, mat = m.anchors.of("es")
    assert words == WORDS["es"] and ids == IDS["es"] and mat.shape == (4, 128)
    emb, found = m.anchor_lookup(["gato", "zzz"], "es")
    assert found.tolist() == [True, False] and np.allclose(emb[0], mat[1])
    # open vocabulary: the text tower reproduces the anchors
    assert np.allclose(m.encode_texts(["gato"])[0], mat[1], atol=1e-4)


def test_frozen_tower_lexicon_softmax_path_and_manifest_source(tmp_path):
    """All-frozen text tower: the lexicon term projects cached pooled outputs; gradients reach the projector."""
    from ours.data import ManifestSource
    from ours.model import OursModel
    from ours.preprocess import batch

    tower = _tiny_tower(trainable_layers=0)
    model = OursModel(text_cfg=tower.cfg, text_tower=tower)
    src = _source()
    texts = [it.text for it in src.items]
    gindex = {g: i for i, g in enumerate(dict.fromkeys(it.group for it in src.items))}
    lex = (texts, torch.tensor([gindex[it.group] for it in src.items]), None, tower.pooled_matrix(texts))
    x = batch([src.load(i, i) for i in range(len(src.items))])
    loss, logs = step_loss(model, x, src.items, gindex, LossConfig(lexicon=1.0), torch.device("cpu"), lexicon=lex)
    loss.backward()
    assert "lex" in logs and np.isfinite(logs["lex"]) and tower.proj.weight.grad.abs().sum() > 0

    (tmp_path / "img").mkdir()
    rows = ["path,text,semantic_id,lang,style,split"]
    for i, (w, lang) in enumerate([("dog", "en"), ("perro", "es"), ("gato", "es")]):
        _render(w, lang, i).save(tmp_path / "img" / f"{i}.png")
        rows.append(f"img/{i}.png,{w},{[0, 0, -1][i]},{lang},s{i},{'train' if i < 2 else 'test'}")
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    ms = ManifestSource(tmp_path, "train")
    assert [it.text for it in ms.items] == ["dog", "perro"] and ms.load(1, 0).mode == "L"
    assert ManifestSource(tmp_path, "test").items[0].group == ("text", "es", "gato")


def test_all_frozen_tower_trains_from_a_run_cache_without_its_encoder(tmp_path):
    """A run folder's text cache is enough to train (a GPU host without the encoder's weights); the
    encoder loads only for a text the cache lacks, and then gives the eager tower's output."""
    from ours.texttower import TextTower
    from ours.text_cache import cached_text_tower, load_text_cache, save_text_cache

    eager = _tiny_tower(trainable_layers=0)
    folder = tmp_path / "enc"
    eager.encoder.save_pretrained(folder)
    eager.tokenizer.save_pretrained(folder)
    eager.cfg.encoder = str(folder)
    all_words = [w for ws in WORDS.values() for w in ws]
    eager.fill_cache(all_words)
    cache = tmp_path / "text_cache.safetensors"
    save_text_cache(eager, cache)

    cfg = load_config({**CFG, "text": {"encoder": str(folder), "trainable_layers": 0, "prefix": ""}})
    lazy = cached_text_tower(cfg, cache)
    assert isinstance(lazy, TextTower) and lazy.encoder is None
    load_text_cache(lazy, cache)
    assert len(lazy.cache) == len(all_words)
    lazy.proj.load_state_dict(eager.proj.state_dict())
    with torch.no_grad():
        assert torch.allclose(lazy(["dog", "gato"]), eager(["dog", "gato"]), atol=1e-6)
    assert lazy.encoder is None  # cached texts never touched the encoder
    with torch.no_grad():
        assert torch.allclose(lazy(["cats"]), eager(["cats"]), atol=1e-5)
    assert lazy.encoder is not None

    # train() builds the lazy tower itself from the run folder's cache; the encoder path then vanishes
    run = tmp_path / "run"
    run.mkdir()
    lazy_cfg = {**cfg, "text": {**cfg["text"], "encoder": str(tmp_path / "gone")}}
    gone = cached_text_tower(load_config(lazy_cfg), cache)
    gone.cache.store.update(eager.cache.store)
    save_text_cache(gone, run / "text_cache.safetensors")
    out = train(lazy_cfg, run, sources={1: _source()}, progress=False, stop_after_steps=2)
    assert json.loads((out / "ckpt" / "state.json").read_text())["step"] == 2


def test_fit_to_budget_sets_image_counts_from_a_probe():
    from ours.budget import fit_to_budget

    cfg = {**CFG, "batch_size": 8, "text": {"trainable_layers": 0},
           "stage1": {**CFG["stage1"], "source": {"kind": "synth", "split": "train"}, "images": 900},
           "stage2": {"images": 100}}
    threads_before = torch.get_num_threads()
    torch.set_num_threads(2)  # the probe times steps on the run's threads (here 1), not on these
    fitted = fit_to_budget(cfg, seconds=600, probe_s=0.5, overhead_s=10)
    assert torch.get_num_threads() == 2  # and leaves the caller's setting as it was
    torch.set_num_threads(threads_before)
    probe = fitted["budget"]["probe"]
    assert probe["render_img_per_s"] > 0 and probe["step_img_per_s"] > 0 and probe["threads"] == 1
    total = fitted["stage1"]["images"] + fitted["stage2"]["images"]
    expected = fitted["budget"]["img_per_s_assumed"] * (600 - 10 - 2 * 0.5)
    assert abs(total - expected) <= 0.01 * expected + 2
    assert abs(fitted["stage2"]["images"] / total - 0.1) < 0.01


def test_a_budget_fitted_run_resumes_with_its_resolved_counts(tmp_path):
    from ours.budget import budgeted_config

    cfg = load_config(CFG)
    saved = load_config(CFG)
    saved["stage1"]["images"], saved["stage2"]["images"] = 777, 77
    saved["budget"] = {"seconds": 60, "probe": {}, "img_per_s_assumed": 15.0}
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert budgeted_config(cfg, tmp_path) == saved
    other = load_config({**CFG, "batch_size": 16})  # a different run: not silently replaced
    assert budgeted_config(other, tmp_path) == other
    (tmp_path / "config.json").write_text(json.dumps(load_config(CFG)))  # no budget: the config as given
    assert budgeted_config(cfg, tmp_path) == cfg


def test_warm_start_begins_from_a_published_checkpoint_and_resumes_exactly(tmp_path):
    from safetensors.torch import load_file

    cfg = load_config(CFG)
    base = train(cfg, tmp_path / "base", sources={1: _source()}, text_tower=_tiny_tower(), progress=False)
    published = base / "stage1"
    assert any(k.startswith("ctc.") for k in load_file(str(published / "model.safetensors")))  # kept for ours-read
    warm = load_config({**CFG, "init": str(published), "stage1": {**CFG["stage1"], "lr": 1e-12}})
    # a near-zero learning rate: the warm-started image tower must come out as it went in
    run = train(warm, tmp_path / "warm", sources={1: _source()}, text_tower=_tiny_tower(), progress=False)
    a, b = load_file(str(published / "model.safetensors")), load_file(str(run / "stage1" / "model.safetensors"))
    for k in (k for k in a if k.startswith("image.") and a[k].is_floating_point() and "running" not in k):
        assert torch.allclose(a[k], b[k], atol=1e-5), k
    init = json.loads((run / "init.json").read_text())
    assert init["from"] == str(published) and init["ctc_head"]
    assert json.loads((run / "stage1" / "config.json").read_text())["meta"]["init"]["sha256"] == init["sha256"]
    # interrupted and resumed: identical to the uninterrupted warm-started run
    warm2 = load_config({**CFG, "init": str(published)})
    full = train(warm2, tmp_path / "w2", sources={1: _source()}, text_tower=_tiny_tower(), progress=False)
    part = tmp_path / "w3"
    train(warm2, part, sources={1: _source()}, text_tower=_tiny_tower(), progress=False, stop_after_steps=2)
    train(warm2, part, sources={1: _source()}, text_tower=_tiny_tower(), progress=False)
    ta, tb = load_file(str(full / "stage1" / "model.safetensors")), load_file(str(part / "stage1" / "model.safetensors"))
    for k in ta:
        assert torch.allclose(ta[k], tb[k], atol=1e-6), k


def test_warm_start_from_a_missing_folder_is_one_clear_error(tmp_path):
    import pytest

    from bench.errors import BenchError

    cfg = load_config({**CFG, "init": str(tmp_path / "nope")})
    with pytest.raises(BenchError, match="no model.safetensors"):
        train(cfg, tmp_path / "run", sources={1: _source()}, text_tower=_tiny_tower(), progress=False)
