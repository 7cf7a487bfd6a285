"""End-to-end tests of the embedding adapters with tiny random models of their native classes.

Each tiny model (a few thousand to tens of thousands of parameters) is built from a config, saved
with its processor and a word-level tokenizer made from scratch, and run through ``bench run`` with
``--model-path``: embeddings must be unit float32 rows of the model's width, every job must be
recorded with metrics, and a second run under a new run id must reuse the cached outputs (no
chunk rewritten, no text encoded). GME's Qwen2-VL processor needs torchvision, so its test runs only
in an environment that has it (see the README); everything else runs in the core environment.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from bench import cli, registry  # noqa: E402
from bench.registry.adapter import AdapterOptions  # noqa: E402
from tests.helpers import MINI_LEXICON, make_dataset  # noqa: E402

N_WORDS = 3
WORDS = sorted({w for row in MINI_LEXICON[:N_WORDS] for w in row})
PROMPT_WORDS = ("user assistant system Summary above image sentence in one word : You are a helpful . Find an "
                "caption describing the following everyday").split()


# ------------------------------------------------------------------------------------------------
# tiny tokenizers and models
def word_tokenizer(special: list[str], template: tuple[str, str] | None = None, **named):
    """A WordLevel tokenizer over the test words, prompt words and ``special`` tokens."""
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(dict.fromkeys([*special, *PROMPT_WORDS, *WORDS]))}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token=named.get("unk_token", special[1])))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in special])
    if template:
        first, last = template
        tk.post_processor = processors.TemplateProcessing(
            single=f"{first} $A {last}", special_tokens=[(first, vocab[first]), (last, vocab[last])])
    return PreTrainedTokenizerFast(tokenizer_object=tk, model_max_length=4096, **named), vocab


VISION = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
              image_size=32, patch_size=8)
TEXT = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)


def build_chinese_clip(d: Path) -> int:
    from transformers import (ChineseCLIPConfig, ChineseCLIPImageProcessorPil, ChineseCLIPModel,
                              ChineseCLIPProcessor)

    tok, vocab = word_tokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]"], ("[CLS]", "[SEP]"), unk_token="[UNK]",
                                pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]")
    cfg = ChineseCLIPConfig(text_config=dict(vocab_size=len(vocab), max_position_embeddings=64, **TEXT),
                            vision_config=dict(projection_dim=8, **VISION), projection_dim=8)
    ChineseCLIPModel(cfg).save_pretrained(d)
    ip = ChineseCLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    ChineseCLIPProcessor(image_processor=ip, tokenizer=tok).save_pretrained(d)
    return 8


def build_altclip(d: Path) -> int:
    from transformers import AltCLIPConfig, AltCLIPModel, AltCLIPProcessor, CLIPImageProcessorPil

    tok, vocab = word_tokenizer(["<s>", "<unk>", "<pad>", "</s>"], ("<s>", "</s>"), unk_token="<unk>",
                                pad_token="<pad>", bos_token="<s>", eos_token="</s>")
    text = dict(TEXT, vocab_size=len(vocab), max_position_embeddings=96, pad_token_id=vocab["<pad>"],
                project_dim=8, type_vocab_size=1)
    cfg = AltCLIPConfig(text_config=text, vision_config=dict(projection_dim=8, **VISION), projection_dim=8)
    AltCLIPModel(cfg).save_pretrained(d)
    ip = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    AltCLIPProcessor(image_processor=ip, tokenizer=tok).save_pretrained(d)
    return 8


def build_siglip(d: Path) -> int:
    """The published SigLIP 2 fixed-resolution checkpoints are ``SiglipModel``s."""
    from transformers import SiglipConfig, SiglipImageProcessorPil, SiglipModel, SiglipProcessor

    tok, vocab = word_tokenizer(["<pad>", "<unk>", "<eos>"], unk_token="<unk>", pad_token="<pad>",
                                eos_token="<eos>")
    cfg = SiglipConfig(text_config=dict(TEXT, vocab_size=len(vocab), max_position_embeddings=64,
                                        pad_token_id=0, eos_token_id=2),
                       vision_config=VISION)
    SiglipModel(cfg).save_pretrained(d)
    ip = SiglipImageProcessorPil(size={"height": 32, "width": 32})
    SiglipProcessor(image_processor=ip, tokenizer=tok).save_pretrained(d)
    return 16


def build_siglip2_naflex(d: Path) -> int:
    """The NaFlex SigLIP 2 checkpoints are ``Siglip2Model``s (variable patch grids)."""
    from transformers import Siglip2Config, Siglip2ImageProcessorPil, Siglip2Model, Siglip2Processor

    tok, vocab = word_tokenizer(["<pad>", "<unk>", "<eos>"], unk_token="<unk>", pad_token="<pad>",
                                eos_token="<eos>")
    # Siglip2Processor imposes its defaults (16-px patches, at most 256) on the image processor.
    vision = {k: v for k, v in VISION.items() if k not in ("image_size", "patch_size")}
    cfg = Siglip2Config(text_config=dict(TEXT, vocab_size=len(vocab), max_position_embeddings=64,
                                         pad_token_id=0, eos_token_id=2),
                        vision_config=dict(vision, patch_size=16, num_patches=256))
    Siglip2Model(cfg).save_pretrained(d)
    ip = Siglip2ImageProcessorPil()
    Siglip2Processor(image_processor=ip, tokenizer=tok).save_pretrained(d)
    return 16


def build_llava_next(d: Path) -> int:
    from transformers import (LlavaNextConfig, LlavaNextForConditionalGeneration, LlavaNextImageProcessorPil,
                              LlavaNextProcessor)

    special = ["<pad>", "<unk>", "<image>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    tok, vocab = word_tokenizer(special, unk_token="<unk>", pad_token="<pad>",
                                extra_special_tokens={"image_token": "<image>"})
    pinpoints = [[32, 32], [32, 64], [64, 32]]
    cfg = LlavaNextConfig(
        vision_config=dict(VISION, model_type="clip_vision_model", projection_dim=16),
        text_config=dict(TEXT, model_type="llama", vocab_size=len(vocab), num_key_value_heads=1,
                         max_position_embeddings=4096, pad_token_id=0, bos_token_id=None,
                         eos_token_id=vocab["<|eot_id|>"]),
        image_token_index=vocab["<image>"], image_grid_pinpoints=pinpoints, vision_feature_layer=-1,
        vision_feature_select_strategy="default")
    LlavaNextForConditionalGeneration(cfg).save_pretrained(d)
    ip = LlavaNextImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
                                    image_grid_pinpoints=pinpoints)
    LlavaNextProcessor(image_processor=ip, tokenizer=tok, patch_size=8, vision_feature_select_strategy="default",
                       num_additional_image_tokens=1).save_pretrained(d)
    return 16


def build_qwen2_vl(d: Path) -> int:
    from transformers import (Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessor,
                              Qwen2VLProcessor, Qwen2VLVideoProcessor)

    special = ["<|endoftext|>", "<unk>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
               "<|image_pad|>", "<|video_pad|>"]
    tok, vocab = word_tokenizer(special, unk_token="<unk>", pad_token="<|endoftext|>", eos_token="<|im_end|>",
                                extra_special_tokens={"image_token": "<|image_pad|>",
                                                      "video_token": "<|video_pad|>"})
    cfg = Qwen2VLConfig(
        text_config=dict(TEXT, vocab_size=len(vocab), num_key_value_heads=1, max_position_embeddings=4096,
                         rope_scaling={"type": "mrope", "mrope_section": [1, 1, 2]}, pad_token_id=0,
                         bos_token_id=None, eos_token_id=vocab["<|im_end|>"]),
        vision_config=dict(depth=1, embed_dim=16, hidden_size=16, num_heads=2, mlp_ratio=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2, in_channels=3),
        image_token_id=vocab["<|image_pad|>"], video_token_id=vocab["<|video_pad|>"],
        vision_start_token_id=vocab["<|vision_start|>"], vision_end_token_id=vocab["<|vision_end|>"])
    Qwen2VLForConditionalGeneration(cfg).save_pretrained(d)
    Qwen2VLProcessor(image_processor=Qwen2VLImageProcessor(), tokenizer=tok,
                     video_processor=Qwen2VLVideoProcessor()).save_pretrained(d)
    return 16


# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("embds") / "ds", n_words=N_WORDS)


def _chunks(cache: Path) -> dict[str, int]:
    return {str(p.relative_to(cache)): p.stat().st_mtime_ns for p in cache.rglob("chunk-*")}


def _bench_run(name: str, model_dir: Path, dataset: Path, results: Path, run_id: str) -> None:
    rc = cli.main(["run", "--adapters", name, "--dataset", str(dataset), "--model-path", f"{name}={model_dir}",
                   "--results-dir", str(results), "--run-id", run_id, "--no-progress", "--quiet",
                   "--latency-samples", "2"])
    assert rc == 0


def run_end_to_end(name: str, build, tmp_path: Path, dataset: Path, monkeypatch) -> None:
    """Tiny model -> ``bench run`` twice -> check embeddings, job records and cache reuse."""
    model_dir = tmp_path / "model"
    dim = build(model_dir)
    cache = tmp_path / "cache"
    monkeypatch.setenv("XSB_CACHE_DIR", str(cache))
    cls = registry.get(name)
    assert cls.availability(AdapterOptions(model_path=model_dir)).ok

    # Direct use: unit float32 rows of the model's width.
    from PIL import Image

    adapter = cls(AdapterOptions(model_path=model_dir, batch_size=2))
    images = [Image.open(p).convert("RGB") for p in sorted((dataset / "images").rglob("*.png"))[:3]]
    emb_i = adapter.encode_images(images, "en")
    emb_t = adapter.encode_texts(WORDS[:5], "en")
    for emb, n in ((emb_i, 3), (emb_t, 5)):
        assert emb.shape == (n, dim) and emb.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert adapter.num_parameters() and adapter.num_parameters() < 100_000
    adapter.close()

    # Through the harness: every job done with metrics, outputs cached on disk.
    results = tmp_path / "results"
    _bench_run(name, model_dir, dataset, results, "r1")
    run = results / "runs" / "r1"
    rec = json.loads((run / "adapters" / f"{name}.json").read_text())
    assert rec["status"] == "loaded", rec.get("reason")
    assert 0 < rec["params"] < 100_000 and rec["latency_ms"] > 0
    jobs = {p.stem: json.loads(p.read_text()) for p in (run / "jobs" / name).rglob("*.json")}
    retrieval = {k: j for k, j in jobs.items() if k.startswith(("within-", "cross-"))}
    assert len(retrieval) == 3 + 6, sorted(jobs)  # within en/zh/es + six cross-language directions
    assert all(j["status"] == "done" for j in jobs.values()), jobs
    for j in retrieval.values():
        assert j["scoring"] == "cosine" and j["gallery_size"] == N_WORDS
        assert 0.0 <= j["metrics"]["acc@1"] <= 1.0
    first = _chunks(cache)
    assert first, "no cached outputs written"
    for p in cache.rglob("chunk-*.npz"):
        with np.load(p) as z:
            out = z["outputs"]
        assert out.shape[1] == dim
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)

    # Second run, new run id: same chunks, untouched, and no text encoded again.
    calls = {"texts": 0}
    original = cls.encode_texts

    def counting(self, texts, lang):
        calls["texts"] += 1
        return original(self, texts, lang)

    monkeypatch.setattr(cls, "encode_texts", counting)
    _bench_run(name, model_dir, dataset, results, "r2")
    assert _chunks(cache) == first
    assert calls["texts"] == 0
    assert len(list((results / "runs" / "r2" / "jobs" / name).rglob("*.json"))) == len(jobs)


@pytest.mark.slow
@pytest.mark.parametrize("name,build", [
    ("chinese-clip-vit-b16", build_chinese_clip),
    ("altclip", build_altclip),
    ("siglip2-base", build_siglip),
    ("siglip2-so400m", build_siglip2_naflex),
    ("e5-v", build_llava_next),
])
def test_native_adapter_end_to_end(name, build, tmp_path, tiny_dataset, monkeypatch):
    run_end_to_end(name, build, tmp_path, tiny_dataset, monkeypatch)


@pytest.mark.slow
def test_gme_end_to_end(tmp_path, tiny_dataset, monkeypatch):
    pytest.importorskip("torchvision")  # Qwen2-VL's processor (its video processor) needs it
    run_end_to_end("gme-qwen2vl-2b", build_qwen2_vl, tmp_path, tiny_dataset, monkeypatch)


def test_cache_key_tracks_revision_and_folder(tmp_path):
    cls = registry.get("siglip2-base")
    assert cls.card.revision in cls(AdapterOptions()).cache_key()
    d = tmp_path / "m"
    d.mkdir()
    (d / "config.json").write_text("{}")
    k1 = cls(AdapterOptions(model_path=d)).cache_key()
    (d / "model.safetensors").write_bytes(b"x")
    assert cls(AdapterOptions(model_path=d)).cache_key() != k1


# ------------------------------------------------------------------------------------------------
EMBEDDING_ADAPTERS = {
    "chinese-clip-vit-b16": "Chinese CLIP ViT Base", "chinese-clip-vit-l14": "Chinese CLIP ViT Large",
    "chinese-clip-vit-h14": "Chinese CLIP ViT Huge", "altclip": "AltCLIP",
    "nomic-embed-vision-v15": "Nomic-Embed-Vision", "e5-v": "E5-V", "bge-visualized": "BGE-Visualized",
    "mm-embed": "MM-EMBED", "siglip2-base": "SigLIP 2 ViT-B", "siglip2-large": "SigLIP 2 Large",
    "siglip2-so400m": "SigLIP 2 So400m", "siglip2-giant": "SigLIP 2 Giant",
    "gme-qwen2vl-2b": "GME-Qwen2VL-2B", "gme-qwen2vl-7b": "GME-Qwen2VL-7B",
}


@pytest.mark.parametrize("name,row", list(EMBEDDING_ADAPTERS.items()))
def test_all_fourteen_registered_with_cards(name, row):
    card = registry.get(name).card
    assert card.row_name == row and card.family == "embedding" and card.params_m
    assert card.trust_remote_code == (card.native_class is None and name != "bge-visualized")


def _empty_hf_cache(monkeypatch, tmp_path: Path) -> None:
    """Point the Hugging Face cache at an empty folder, so no weights are found anywhere."""
    hub = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hf-hub"))


def test_list_shows_unavailable_with_fix(capsys, monkeypatch, tmp_path):
    _empty_hf_cache(monkeypatch, tmp_path)
    assert cli.main(["list", "--family", "embedding", "--json"]) == 0
    rows = {r["adapter"]: r["status"] for r in json.loads(capsys.readouterr().out)}
    for name in EMBEDDING_ADAPTERS:
        status = rows[name]
        # Remote-code adapters whose packages are installed say to pass --trust-remote-code instead.
        assert status.startswith("unavailable: ") and ("fix:" in status or "--trust-remote-code" in status), \
            (name, status)


def test_run_all_skips_unavailable_embeddings(tmp_path, monkeypatch):
    _empty_hf_cache(monkeypatch, tmp_path)
    monkeypatch.setenv("XSB_CACHE_DIR", str(tmp_path / "cache"))
    ds = make_dataset(tmp_path / "ds", n_words=2)
    results = tmp_path / "results"
    assert cli.main(["run", "--adapters", "all", "--dataset", str(ds), "--results-dir", str(results),
                     "--run-id", "all", "--no-progress", "--quiet", "--latency-samples", "1"]) == 0
    run = results / "runs" / "all"
    for name in EMBEDDING_ADAPTERS:
        rec = json.loads((run / "adapters" / f"{name}.json").read_text())
        assert rec["status"] == "unavailable" and ("fix:" in rec["reason"] or "--trust-remote-code" in rec["reason"])
        jobs = [json.loads(p.read_text()) for p in (run / "jobs" / name).rglob("*.json")]
        assert jobs and all(j["status"] == "unavailable" for j in jobs)
