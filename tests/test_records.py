"""Job and adapter records are typed and versioned: every stored run still loads, and a record
survives a write and a read unchanged."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.results.records import SCHEMA_VERSION, AdapterRecord, JobRecord, RecordError
from bench.results.store import RunStore

RESULTS = Path(__file__).resolve().parent.parent / "results"
JOB_FILES = sorted(p for p in RESULTS.glob("**/runs/*/jobs/*/*/*.json"))
ADAPTER_FILES = sorted(RESULTS.glob("**/runs/*/adapters/*.json"))


def test_every_stored_record_loads_through_the_typed_readers():
    assert JOB_FILES and ADAPTER_FILES, f"no stored runs under {RESULTS}"
    failures = []
    for path, cls in [(p, JobRecord) for p in JOB_FILES] + [(p, AdapterRecord) for p in ADAPTER_FILES]:
        raw = json.loads(path.read_text(encoding="utf-8"))
        try:
            rec = cls.from_disk(raw, str(path))
        except RecordError as exc:
            failures.append(str(exc))
            continue
        # nothing is lost or invented: the stored keys come back, plus the version
        back = rec.to_disk()
        stored = {k: v for k, v in raw.items() if k != "schema_version"}
        if back.pop("schema_version") != raw.get("schema_version", 0) or back != stored:
            failures.append(f"{path}: does not round-trip ({sorted(set(back) ^ set(stored))})")
    assert not failures, f"{len(failures)} stored record(s) do not load:\n" + "\n".join(failures[:20])


def test_stored_finished_jobs_have_what_the_tables_read():
    for path in JOB_FILES:
        rec = JobRecord.from_disk(json.loads(path.read_text(encoding="utf-8")), str(path))
        if rec.done and rec.task != "geometry":
            assert rec.metrics and "acc@1" in rec.metrics and rec.gallery_size, path
        elif rec.done:
            assert rec.geometry and "R" in rec.geometry, path
        else:
            assert rec.reason is not None, path


def test_job_record_round_trips_through_the_store(tmp_path):
    store = RunStore(tmp_path / "runs" / "r")
    rec = JobRecord(adapter="a+lexicon", split="ood", task="cross-en-zh", status="done", finished="2024-01-01T00:00:00",
                    family="ocr", mode="lexicon", scoring="nes", ties="expected",
                    metrics={"acc@1": 0.5, "mrr": 0.6, "n": 2}, gallery_size=4, random_acc1=0.25, n_skipped=1,
                    skipped=[{"id": "x", "path": "p.png", "reason": "cannot decode"}],
                    image_outputs={"computed": 2, "cached": 0}, extra={"from_the_future": [1, 2]})
    store.write_job_record(rec, [{"id": "y", "rank": 1}])
    on_disk = json.loads(store.job_path("a+lexicon", "ood", "cross-en-zh").read_text())
    assert on_disk["schema_version"] == SCHEMA_VERSION and on_disk["random_acc@1"] == 0.25
    assert "geometry" not in on_disk and "reason" not in on_disk  # unset fields are not written
    assert store.read_job_record("a+lexicon", "ood", "cross-en-zh") == rec
    assert list(store.iter_job_records()) == [rec]
    assert store.read_predictions("a+lexicon", "ood", "cross-en-zh") == [{"id": "y", "rank": 1}]


def test_adapter_record_round_trips_and_keeps_an_uncountable_size(tmp_path):
    store = RunStore(tmp_path / "runs" / "r")
    rec = AdapterRecord(adapter="a", card={"name": "a", "family": "ocr"}, status="loaded", reason="",
                        params=None, params_counted=True, latency_ms=1.5, latency_n=3, throughput={"ood/en": 10.0})
    store.update_adapter_record(rec)
    on_disk = json.loads(store.adapter_path("a").read_text())
    assert on_disk["params"] is None and "traceback" not in on_disk
    assert store.read_adapter_record("a") == rec
    # another unit's merge keeps what this one did not record
    store.update_adapter_record(AdapterRecord(adapter="a", card=rec.card, throughput={"ood/zh": 5.0}))
    merged = store.read_adapter_record("a")
    assert merged.latency_ms == 1.5 and merged.throughput == {"ood/en": 10.0, "ood/zh": 5.0}


def test_old_records_load_as_version_0_and_bad_ones_name_the_key():
    old = JobRecord.from_disk({"adapter": "a", "split": "ood", "task": "within-en", "status": "skipped",
                               "reason": "x", "finished": "t"})
    assert old.schema_version == 0 and old.ties is None and old.metrics is None
    with pytest.raises(RecordError, match="'status'"):
        JobRecord.from_disk({"adapter": "a", "split": "ood", "task": "within-en"}, "jobs/a/ood/within-en.json")
    with pytest.raises(RecordError, match="newer"):
        JobRecord.from_disk({"adapter": "a", "split": "s", "task": "t", "status": "done",
                             "schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(RecordError, match="'adapter'"):
        AdapterRecord.from_disk({"card": {}})
