"""The built-in benchmark: split assignment, sizes, and the cached dataset build."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bench.data import builtin
from bench.dataset import Dataset


@pytest.mark.parametrize("lang", builtin.LANGS)
def test_no_style_in_train_and_ood(lang):
    train = builtin.split_writers("train", lang)
    ood = builtin.split_writers("ood", lang)
    assert train and ood
    assert not {w.id for w in train} & {w.id for w in ood}
    # whole look-alike groups stay on one side
    assert not {w.group for w in train} & {w.group for w in ood}
    assert {w.kind for w in ood} == {"font", "pen"}


@pytest.mark.parametrize("lang", builtin.LANGS)
def test_id_styles_are_fifteen_training_styles(lang):
    train = {w.id for w in builtin.split_writers("train", lang)}
    ids = builtin.split_writers("id", lang)
    assert len(ids) == builtin.ID_STYLES == len({w.id for w in ids})
    assert {w.id for w in ids} <= train


def test_chinese_ood_is_not_a_copy_of_training_fonts():
    ood_fonts = [w for w in builtin.split_writers("ood", "zh") if w.kind == "font"]
    train_groups = {w.group for w in builtin.split_writers("train", "zh")}
    assert ood_fonts
    assert "arphic-kai" in train_groups  # UKai, KaitiM, TW-Kai and the Arphic-derived medians together
    assert all(w.group not in ("arphic-kai", "wenkai") for w in ood_fonts)


def _tiny_lexicon(path: Path, n: int = 6) -> Path:
    src = builtin.LEXICON
    with src.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [r for r in reader if all(r.get(l) for l in builtin.LANGS)][:n]
        fields = reader.fieldnames
    for i, r in enumerate(rows):
        r["semantic_id"] = str(i)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    return path


def test_tiny_build_is_a_valid_dataset_and_is_reused(tmp_path, monkeypatch):
    lex = _tiny_lexicon(tmp_path / "lex.csv")
    path = builtin.ensure_built(scale=0.003, root=tmp_path / "cache", progress=False, lexicon=lex)
    ds = Dataset.load(path)
    assert set(ds.samples["split"]) == set(builtin.SPLITS)
    assert set(ds.samples["lang"]) == set(builtin.LANGS)
    assert ds.lexicon is not None and ds.meta["fingerprint"] in path.name
    for split in builtin.SPLITS:
        styles = set(ds.samples[ds.samples["split"] == split]["style"])
        assert styles
    train = set(ds.samples[ds.samples["split"] == "train"]["style"])
    assert not train & set(ds.samples[ds.samples["split"] == "ood"]["style"])
    assert all((path / p).is_file() for p in ds.samples["path"])

    def no_rebuild(*a, **k):
        raise AssertionError("rebuilt although nothing changed")

    monkeypatch.setattr(builtin, "build", no_rebuild)
    assert builtin.ensure_built(scale=0.003, root=tmp_path / "cache", progress=False, lexicon=lex) == path
    assert builtin.fingerprint(0.003, 1, lex) != builtin.fingerprint(0.003, 0, lex)


def test_default_plan_follows_table_1():
    rows = builtin.plan(1.0)
    count = {}
    for r in rows:
        count[(r["split"], r["lang"])] = count.get((r["split"], r["lang"]), 0) + 1
    for lang in builtin.LANGS:
        assert count[("id", lang)] == builtin.ID_WORDS * builtin.ID_STYLES
        assert count[("ood", lang)] == builtin.OOD_SAMPLES[lang]
    eval_seeds = {r["seed"] for r in rows if r["split"] != "train"}
    assert min(eval_seeds) >= builtin.EVAL_SEED_BASE
    assert len({r["path"] for r in rows}) == len(rows)


def test_code_version_is_kept_across_refactors():
    """The built-in dataset's identity (and the run ids of stored runs) follows the code version.

    If this fails, the synthesizer or split sources changed. Images unchanged (test_synth's
    golden renderings and the build plan): add ``source_hash()`` to ``SAME_OUTPUT_AS``. Images
    changed on purpose: update this pin; stored runs then name another dataset."""
    from bench.data.code_version import code_version, source_hash

    assert code_version() == "1e44bf3e5541", f"source hash {source_hash()} is not in SAME_OUTPUT_AS"
