"""Within- and cross-language protocols on a rendered dataset with a declared lexicon."""
import pytest

from bench.dataset import Dataset, write_dataset
from bench.errors import BenchError
from bench.scoring.protocols import Task, build_task, tasks_for


def test_tasks_are_all_directions(rendered_dataset):
    ds = Dataset.load(rendered_dataset)
    keys = [t.key for t in tasks_for(ds, "ood")]
    assert keys[:3] == ["within-en", "within-es", "within-zh"]
    assert sorted(keys[3:]) == sorted(["cross-en-es", "cross-en-zh", "cross-es-en", "cross-es-zh",
                                       "cross-zh-en", "cross-zh-es"])
    assert Task.parse("cross-en-zh") == Task("cross", "en", "zh")


def test_within_language_gallery_and_targets(rendered_dataset):
    ds = Dataset.load(rendered_dataset)
    td = build_task(ds, "ood", Task("within", "es", "es"))
    assert td.gallery == ["perro", "gato", "agua", "casa", "árbol", "libro"]
    assert [td.gallery[t] for t in td.targets] == td.queries["text"].tolist()


def test_cross_language_targets_share_semantic_id(rendered_dataset):
    ds = Dataset.load(rendered_dataset)
    td = build_task(ds, "ood", Task("cross", "zh", "en"))
    assert td.gallery == ["dog", "cat", "water", "house", "tree", "book"]
    for text, t in zip(td.queries["text"], td.targets):
        zh_id = ds.lexicon.id_of("zh")[text]
        assert ds.lexicon.id_of("en")[td.gallery[t]] == zh_id


def _write(tmp_path, rows, lexicon=None):
    for r in rows:
        p = tmp_path / r["path"]
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")
    return Dataset.load(write_dataset(tmp_path, rows, "t", lexicon=lexicon))


def test_without_lexicon_galleries_come_from_the_split(tmp_path):
    rows = [
        {"path": "a.png", "text": "dog", "semantic_id": 0, "lang": "en", "style": "s", "split": "test"},
        {"path": "b.png", "text": "cat", "semantic_id": 1, "lang": "en", "style": "s", "split": "test"},
        {"path": "c.png", "text": "zebra", "semantic_id": -1, "lang": "en", "style": "s", "split": "test"},
        {"path": "d.png", "text": "perro", "semantic_id": 0, "lang": "es", "style": "s", "split": "test"},
    ]
    ds = _write(tmp_path, rows)
    within = build_task(ds, "test", Task("within", "en", "en"))
    assert within.gallery == ["dog", "cat", "zebra"]  # -1 words count within-language
    cross = build_task(ds, "test", Task("cross", "en", "es"))
    assert cross.queries["text"].tolist() == ["dog"]  # cat has no Spanish word, zebra no concept
    assert cross.gallery == ["perro"]
    with pytest.raises(BenchError, match="no es images share a concept"):
        build_task(ds, "test", Task("cross", "es", "zh"))


def test_unknown_language_and_split_are_one_line_errors(rendered_dataset):
    ds = Dataset.load(rendered_dataset)
    with pytest.raises(BenchError, match="unknown language"):
        tasks_for(ds, "ood", ["fr"])
    with pytest.raises(BenchError, match="unknown split 'test'"):
        ds.select("test")


def test_case_twins_are_one_gallery_candidate(tmp_path):
    rows = [
        {"path": "a.png", "text": "The", "semantic_id": -1, "lang": "en", "style": "s", "split": "t"},
        {"path": "b.png", "text": "the", "semantic_id": -1, "lang": "en", "style": "s", "split": "t"},
        {"path": "c.png", "text": "dog", "semantic_id": -1, "lang": "en", "style": "s", "split": "t"},
    ]
    ds = _write(tmp_path, rows)
    td = build_task(ds, "t", Task("within", "en", "en"))
    assert td.gallery == ["The", "dog"] and td.targets.tolist() == [0, 0, 1]
    strict = build_task(ds, "t", Task("within", "en", "en"), strict=True)
    assert strict.gallery == ["The", "the", "dog"]
