"""What decides a number is part of its identity: `--limit` cuts queries only, and the output cache
is keyed on everything that produced an output (prompt, adapter code, packages, image content)."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from bench import registry
from bench.registry.adapter import AdapterCard, AdapterOptions, TranscriberAdapter
from bench.cli import main
from bench.dataset import Dataset, write_dataset
from bench.results.store import RunStore
from tests.helpers import fonts_for, make_dataset

WORDS = ["dog", "cat", "sun", "map"]
CANVAS = (96, 40)  # every image the same size: an uncompressed BMP then has the same byte count


def _pixels_digest(im: Image.Image) -> str:
    return hashlib.sha256(np.asarray(im.convert("L")).tobytes()).hexdigest()


class LookupReader(TranscriberAdapter):
    """Reads a word image by looking its pixels up in the table the test rendered: a perfect,
    deterministic 'OCR' that reads whatever the file holds now. ``prompt`` is a setting that changes
    its output, as a vision LLM's prompt does."""

    card = AdapterCard(name="test-lookup", row_name="Lookup (test)", family="ocr", languages=("en",))
    prompt = "read"
    _table: dict[str, str] = {}
    _calls: list[int] = []  # state, not a setting: private names stay out of the key

    def load(self) -> None:
        pass

    def transcribe(self, images, lang):
        LookupReader._calls.append(len(images))
        words = [self._table.get(_pixels_digest(im), "?") for im in images]
        return words if self.prompt == "read" else [f"{self.prompt}:{w}" for w in words]


@pytest.fixture
def lookup(monkeypatch, tmp_path):
    monkeypatch.setenv("XSB_CACHE_DIR", str(tmp_path / "cache"))  # outputs are keyed by content: share none
    registry.all_adapters()
    monkeypatch.setitem(registry._REGISTRY, "test-lookup", LookupReader)
    monkeypatch.setattr(LookupReader, "_table", {})
    monkeypatch.setattr(LookupReader, "_calls", [])
    monkeypatch.setattr(LookupReader, "prompt", "read")
    return LookupReader


def _render(word: str) -> Image.Image:
    font = ImageFont.truetype(fonts_for("en")[0], 24)
    im = Image.new("RGB", CANVAS, "white")
    ImageDraw.Draw(im).text((8, 6), word, fill="black", font=font)
    return im


def _bmp_dataset(root: Path, table: dict[str, str], words=WORDS) -> Path:
    rows = []
    for i, w in enumerate(words):
        rel = f"img/{i}.bmp"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        im = _render(w)
        im.save(root / rel)
        table[_pixels_digest(im)] = w
        rows.append({"path": rel, "text": w, "semantic_id": -1, "lang": "en", "style": "s", "split": "ood"})
    return write_dataset(root, rows, name=root.name)


def _run(ds: Path, results: Path, *extra: str) -> RunStore:
    assert main(["run", "--adapters", "test-lookup", "--dataset", str(ds), "--results-dir", str(results),
                 "--no-progress", "--quiet", "--latency-samples", "0", "--no-cross", *extra]) == 0
    (run,) = list((results / "runs").iterdir())
    return RunStore(run)


def _within(store: RunStore) -> tuple[dict, list[dict]]:
    return (store.read_job("test-lookup", "ood", "within-en"),
            store.read_predictions("test-lookup", "ood", "within-en"))


# --limit ------------------------------------------------------------------------------------------
def test_limit_cuts_queries_not_galleries(tmp_path, with_plugin):
    """Without a lexicon, galleries come from the split's words; --limit must not shrink them."""
    ds = make_dataset(tmp_path / "ds", n_words=6, with_lexicon=False)
    sizes = {}
    for name, extra in (("full", []), ("limited", ["--limit", "2"])):
        assert main(["run", "--adapters", "plugin-const", "--dataset", str(ds), "--results-dir",
                     str(tmp_path / name), "--no-progress", "--quiet", "--latency-samples", "0", *extra]) == 0
        (run,) = list((tmp_path / name / "runs").iterdir())
        store = RunStore(run)
        for task in ("within-en", "within-zh", "cross-en-zh", "cross-es-en"):
            rec = store.read_job("plugin-const", "ood", task)
            assert rec["status"] == "done", rec
            sizes[name, task] = (rec["gallery_size"], rec["metrics"]["n"])
    for task in ("within-en", "within-zh", "cross-en-zh", "cross-es-en"):
        assert sizes["full", task] == (6, 6)
        assert sizes["limited", task] == (6, 2)  # same gallery, fewer queries


# cache key ------------------------------------------------------------------------------------------
def test_image_rewritten_with_same_size_is_read_again(tmp_path, lookup):
    """The stale-cache case: rewrite every image with another word, same byte size and mtime."""
    ds = _bmp_dataset(tmp_path / "ds", lookup._table)
    rec, _ = _within(_run(ds, tmp_path / "r1"))
    assert rec["metrics"]["acc@1"] == 1.0
    first_calls = sum(lookup._calls)
    files = sorted((ds / "img").iterdir())
    stats = [f.stat() for f in files]
    for i, f in enumerate(files):  # rotate the words: every image now shows another word
        _render(WORDS[(i + 1) % len(WORDS)]).save(f)
    for f, st in zip(files, stats):
        assert f.stat().st_size == st.st_size
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    rec, preds = _within(_run(ds, tmp_path / "r2"))
    assert sum(lookup._calls) == 2 * first_calls  # read again, not served from the cache
    assert rec["metrics"]["acc@1"] == 0.0
    assert {p["transcription"] for p in preds} == set(WORDS)
    # and an unchanged folder is served from the cache
    _run(ds, tmp_path / "r3")
    assert sum(lookup._calls) == 2 * first_calls


def test_prompt_change_invalidates_cached_outputs(tmp_path, lookup):
    ds = _bmp_dataset(tmp_path / "ds", lookup._table)
    _run(ds, tmp_path / "r1")
    n = sum(lookup._calls)
    _run(ds, tmp_path / "r2")
    assert sum(lookup._calls) == n  # same settings: cached
    lookup.prompt = "Transcribe"
    _, preds = _within(_run(ds, tmp_path / "r3"))
    assert sum(lookup._calls) == 2 * n
    assert all(p["transcription"].startswith("Transcribe:") for p in preds)


def test_fifo_and_symlink_out_are_skipped_not_served_from_another_dataset(tmp_path, lookup):
    """Dataset B has A's manifest, but one image is a FIFO and one a symlink to A's file: both are
    skipped with their reason (never blocking on the FIFO), the rest is read from B's own bytes."""
    a = _bmp_dataset(tmp_path / "a", lookup._table)
    _run(a, tmp_path / "ra")
    b = _bmp_dataset(tmp_path / "b", lookup._table, words=["sun", "map", "dog", "cat"])
    for name in ("manifest.csv", "dataset.json"):  # same name, texts and paths as A
        (b / name).write_bytes((a / name).read_bytes())
    (b / "img" / "0.bmp").unlink()
    os.mkfifo(b / "img" / "0.bmp")
    (b / "img" / "1.bmp").unlink()
    (b / "img" / "1.bmp").symlink_to(a / "img" / "1.bmp")
    old = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("blocked on the FIFO"))
    signal.alarm(60)
    try:
        rec, preds = _within(_run(b, tmp_path / "rb"))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    reasons = {s["id"]: s["reason"] for s in rec["skipped"]}
    assert reasons == {"img/0.bmp": "not a regular file",
                       "img/1.bmp": "path resolves outside the dataset folder (symlink?)"}
    assert {p["id"]: p["transcription"] for p in preds} == {"img/2.bmp": "dog", "img/3.bmp": "cat"}
    assert rec["metrics"]["acc@1"] == 0.0  # B's images show other words than A's manifest says


def test_content_hashes_are_kept_and_redone_when_a_file_changes(tmp_path, lookup, monkeypatch):
    ds_path = _bmp_dataset(tmp_path / "ds", lookup._table)
    side = tmp_path / "side"
    h1, refused = Dataset.load(ds_path).content_hashes(["img/0.bmp", "img/1.bmp"], side)
    assert not refused and len(set(h1.values())) == 2
    assert len(list(side.glob("*.json"))) == 1
    import bench.dataset.content_hash as dsmod

    real_read = os.read
    monkeypatch.setattr(dsmod.os, "read", lambda *a: pytest.fail("re-read an unchanged file"))
    assert Dataset.load(ds_path).content_hashes(["img/0.bmp", "img/1.bmp"], side)[0] == h1
    monkeypatch.setattr(dsmod.os, "read", real_read)
    st = (ds_path / "img" / "0.bmp").stat()
    _render("zzz").save(ds_path / "img" / "0.bmp")
    os.utime(ds_path / "img" / "0.bmp", ns=(st.st_atime_ns, st.st_mtime_ns))
    h2, _ = Dataset.load(ds_path).content_hashes(["img/0.bmp", "img/1.bmp"], side)
    assert h2["img/0.bmp"] != h1["img/0.bmp"] and h2["img/1.bmp"] == h1["img/1.bmp"]
    # the fingerprint (run identity) follows the content too
    fp = Dataset.load(ds_path).fingerprint
    _render("yyy").save(ds_path / "img" / "1.bmp")
    assert Dataset.load(ds_path).fingerprint != fp


def _write_package(root: Path, name: str, prompt: str, helper_extra: str = "") -> None:
    pkg = root / name
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "_prompts.py").write_text(f"PROMPT = {prompt!r}\n")
    (pkg / "_unrelated.py").write_text(f"X = 1  {helper_extra}\n")
    (pkg / "base.py").write_text(
        "from bench.adapter import TranscriberAdapter\n\n\n"
        "class Base(TranscriberAdapter):\n"
        "    def load(self):\n        pass\n")
    (pkg / "reader.py").write_text(
        "from bench.adapter import AdapterCard\n"
        "from .base import Base\n\n\n"
        "class Reader(Base):\n"
        "    card = AdapterCard(name='pkg-reader', row_name='R', family='ocr')\n\n"
        "    def transcribe(self, images, lang):\n"
        "        from ._prompts import PROMPT\n"
        "        from xsb_keysibling.model import post\n"
        "        return [post(PROMPT) for _ in images]\n")
    sib = root / "xsb_keysibling"  # first-party model code beside the adapters (like ours/)
    sib.mkdir(exist_ok=True)
    (sib / "__init__.py").write_text("")
    if not (sib / "model.py").exists():
        (sib / "model.py").write_text("def post(text):\n    return text\n")


def test_adapter_code_hash_changes_the_key(tmp_path, monkeypatch):
    """The key hashes the class's module, its bases' modules and the package modules they import."""
    from bench.results import cache_identity

    name = "xsb_keypkg"
    _write_package(tmp_path, name, "Read the word.")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    reader = importlib.import_module(f"{name}.reader")
    monkeypatch.setitem(sys.modules, f"{name}.reader", reader)

    def key() -> str:
        cache_identity._code_identity.cache_clear()
        return reader.Reader(AdapterOptions()).cache_key()

    k0 = key()
    assert key() == k0  # deterministic
    _write_package(tmp_path, name, "Read the word.", helper_extra="# an unrelated edit")
    assert key() == k0  # a module the adapter does not import does not matter
    _write_package(tmp_path, name, "Transcribe the word.")  # the prompt lives in an imported helper
    k1 = key()
    assert k1 != k0
    (tmp_path / name / "base.py").write_text((tmp_path / name / "base.py").read_text() + "# base edited\n")
    k2 = key()
    assert k2 != k1  # a base class's module
    (tmp_path / "xsb_keysibling" / "model.py").write_text("def post(text):\n    return text.lower()\n")
    assert key() != k2  # first-party code the adapter imports from a package beside its own
    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        monkeypatch.delitem(sys.modules, mod)


def test_settings_and_package_versions_change_the_key(monkeypatch):
    from bench.results import cache_identity

    base = LookupReader(AdapterOptions()).cache_key()
    monkeypatch.setattr(LookupReader, "prompt", "other")
    assert LookupReader(AdapterOptions()).cache_key() != base
    monkeypatch.setattr(LookupReader, "prompt", "read")
    assert LookupReader(AdapterOptions()).cache_key() == base
    assert LookupReader(AdapterOptions(batch_size=3)).cache_key() != base
    assert LookupReader(AdapterOptions(dtype="float16")).cache_key() != base
    real = cache_identity._version_of
    monkeypatch.setattr(cache_identity, "_version_of", lambda m: "numpy==0.0" if m == "numpy" else real(m))
    assert LookupReader(AdapterOptions()).cache_key() != base
    assert json.dumps(cache_identity.package_versions(LookupReader))  # recorded values are plain data


def test_images_embedded_in_a_parquet_manifest_are_keyed_by_their_bytes(tmp_path, lookup):
    """Images stored in manifest.parquet: rewritten cells are read again, not served from the cache."""
    pa = pytest.importorskip("pyarrow")
    import io

    import pyarrow.parquet as pq

    def write(words):
        cells = []
        for w in words:
            buf = io.BytesIO()
            im = _render(w)
            im.save(buf, format="PNG")
            lookup._table[_pixels_digest(im)] = w
            cells.append({"bytes": buf.getvalue(), "path": None})
        table = pa.table({"text": WORDS, "semantic_id": [-1] * len(WORDS), "lang": ["en"] * len(WORDS),
                          "style": ["s"] * len(WORDS), "split": ["ood"] * len(WORDS), "image": cells})
        (tmp_path / "ds").mkdir(exist_ok=True)
        pq.write_table(table, tmp_path / "ds" / "manifest.parquet", row_group_size=2)
        return [c["bytes"] for c in cells]

    cells = write(WORDS)
    ds = Dataset.load(tmp_path / "ds")
    hashes, refused = ds.content_hashes(ds.samples["path"].tolist(), tmp_path / "side")
    assert not refused
    assert [hashes[p] for p in ds.samples["path"]] == [hashlib.blake2b(c, digest_size=16).hexdigest() for c in cells]
    rec, _ = _within(_run(tmp_path / "ds", tmp_path / "r1"))
    assert rec["metrics"]["acc@1"] == 1.0
    n = sum(lookup._calls)
    write(WORDS[1:] + WORDS[:1])  # same rows and paths, every image now another word
    rec, _ = _within(_run(tmp_path / "ds", tmp_path / "r2"))
    assert rec["metrics"]["acc@1"] == 0.0 and sum(lookup._calls) == 2 * n


def test_tesseract_key_follows_the_traineddata_it_reads(tmp_path, monkeypatch):
    """Tesseract's language models are system files outside any Python package: a changed
    traineddata file must change the cache key; the same bytes elsewhere must not."""
    from adapters.tesseract import TesseractAdapter
    from bench.registry.adapter import AdapterOptions

    def tessdata(folder, eng: bytes):
        folder.mkdir()
        for pack, data in (("eng", eng), ("chi_sim", b"zh"), ("spa", b"es")):
            (folder / f"{pack}.traineddata").write_bytes(data)
        monkeypatch.setenv("TESSDATA_PREFIX", str(folder))
        return TesseractAdapter(AdapterOptions()).model_identity()

    first = tessdata(tmp_path / "a", b"eng v1")
    assert tessdata(tmp_path / "b", b"eng v1") == first  # same files, another folder: same outputs
    assert tessdata(tmp_path / "c", b"eng v2") != first
