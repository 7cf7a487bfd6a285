"""The bad-input corpus through the real CLI: every case is one clear error line, or a skipped and
recorded image while the rest of the run is scored; valid but unusual images are read, as RGB."""
import errno
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bench import registry
from bench.registry.adapter import AdapterCard, TranscriberAdapter
from bench.cli import main
from bench.results.store import RunStore
from tests.badinput import build_image_dataset, images
from tests.badinput.manifests import CASES, H, _row, write_case
from tests.badinput.realformats import lexicon_csv, write_iam
from tests.badinput.settings import SETTINGS
from bench.dataset import ImageLoadError


class Probe(TranscriberAdapter):
    """Transcribes each image as a description of what the adapter received: mode, size, paper, ink."""

    card = AdapterCard(name="probe-badinput", row_name="Probe", family="ocr")

    def load(self) -> None:
        pass

    def transcribe(self, ims, lang):
        out = []
        for im in ims:
            a = np.asarray(im.convert("L"))
            ink = int(a[20, 48]) if im.size == (images.W, images.H) else -1
            out.append(f"{im.mode} {im.size[0]}x{im.size[1]} {int(a[2, 2])} {ink}")
        return out


@pytest.fixture
def probe():
    registry.all_adapters()
    registry.register(Probe)
    yield Probe.card.name
    registry._REGISTRY.pop(Probe.card.name, None)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_image_dataset(tmp_path_factory.mktemp("bad") / "ds")


def _run(results: Path, *args) -> int:
    return main(["run", *args, "--results-dir", str(results), "--no-progress", "--quiet", "--latency-samples", "3",
                 "--no-cache"])


def _job(results: Path, adapter: str, task: str = "within-en") -> dict:
    (p,) = Path(results).glob(f"runs/*/jobs/{adapter}/ood/{task}.json")
    return json.loads(p.read_text())


def test_image_corpus_is_read_or_skipped_and_recorded(corpus, tmp_path, probe):
    root, expect = corpus
    assert _run(tmp_path, "--adapters", probe, "--dataset", str(root), "--no-cross") == 0
    rec = _job(tmp_path, probe)
    reads = {k for k, e in expect.items() if e.outcome == "read"}
    skips = {k: e for k, e in expect.items() if e.outcome == "skip"}
    assert rec["status"] == "done" and rec["metrics"]["n"] == len(reads) and rec["n_skipped"] == len(skips)
    reasons = {s["id"]: s["reason"] for s in rec["skipped"]}
    assert set(reasons) == set(skips)
    for rel, e in skips.items():
        assert e.needle.lower() in reasons[rel].lower(), (rel, reasons[rel])
        assert "\n" not in reasons[rel]
    run = next((tmp_path / "runs").iterdir())
    seen = {p["id"]: p["transcription"] for p in RunStore(run).read_predictions(probe, "ood", "within-en")}
    assert set(seen) == reads
    for rel in reads:
        mode, size, paper, ink = seen[rel].split()
        assert mode == "RGB", rel
        if expect[rel].check_ink:  # the case images: 96x40, ink box in the middle, paper in the corner
            assert size == f"{images.W}x{images.H}", (rel, seen[rel])
            assert abs(int(paper) - expect[rel].paper) <= 3, (rel, seen[rel])
            assert int(ink) <= int(paper) - 100, (rel, seen[rel])


def test_image_corpus_in_a_real_process_has_no_traceback(corpus, tmp_path, plugin_env):
    root, expect = corpus
    res = subprocess.run([sys.executable, "-m", "bench", "run", "--adapters", "plugin-const", "--dataset", str(root),
                          "--results-dir", str(tmp_path), "--no-progress", "--quiet", "--latency-samples", "2"],
                         env=plugin_env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr and "Warning" not in res.stderr, res.stderr
    rec = _job(tmp_path, "plugin-const")
    assert rec["status"] == "done" and rec["metrics"]["n"] + rec["n_skipped"] == len(expect)
    assert rec["n_skipped"] == sum(e.outcome == "skip" for e in expect.values())


def test_all_images_unreadable_skips_the_job_not_the_run(tmp_path, with_plugin):
    case = next(c for c in images.SKIP if c.name == "truncated_png")
    rows = []
    for i in range(2):
        case.make(tmp_path / f"{i}.png")
        rows.append(_row(path=f"{i}.png"))
    (tmp_path / "ds").mkdir()
    for i in range(2):
        (tmp_path / f"{i}.png").rename(tmp_path / "ds" / f"{i}.png")
    (tmp_path / "ds" / "manifest.csv").write_text(H + "".join(rows))
    # the run ends normally, but nothing was measured: exit 1 (issue 25), the reason named in the record
    assert _run(tmp_path / "r", "--adapters", "plugin-const", "--dataset", str(tmp_path / "ds")) == 1
    rec = _job(tmp_path / "r", "plugin-const")
    assert rec["status"] == "skipped" and "no readable query images" in rec["reason"] and "cannot decode" in rec["reason"]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_manifest_is_one_line(case, tmp_path, capsys):
    root = write_case(tmp_path / "ds", case)
    before = _tree(tmp_path)
    assert _run(tmp_path / "r", "--adapters", "tesseract", "--dataset", str(root)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bench: error:"), err
    assert case.needle in err[0], err[0]
    assert _tree(tmp_path) == before and not Path("/srv/x").exists()  # nothing written, inside or out


def test_utf8_bom_manifest_and_language_outside_the_lexicon_are_fine(tmp_path, with_plugin):
    root = tmp_path / "ds"
    root.mkdir()
    for name in ("a", "b", "c"):
        (root / f"{name}.png").write_bytes(images.good_png())
    manifest = H + _row(path="a.png", text="dog") + _row(path="b.png", text="chien", lang="fr") + \
        _row(path="c.png", text="chat", sid="1", lang="fr")
    (root / "manifest.csv").write_bytes(b"\xef\xbb\xbf" + manifest.encode())
    lexicon_csv(root / "lexicon.csv")
    (root / "dataset.json").write_text('{"name": "bom", "lexicon": "lexicon.csv"}')
    assert _run(tmp_path / "r", "--adapters", "plugin-const", "--dataset", str(root)) == 0
    assert _job(tmp_path / "r", "plugin-const", "within-fr")["metrics"]["n"] == 2
    assert _job(tmp_path / "r", "plugin-const", "cross-fr-en")["metrics"]["n"] == 2


def test_iam_cut_mid_line_is_one_line(tmp_path, capsys):
    root = write_iam(tmp_path / "IAM")
    words = root / "ascii" / "words.txt"
    data = words.read_bytes()
    words.write_bytes(data[: data.rindex(b" 27 51")])  # the last line ends after "... 408 768"
    n_lines = data[: data.rindex(b" 27 51")].count(b"\n") + 1
    assert main(["data", "import", "iam", str(root), "--out", str(tmp_path / "ds"), "--no-lexicon",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{words}:{n_lines}: malformed IAM words.txt line" in err[0], err
    assert not (tmp_path / "ds").exists()


def test_iam_with_a_cut_png_imports_and_the_run_skips_it(tmp_path, with_plugin):
    root = write_iam(tmp_path / "IAM")
    png = root / "words" / "a01" / "a01-000u" / "a01-000u-00-01.png"
    png.write_bytes(png.read_bytes()[:60])
    assert main(["data", "import", "iam", str(root), "--out", str(tmp_path / "ds"), "--no-lexicon",
                 "--no-progress"]) == 0
    assert _run(tmp_path / "r", "--adapters", "plugin-const", "--dataset", str(tmp_path / "ds")) == 0
    rec = _job(tmp_path / "r", "plugin-const")
    assert rec["n_skipped"] == 1 and rec["skipped"][0]["id"] == "iam/a01-000u-00-01"
    assert rec["metrics"]["n"] == 6


# --- bad settings and an unwritable results folder -------------------------------------------------
def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _main_rc(argv: list[str]) -> int:
    """main()'s exit status, also when argparse exits (its errors raise SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


@pytest.fixture(scope="module")
def small_ds(tmp_path_factory):
    root = tmp_path_factory.mktemp("settings") / "ds"
    write_case(root, next(c for c in CASES if c.name == "dup_ids"))
    (root / "manifest.csv").write_text(H + _row() + _row(path="b.png", text="cat", sid="1"))
    (root / "b.png").write_bytes(images.good_png())
    return root


@pytest.mark.parametrize("case", SETTINGS, ids=[c.name for c in SETTINGS])
def test_bad_setting_is_one_line_and_writes_nothing(case, small_ds, tmp_path, capsys, monkeypatch, with_plugin):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = _tree(tmp_path)
    rc = _main_rc(["run", "--adapters", "plugin-const", "--dataset", str(small_ds), "--results-dir", "r",
                   "--no-progress", "--quiet", *case.args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("bench: error:"), (rc, err)
    assert case.needle in err[0], err[0]
    assert _tree(tmp_path) == before  # refused before anything was written, inside or outside
    assert not Path("/tmp/xsb-escape").exists()


def test_results_dir_that_is_a_file_is_one_line(small_ds, tmp_path, capsys):
    (tmp_path / "r").write_text("not a folder")
    assert _run(tmp_path / "r", "--adapters", "plugin-const", "--dataset", str(small_ds)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"bench: error: --results-dir {tmp_path / 'r'} is not a folder"]


@pytest.mark.parametrize("where,code,text", [("mkstemp", errno.EROFS, "Read-only file system"),
                                             ("fsync", errno.ENOSPC, "No space left on device")])
def test_read_only_or_full_results_folder_is_one_line(where, code, text, small_ds, tmp_path, capsys, monkeypatch,
                                                      with_plugin):
    """A read-only or full disk (simulated: these tests run as root, whom chmod does not stop) ends
    the run with one line naming the file, and leaves no temporary file."""
    import bench.results.store as store

    def refuse(*args, **kwargs):
        raise OSError(code, text)

    if where == "mkstemp":
        monkeypatch.setattr(store.tempfile, "mkstemp", refuse)
    else:
        monkeypatch.setattr(store.os, "fsync", refuse)
    assert _run(tmp_path / "r", "--adapters", "plugin-const", "--dataset", str(small_ds)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    lines = [l for l in err if l.startswith("bench: error:")]
    assert len(lines) == 1 and f"{text}" in lines[0] and "cannot write" in lines[0], err  # names the file
    assert not any("Traceback" in l for l in err)
    assert not [p for p in (tmp_path / "r").rglob("*.tmp")]


def test_parquet_nulls_where_allowed(tmp_path, with_plugin):
    """A null semantic_id is -1 (as an empty CSV cell), a float 3.0 is 3; text is never "nan"."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    root = tmp_path / "ds"
    root.mkdir()
    for n in ("a", "b", "c"):
        (root / f"{n}.png").write_bytes(images.good_png())
    pd.DataFrame({"path": ["a.png", "b.png", "c.png"], "text": ["dog", "cat", "nan"],
                  "semantic_id": [0.0, None, 3.0], "lang": ["en"] * 3, "style": ["s"] * 3,
                  "split": ["OOD", "ood", "Ood"]}).to_parquet(root / "manifest.parquet")
    from bench.dataset import Dataset

    ds = Dataset.load(root)
    assert ds.samples["semantic_id"].tolist() == [0, -1, 3]
    assert ds.samples["text"].tolist() == ["dog", "cat", "nan"]  # the word "nan" written as text stays
    assert ds.splits == ["ood"]  # split names are case-insensitive: one split, not three


def test_split_names_are_case_insensitive(tmp_path, with_plugin):
    root = tmp_path / "ds"
    root.mkdir()
    for n in ("a", "b", "c"):
        (root / f"{n}.png").write_bytes(images.good_png())
    (root / "manifest.csv").write_text(H + _row(split="OOD") + _row(path="b.png", text="cat", split="ood")
                                       + _row(path="c.png", text="cow", split="Train"))
    assert _run(tmp_path / "r", "--adapters", "plugin-const", "--dataset", str(root), "--no-cross") == 0
    assert _job(tmp_path / "r", "plugin-const")["metrics"]["n"] == 2  # OOD and ood: one split; Train left out
    assert [p.name for p in (tmp_path / "r").glob("runs/*/jobs/plugin-const/*")] == ["ood"]
    assert _run(tmp_path / "r2", "--adapters", "plugin-const", "--dataset", str(root), "--split", "OOD") == 0
    assert [p.name for p in (tmp_path / "r2").glob("runs/*/jobs/plugin-const/*")] == ["ood"]


def test_punctuation_only_labels_warn(tmp_path, with_plugin, capsys):
    root = tmp_path / "ds"
    root.mkdir()
    for n in ("a", "b", "c"):
        (root / f"{n}.png").write_bytes(images.good_png())
    (root / "manifest.csv").write_text(H + _row(text="¿?") + _row(path="b.png", text="...")
                                       + _row(path="c.png", text="dog"))
    assert _run(tmp_path / "r", "--adapters", "plugin-const", "--dataset", str(root), "--no-cross") == 0
    err = capsys.readouterr().err
    assert "warning: 2 label(s) consist only of punctuation, symbols or spaces" in err
    assert "'...', '¿?'" in err and "--strict" in err
    assert _run(tmp_path / "r2", "--adapters", "plugin-const", "--dataset", str(root), "--strict") == 0
    assert "warning" not in capsys.readouterr().err  # raw strings are compared: nothing merges


def test_huge_page_is_refused_from_its_header_fast(tmp_path, monkeypatch):
    from bench.dataset import load_image

    p = tmp_path / "page.png"
    p.write_bytes(images.page_png())
    t0 = time.perf_counter()
    with pytest.raises(ImageLoadError, match=r"9000x9000 = 81.0 Mpx, limit 16 Mpx"):
        load_image(p)
    assert time.perf_counter() - t0 < 1.0  # never decoded (decoding it costs ~20 s and 1.8 GB)
    monkeypatch.setenv("XSB_MAX_IMAGE_PIXELS", "200")
    with pytest.raises(ImageLoadError, match="limit 0.0002 Mpx"):
        load_image(_small_png(tmp_path))


def _small_png(tmp_path: Path) -> Path:
    p = tmp_path / "small.png"
    p.write_bytes(images.good_png())
    return p
