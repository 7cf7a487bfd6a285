"""IAM words and CASIA-HWDB .gnt readers, and their import into dataset folders, on tiny real-format files."""
import inspect
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.cli import main
from bench.data.readers import hwdb, iam
from bench.data.readers.scheme import resolve_dataset
from bench.dataset import Dataset
from bench.errors import BenchError
from tests.badinput.realformats import gnt_record, iam_line, lexicon_csv, write_gnt, write_iam

HWDB_FILES = {"1001-c": ["狗", "猫", "人"], "1002-c": ["水", "树"]}


@pytest.fixture(scope="module")
def iam_root(tmp_path_factory):
    return write_iam(tmp_path_factory.mktemp("iam") / "IAM")


@pytest.fixture(scope="module")
def lex(tmp_path_factory):
    return lexicon_csv(tmp_path_factory.mktemp("lex") / "lex.csv")


@pytest.fixture(scope="module")
def gnt_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("hwdb") / "Gnt1.1Test"
    bitmaps = {stem: write_gnt(root / f"{stem}.gnt", labels) for stem, labels in HWDB_FILES.items()}
    return root, bitmaps


def _import(*args):
    return main(["data", "import", *map(str, args), "--no-progress"])


def _rows(ds: Dataset) -> dict:
    return {r["id"]: r for r in ds.samples.to_dict("records")}


# --- IAM --------------------------------------------------------------------------------------------
def test_words_txt_honours_ok_err_and_keeps_spaces(iam_root):
    path = iam_root / "ascii" / "words.txt"
    ok = list(iam.read_words_txt(path))
    assert [w.word_id for w in ok] == ["a01-000u-00-00", "a01-000u-00-01", "a01-000u-01-00", "a01-000u-01-01",
                                       "b02-001-00-00", "b02-001-00-01", "b02-001-00-02"]
    assert ok[3].text == "New York" and ok[5].text == '"'
    assert ok[0].box == (408, 768, 27, 51) and ok[0].graylevel == 154 and ok[0].tag == "NN"
    assert ok[0].rel_image == "a01/a01-000u/a01-000u-00-00.png"
    every = list(iam.read_words_txt(path, keep_err=True))
    assert len(every) == 8 and not every[2].ok and every[2].text == "water"


def test_words_line_with_component_count(tmp_path):
    w = iam.parse_words_line("a01-000u-00-01 ok 154 1 507 766 213 48 NN MOVE", "x:1")
    assert (w.graylevel, w.box, w.tag, w.text) == (154, (507, 766, 213, 48), "NN", "MOVE")


@pytest.mark.parametrize("line,needle", [
    ("a01-000u-00-03 ok 154 8", "expected 9+ fields"),
    ("a01-000u-00-03 maybe 154 408 768 27 51 NN dog", "ok or err"),
    ("a01-000u-00-03 ok 154 408 x 27 51 NN dog", "must be integers"),
    ("not_an_id ok 154 408 768 27 51 NN dog", "malformed IAM word id"),
])
def test_malformed_words_line_names_file_and_line(tmp_path, line, needle):
    path = tmp_path / "words.txt"
    path.write_text("# comment\n" + iam_line("a01-000u-00-00", "ok", "A") + "\n" + line + "\n")
    with pytest.raises(BenchError) as err:
        list(iam.read_words_txt(path))
    assert f"{path}:3:" in str(err.value) and needle in str(err.value)


def test_import_iam_matches_lexicon_and_links_images(iam_root, lex, tmp_path):
    out = tmp_path / "ds"
    assert _import("iam", iam_root, "--out", out, "--lexicon", lex) == 0
    ds = Dataset.load(out)
    rows = _rows(ds)
    assert len(rows) == 7 and "iam/a01-000u-00-02" not in rows  # the err word is left out
    dog = rows["iam/a01-000u-00-00"]
    assert (dog["text"], dog["semantic_id"], dog["lang"], dog["split"]) == ("dog", 0, "en", "ood")
    assert dog["style"] == "iam-w000" and rows["iam/b02-001-00-02"]["style"] == "iam-w017"
    assert rows["iam/b02-001-00-00"]["semantic_id"] == 4  # house
    assert rows["iam/a01-000u-01-00"]["semantic_id"] == -1 and rows["iam/a01-000u-01-00"]["text"] == "the"
    assert rows["iam/a01-000u-01-01"]["text"] == "New York"
    for r in rows.values():
        src = iam_root / "words" / Path(r["path"]).relative_to("images/iam")
        assert (out / r["path"]).read_bytes() == src.read_bytes()
        assert not (out / r["path"]).is_symlink()
    assert ds.lexicon is not None and ds.lexicon.words("en")[0] == "dog"
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["name"] == "iam-words" and meta["sources"][0]["format"] == "iam-words"


def test_import_iam_options(iam_root, lex, tmp_path):
    assert _import("iam", iam_root / "ascii" / "words.txt", "--out", tmp_path / "a", "--lexicon", lex,
                   "--keep-err", "--split", "test") == 0
    rows = _rows(Dataset.load(tmp_path / "a"))
    assert rows["iam/a01-000u-00-02"]["semantic_id"] == 2 and {r["split"] for r in rows.values()} == {"test"}
    assert _import("iam", iam_root, "--out", tmp_path / "b", "--lexicon", lex, "--lexicon-only") == 0
    assert sorted(r["text"] for r in _rows(Dataset.load(tmp_path / "b")).values()) == ["cat", "dog", "house", "tree"]
    assert _import("iam", iam_root, "--out", tmp_path / "c", "--no-lexicon") == 0
    ds = Dataset.load(tmp_path / "c")
    assert ds.lexicon is None and set(ds.samples["semantic_id"]) == {-1}


def test_import_iam_without_forms_and_with_missing_images(tmp_path, lex, capsys):
    root = write_iam(tmp_path / "IAM", ascii_dir=False, forms=False)
    (root / "words" / "b02" / "b02-001" / "b02-001-00-02.png").unlink()
    assert _import("iam", root, "--out", tmp_path / "ds", "--lexicon", lex) == 0
    rows = _rows(Dataset.load(tmp_path / "ds"))
    assert len(rows) == 6 and rows["iam/a01-000u-00-00"]["style"] == "iam-a01-000u"
    assert "1 words listed" in capsys.readouterr().err


def test_import_refuses_nonempty_out_and_keeps_it(iam_root, lex, tmp_path, capsys):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "keep.txt").write_text("mine")
    assert _import("iam", iam_root, "--out", tmp_path / "ds", "--lexicon", lex) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "ds").iterdir()] == ["keep.txt"]


def test_missing_lexicon_is_one_line(iam_root, tmp_path, capsys):
    assert _import("iam", iam_root, "--out", tmp_path / "ds", "--lexicon", tmp_path / "nope.csv") == 2
    assert "lexicon not found" in capsys.readouterr().err and not (tmp_path / "ds").exists()


# --- CASIA-HWDB -------------------------------------------------------------------------------------
def test_read_gnt_round_trip(gnt_dir):
    root, bitmaps = gnt_dir
    with open(root / "1001-c.gnt", "rb") as f:
        samples = list(hwdb.read_gnt(f, "1001-c.gnt"))
    assert [s.label for s in samples] == HWDB_FILES["1001-c"]
    for s, b in zip(samples, bitmaps["1001-c"]):
        assert (s.height, s.width) == b.shape
        assert np.array_equal(np.asarray(s.image()), b)
    assert samples[1].offset == 10 + bitmaps["1001-c"][0].size


def _cut(tmp_path, data: bytes, n: int) -> Path:
    p = tmp_path / "cut.gnt"
    p.write_bytes(data[:n])
    return p


def test_truncated_and_corrupt_gnt_name_file_and_offset(tmp_path):
    a, b = np.full((4, 5), 255, np.uint8), np.zeros((3, 3), np.uint8)
    data = gnt_record("狗", a) + gnt_record("猫", b)
    second = 10 + a.size

    def err(path):
        with pytest.raises(BenchError) as e:
            list(hwdb.GntSource(path).samples())
        return str(e.value)

    msg = err(_cut(tmp_path, data, len(data) - 2))
    assert str(tmp_path / "cut.gnt") in msg and f"byte offset {second}" in msg and "truncated" in msg
    msg = err(_cut(tmp_path, data, second + 4))
    assert f"truncated record header at byte offset {second}" in msg
    bad = bytearray(data)
    bad[second:second + 4] = (999).to_bytes(4, "little")
    assert f"byte offset {second} is corrupt" in err(_cut(tmp_path, bytes(bad), len(bad)))
    bad = bytearray(data)
    bad[4:6] = b"\xff\xff"
    assert "not a GBK character" in err(_cut(tmp_path, bytes(bad), len(bad)))


def test_import_hwdb_files_and_zip(gnt_dir, lex, tmp_path):
    root, bitmaps = gnt_dir
    assert _import("hwdb", root, "--out", tmp_path / "ds", "--lexicon", lex) == 0
    rows = _rows(Dataset.load(tmp_path / "ds"))
    assert len(rows) == 5
    dog, ren = rows["hwdb/1001-c/0"], rows["hwdb/1001-c/2"]
    assert (dog["text"], dog["semantic_id"], dog["lang"], dog["style"]) == ("狗", 0, "zh", "hwdb-1001")
    assert (ren["text"], ren["semantic_id"]) == ("人", -1)
    assert rows["hwdb/1002-c/1"]["semantic_id"] == 3 and rows["hwdb/1002-c/1"]["style"] == "hwdb-1002"
    img = Image.open(tmp_path / "ds" / rows["hwdb/1002-c/0"]["path"])
    assert img.mode == "L" and np.array_equal(np.asarray(img), bitmaps["1002-c"][0])
    z = tmp_path / "Gnt1.1Test.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(root / "1002-c.gnt", "1002-c.gnt")
    assert _import("hwdb", z, "--out", tmp_path / "z", "--lexicon", lex, "--lexicon-only") == 0
    assert sorted(_rows(Dataset.load(tmp_path / "z"))) == ["hwdb/1002-c/0", "hwdb/1002-c/1"]


def test_cut_gnt_import_is_one_line_and_leaves_nothing(gnt_dir, lex, tmp_path, capsys):
    root, _ = gnt_dir
    data = (root / "1001-c.gnt").read_bytes()
    cut = tmp_path / "src" / "1003-c.gnt"
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) // 2])
    assert _import("hwdb", cut, "--out", tmp_path / "ds", "--lexicon", lex) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(cut) in err[0] and "byte offset" in err[0]
    assert not (tmp_path / "ds").exists() and not list(tmp_path.glob(".importing-*"))


# --- IAM + HWDB together, the cache scheme --------------------------------------------------------
def test_append_hwdb_to_iam_gives_cross_language_tasks(iam_root, gnt_dir, lex, tmp_path, with_plugin):
    out = tmp_path / "ds"
    assert _import("iam", iam_root, "--out", out, "--lexicon", lex) == 0
    assert _import("hwdb", gnt_dir[0], "--out", out, "--lexicon", lex, "--append") == 0
    assert _import("hwdb", gnt_dir[0], "--out", out, "--lexicon", lex, "--append") == 2  # not twice
    ds = Dataset.load(out)
    assert ds.languages() == ["en", "zh"] and len(ds.samples) == 12 and ds.name == "iam-words+casia-hwdb"
    assert main(["run", "--adapters", "plugin-const", "--dataset", str(out), "--results-dir", str(tmp_path / "r"),
                 "--no-progress", "--quiet", "--latency-samples", "1"]) == 0
    jobs = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "r").glob("runs/*/jobs/plugin-const/ood/*.json")}
    assert {k: v["status"] for k, v in jobs.items()} == {t: "done" for t in
                                                         ("within-en", "within-zh", "cross-en-zh", "cross-zh-en")}
    assert jobs["cross-en-zh"]["metrics"]["n"] == 4  # dog, cat, house, tree have Chinese words
    assert jobs["cross-zh-en"]["metrics"]["n"] == 4  # 狗, 猫, 水, 树 (人 is not in the lexicon)


def test_scheme_imports_once_into_the_cache(iam_root, gnt_dir, lex, tmp_path, monkeypatch):
    monkeypatch.setenv("XSB_DATA_DIR", str(tmp_path / "cache"))
    assert resolve_dataset(str(tmp_path / "plain")) == tmp_path / "plain"
    first = resolve_dataset(f"iam:{iam_root}", progress=False, lexicon=lex)
    assert first.parent == tmp_path / "cache" and first.name.startswith("iam-")
    assert len(Dataset.load(first).samples) == 7
    import bench.data.readers.scheme as scheme

    monkeypatch.setattr(scheme, "import_iam", lambda *a, **k: pytest.fail("imported twice"))
    assert resolve_dataset(f"iam:{iam_root}", progress=False, lexicon=lex) == first
    zh = resolve_dataset(f"hwdb:{gnt_dir[0] / '1001-c.gnt'},{gnt_dir[0] / '1002-c.gnt'}", progress=False, lexicon=lex)
    assert len(Dataset.load(zh).samples) == 5
    assert not list((tmp_path / "cache").glob(".importing-*"))


def _runner_hooked() -> bool:
    from bench.run import runner

    return "resolve_dataset" in inspect.getsource(runner.load_dataset)


@pytest.mark.skipif(not _runner_hooked(), reason="bench/run/runner.py load_dataset does not call resolve_dataset yet")
def test_bench_run_accepts_hwdb_scheme(gnt_dir, lex, tmp_path, monkeypatch, with_plugin):
    import bench.data.readers.scheme as scheme

    monkeypatch.setenv("XSB_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(scheme, "BUILTIN_LEXICON", lex)
    assert main(["run", "--adapters", "plugin-const", "--dataset", f"hwdb:{gnt_dir[0]}", "--no-cross",
                 "--results-dir", str(tmp_path / "r"), "--no-progress", "--quiet", "--latency-samples", "1"]) == 0
    assert list((tmp_path / "r").glob("runs/casia-hwdb-*/jobs/plugin-const/ood/within-zh.json"))
