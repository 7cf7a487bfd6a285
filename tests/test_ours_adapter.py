"""The ours adapters through the harness, on a random-weight checkpoint written by the test."""
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench.cli import main  # noqa: E402
from tests.helpers import lexicon_frame  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from ours.model import AnchorTable, OursModel, save_checkpoint

    torch.manual_seed(0)
    model = OursModel()
    lex = lexicon_frame(6)
    rng = np.random.default_rng(0)
    words = {l: lex[l].tolist() for l in ("en", "zh", "es")}
    ids = {l: lex["semantic_id"].tolist() for l in ("en", "zh", "es")}
    concept = rng.normal(size=(6, model.image.cfg.dim)).astype(np.float32)
    matrix = np.concatenate([concept + 0.01 * rng.normal(size=concept.shape) for _ in range(3)]).astype(np.float32)
    model.anchors = AnchorTable(words, ids, matrix)
    folder = save_checkpoint(model, tmp_path_factory.mktemp("ck") / "ours")
    return folder


def test_ours_runs_through_bench_with_anchors(rendered_dataset, checkpoint, tmp_path):
    assert main(["run", "--adapters", "ours", "--dataset", str(rendered_dataset), "--model-path",
                 f"ours={checkpoint}", "--results-dir", str(tmp_path), "--no-progress", "--quiet",
                 "--latency-samples", "2"]) == 0
    run = next((tmp_path / "runs").iterdir())
    rec = json.loads((run / "adapters" / "ours.json").read_text())
    assert rec["status"] == "loaded" and 1.2e6 < rec["params"] < 1.4e6  # the image tower only
    # every gallery word was in the anchor table: no text tower needed
    assert rec["run_notes"]["gallery_text_source"]["text_tower"] == 0
    assert rec["run_notes"]["gallery_text_source"]["anchors"] > 0
    for task in ("within-en", "cross-zh-es"):
        job = json.loads((run / "jobs" / "ours" / "ood" / f"{task}.json").read_text())
        assert job["status"] == "done" and job["scoring"] == "cosine" and job["metrics"]["n"] == 6
    geo = json.loads((run / "jobs" / "ours" / "ood" / "geometry.json").read_text())
    assert geo["geometry"]["n_classes"] == 6


def test_words_outside_the_lexicon_need_the_text_tower(checkpoint):
    from bench.registry.adapter import AdapterOptions
    from bench.errors import BenchError
    from adapters.ours import Ours

    ad = Ours(AdapterOptions(model_path=Path(checkpoint)))
    ad.ensure_loaded()
    emb = ad.encode_texts(["dog", "cat"], "en")
    assert emb.shape == (2, 128) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    with pytest.raises(BenchError, match="no text tower"):
        ad.encode_texts(["zebra"], "en")  # this checkpoint was saved without a text tower


def test_missing_checkpoint_is_unavailable_with_the_fix(tmp_path):
    from bench.registry.adapter import AdapterOptions
    from adapters.ours import Ours

    status = Ours.availability(AdapterOptions(model_path=tmp_path / "nothing"))
    assert not status.ok and "ours train --config default" in status.reason


def test_output_cache_key_follows_the_files_each_variant_runs(checkpoint, tmp_path):
    """A re-exported ONNX model must not reuse cached outputs of the previous one (and vice versa)."""
    import shutil

    from bench.registry.adapter import AdapterOptions
    from adapters.ours import Ours, OursInt8

    folder = tmp_path / "ck"
    shutil.copytree(checkpoint, folder)
    (folder / "image_int8.onnx").write_bytes(b"first export")

    def key(cls):
        ad = cls(AdapterOptions(model_path=folder))
        ad.folder = folder  # what load() sets; no model needed to name the outputs
        return ad.cache_key()

    torch_key, int8_key = key(Ours), key(OursInt8)
    (folder / "image_int8.onnx").write_bytes(b"second export")
    assert key(OursInt8) != int8_key
    assert key(Ours) == torch_key  # the torch variant does not run the ONNX file
