"""Datasets you can trust (issue 25): manifest ids checked against the lexicon, lexicon words that
normalize alike refused, a declared fingerprint verified, symlinked manifests refused."""
import shutil
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from bench.dataset import Dataset
from bench.errors import BenchError
from tests.helpers import make_dataset

COMMON = ["--no-progress", "--quiet", "--latency-samples", "0"]


@pytest.fixture
def ds_copy(rendered_dataset, tmp_path) -> Path:
    return Path(shutil.copytree(rendered_dataset, tmp_path / "ds"))


def _edit_manifest(root: Path, fn) -> None:
    df = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    fn(df)
    df.to_csv(root / "manifest.csv", index=False)


def test_shifted_semantic_ids_are_refused_naming_rows(ds_copy, tmp_path, with_plugin, capsys):
    """A 1-based id column: every cross-language target would be the wrong word (Acc@1 1.00 -> 0.00)."""
    _edit_manifest(ds_copy, lambda df: df.__setitem__("semantic_id", (df["semantic_id"].astype(int) + 1).astype(str)))
    assert main(["run", "--adapters", "plugin-pixels", "--dataset", str(ds_copy), "--results-dir",
                 str(tmp_path / "r"), *COMMON]) == 2
    err = capsys.readouterr().err
    assert "15 row(s) do not match the lexicon word" in err and "rows 2, 3, 4, 5, 6 and 10 more" in err
    assert "'dog' has id 1, which is en 'cat'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_a_validator_can_load_shifted_ids_to_report_them(ds_copy):
    _edit_manifest(ds_copy, lambda df: df.__setitem__("semantic_id", (df["semantic_id"].astype(int) + 1).astype(str)))
    assert len(Dataset.load(ds_copy, check_concepts=False).samples) == 18


def test_semantic_ids_missing_from_the_lexicon_are_refused(ds_copy):
    _edit_manifest(ds_copy, lambda df: df.__setitem__("semantic_id", df["semantic_id"].replace("5", "40")))
    with pytest.raises(BenchError, match=r"3 row\(s\) have a semantic_id that is not in the lexicon"):
        Dataset.load(ds_copy)


def test_words_without_a_concept_and_case_variants_still_load(ds_copy):
    """-1 rows and capitalized renderings of a lexicon word are fine."""
    def edit(df):
        df.loc[0, "semantic_id"] = "-1"
        df.loc[1, "text"] = df.loc[1, "text"].upper()
    _edit_manifest(ds_copy, edit)
    assert len(Dataset.load(ds_copy).samples) == 18


@pytest.mark.parametrize("twin", ["AIR", " air ", "air!"])
def test_lexicon_words_equal_after_normalization_are_refused(tmp_path, twin):
    lex = pd.DataFrame({"semantic_id": [0, 1], "key": ["a", "b"], "en": ["air", twin]})
    lex.to_csv(tmp_path / "lex.csv", index=False)
    from bench.dataset.lexicon import Lexicon

    with pytest.raises(BenchError, match=r"en words 'air' \(semantic_id 0\) and .* are the same word after normalization"):
        Lexicon.load(tmp_path / "lex.csv")


def test_nfd_and_nfc_spellings_are_one_word(tmp_path):
    from bench.dataset.lexicon import Lexicon

    nfd = unicodedata.normalize("NFD", "año")
    assert nfd != "año"
    pd.DataFrame({"semantic_id": [0, 1], "key": ["a", "b"], "es": ["año", nfd]}).to_csv(tmp_path / "l.csv", index=False)
    with pytest.raises(BenchError, match="same word after normalization"):
        Lexicon.load(tmp_path / "l.csv")


def test_a_declared_fingerprint_is_verified_against_the_images(tmp_path, with_plugin, capsys):
    """dataset.json declares a fingerprint; four images are then replaced: a rerun must not serve the
    stored numbers of the old images (it reused them: 1.00 where a fresh run gives less)."""
    import json

    root = make_dataset(tmp_path / "ds", n_words=6)
    meta = json.loads((root / "dataset.json").read_text())
    (root / "dataset.json").write_text(json.dumps({**meta, "fingerprint": "declared-v1"}))
    argv = ["run", "--adapters", "plugin-pixels", "--dataset", str(root), "--results-dir", str(tmp_path / "r"),
            *COMMON, "--no-cross"]
    assert main(argv) == 0
    assert main(argv) == 0  # unchanged images: resumes
    run = next((tmp_path / "r" / "runs").iterdir())
    assert json.loads((run / "run.json").read_text())["content_fingerprint"]
    en = sorted((root / "images" / "ood" / "en").iterdir())
    for a, b in ((en[0], en[1]), (en[2], en[3])):  # swap two pairs: four images replaced
        da, db = a.read_bytes(), b.read_bytes()
        a.write_bytes(db), b.write_bytes(da)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "changed since run" in err and "declares the same fingerprint 'declared-v1'" in err


def test_the_pixel_limit_is_part_of_the_cache_key(ds_copy, tmp_path, with_plugin, monkeypatch, capsys):
    """An image refused under XSB_MAX_IMAGE_PIXELS is decoded once the limit is raised, as the
    refusal advises, with --redo (the cached refusal was served before; only --no-cache worked)."""
    import json

    from PIL import Image

    big = ds_copy / "images" / "ood" / "en" / "0_0.png"
    Image.open(big).resize((400, 200)).save(big)  # 80,000 px; the others are far smaller
    argv = ["run", "--adapters", "plugin-pixels", "--dataset", str(ds_copy), "--results-dir", str(tmp_path / "r"),
            *COMMON, "--no-cross", "--lang", "en"]
    monkeypatch.setenv("XSB_MAX_IMAGE_PIXELS", "50000")
    assert main(argv) == 0
    job = next((tmp_path / "r" / "runs").iterdir()) / "jobs" / "plugin-pixels" / "ood" / "within-en.json"
    assert json.loads(job.read_text())["n_skipped"] == 1
    monkeypatch.setenv("XSB_MAX_IMAGE_PIXELS", "100000")
    assert main([*argv, "--redo", "plugin-pixels"]) == 0
    rec = json.loads(job.read_text())
    assert rec.get("n_skipped", 0) == 0 and rec["metrics"]["n"] == 6
    capsys.readouterr()


def test_data_show_on_a_missing_image_is_one_line(ds_copy, tmp_path, capsys):
    missing = ds_copy / "images" / "ood" / "en" / "0_0.png"
    missing.unlink()
    assert main(["data", "show", "--dataset", str(ds_copy), "--out", str(tmp_path / "sheets")]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["manifest.csv", "dataset.json"])
def test_a_manifest_symlinked_outside_the_folder_is_refused(ds_copy, tmp_path, capsys, name):
    outside = tmp_path / f"elsewhere-{name}"
    (ds_copy / name).rename(outside)
    (ds_copy / name).symlink_to(outside)
    with pytest.raises(BenchError, match=f"{name} points outside the dataset folder"):
        Dataset.load(ds_copy)


def test_the_git_revision_is_read_without_taking_the_index_lock(tmp_path):
    """`git status` refreshes a stale index by taking .git/index.lock and rewriting .git/index, beside
    the user's own git work in that checkout; provenance must only read."""
    import os
    import subprocess
    import time

    from bench.results.provenance import git_revision

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True,
                       env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})

    git("init", "-q")
    (tmp_path / "f.txt").write_text("a\n")
    git("add", "f.txt")
    git("commit", "-qm", "x")
    time.sleep(1.1)
    os.utime(tmp_path / "f.txt")  # same content, newer stat: the index is stale
    before = os.stat(tmp_path / ".git" / "index")
    rev = git_revision(tmp_path)
    after = os.stat(tmp_path / ".git" / "index")
    assert rev["commit"] and rev["dirty"] is False
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # never rewritten
