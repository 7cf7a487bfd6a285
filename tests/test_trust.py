"""Numbers you can trust (issue 25): tables never blend runs, damaged records are errors naming the
file, stored records of the wrong shape are one line and exit 2, never a traceback or a quiet drop."""
import json
import time
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main

COMMON = ["--adapters", "plugin-const", "--no-progress", "--quiet", "--latency-samples", "0", "--no-cross"]


def _run(ds: Path, results: Path, *extra: str) -> int:
    return main(["run", *COMMON, "--dataset", str(ds), "--results-dir", str(results), *extra])


def _only_run(results: Path) -> Path:
    runs = sorted((results / "runs").iterdir())
    assert len(runs) == 1
    return runs[0]


def test_table_rows_never_pool_two_runs_and_name_their_run(rendered_dataset, tmp_path, with_plugin, capsys):
    """Run all languages, then English only (another run): the row is the latest run's English,
    not English pooled with the first run's Chinese and Spanish; the row names its run."""
    assert _run(rendered_dataset, tmp_path) == 0
    first = _only_run(tmp_path).name
    time.sleep(1.1)  # finish times are stored to the second
    assert _run(rendered_dataset, tmp_path, "--lang", "en", "--limit", "5") == 0
    second = next(p.name for p in (tmp_path / "runs").iterdir() if p.name != first)
    capsys.readouterr()
    assert main(["table", "--results-dir", str(tmp_path), "--out", str(tmp_path / "t")]) == 0
    err = capsys.readouterr().err
    assert f"rows from run {second}" in err and first in err
    row = pd.read_csv(tmp_path / "t" / "table2_within.csv").set_index("adapter").loc["plugin-const"]
    assert row["run"] == second
    assert row["ood:n"] == 5  # the English run's 5 queries only (pooled: 5 + 12 from the first run)
    assert row["ood:acc@1"] == 1 / 5  # "dog" for every image: one English word right


def test_a_later_run_where_the_adapter_did_not_finish_does_not_hide_its_numbers(rendered_dataset, tmp_path,
                                                                                 with_plugin, capsys):
    assert _run(rendered_dataset, tmp_path) == 0
    first = _only_run(tmp_path).name
    time.sleep(1.1)
    assert _run(rendered_dataset, tmp_path, "--limit", "5") == 0
    second = next(p for p in (tmp_path / "runs").iterdir() if p.name != first)
    for job in (second / "jobs" / "plugin-const").rglob("*.json"):  # as if it had failed there
        rec = json.loads(job.read_text())
        rec.update(status="failed", reason="engine exploded")
        rec.pop("metrics", None)
        job.write_text(json.dumps(rec))
    capsys.readouterr()
    assert main(["table", "--results-dir", str(tmp_path), "--out", str(tmp_path / "t")]) == 0
    row = pd.read_csv(tmp_path / "t" / "table2_within.csv").set_index("adapter").loc["plugin-const"]
    assert row["run"] == first and row["ood:n"] == 18
    assert f"also in {second.name}" in capsys.readouterr().err


def test_a_truncated_job_file_is_an_error_naming_it(rendered_dataset, tmp_path, with_plugin, capsys):
    assert _run(rendered_dataset, tmp_path) == 0
    job = _only_run(tmp_path) / "jobs" / "plugin-const" / "ood" / "within-zh.json"
    job.write_text(job.read_text()[:40])
    capsys.readouterr()
    for argv in (["table", "--results-dir", str(tmp_path), "--out", str(tmp_path / "t")],
                 ["report", _only_run(tmp_path).name, "--results-dir", str(tmp_path), "--out", str(tmp_path / "r.html")]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert str(job) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _run(rendered_dataset, tmp_path) == 2  # resume: the same one line, nothing recomputed over it
    assert str(job) in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["run.json", "adapter", "job-list", "done-without-metrics"])
def test_damaged_records_are_one_line_and_exit_2(rendered_dataset, tmp_path, with_plugin, capsys, damage):
    assert _run(rendered_dataset, tmp_path) == 0
    run = _only_run(tmp_path)
    job = run / "jobs" / "plugin-const" / "ood" / "within-en.json"
    if damage == "run.json":
        bad = run / "run.json"
        bad.write_text(bad.read_text()[:50])
    elif damage == "adapter":
        bad = run / "adapters" / "plugin-const.json"
        bad.write_text(bad.read_text()[:30])
    elif damage == "job-list":
        bad = job
        bad.write_text(json.dumps([1, 2]))
    else:
        bad = job
        rec = json.loads(job.read_text())
        del rec["metrics"]
        job.write_text(json.dumps(rec))
    capsys.readouterr()
    argvs = [["table", "--results-dir", str(tmp_path), "--out", str(tmp_path / "t")],
             ["report", run.name, "--results-dir", str(tmp_path), "--out", str(tmp_path / "r.html")],
             ["run", *COMMON, "--dataset", str(rendered_dataset), "--results-dir", str(tmp_path)],
             ["run", *COMMON, "--resume", run.name, "--results-dir", str(tmp_path)]]
    if damage == "adapter":  # a finished run never reads its adapter record; one that runs the adapter does
        argvs[2:] = [[*a, "--redo", "plugin-const"] for a in argvs[2:]]
    for argv in argvs:
        assert main(argv) == 2, (damage, argv)
        err = capsys.readouterr().err
        assert str(bad) in err and len(err.strip().splitlines()) == 1, (damage, argv, err)


def _damage_cases():
    import io
    import zipfile

    def npz_cut(p):
        p.write_bytes(p.read_bytes()[:60])  # BadZipFile

    def npz_empty(p):
        p.write_bytes(b"")  # EOFError

    def npz_one_member_cut(p):  # a valid zip whose outputs member is cut short: BadZipFile/EOF on read
        src = zipfile.ZipFile(p)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name in src.namelist():
                data = src.read(name)
                z.writestr(name, data[:20] if name == "outputs.npy" else data)
        p.write_bytes(buf.getvalue())

    def json_list(p):
        p.write_text("[1, 2, 3]")

    def json_short(p):
        d = json.loads(p.read_text())
        d["outputs"] = d["outputs"][:1]
        p.write_text(json.dumps(d))

    def json_errors_list(p):
        d = json.loads(p.read_text())
        d["errors"] = ["x"]
        p.write_text(json.dumps(d))

    return [("array", npz_cut), ("array", npz_empty), ("array", npz_one_member_cut),
            ("text", json_list), ("text", json_short), ("text", json_errors_list)]


@pytest.mark.parametrize("kind,damage", _damage_cases(), ids=lambda v: getattr(v, "__name__", v))
def test_a_damaged_cache_chunk_is_recomputed(tmp_path, kind, damage):
    import numpy as np

    from bench.results.cache import OutputCache

    cache = OutputCache(tmp_path / "cache")
    calls = []

    def fn(idx):
        calls.append(list(idx))
        if kind == "text":
            return [f"t{i}" for i in idx], {}
        return [np.full(4, i, np.float32) for i in idx], {}

    ids = ["a", "b", "c"]
    first = cache.get_or_compute("k", ids, fn, kind, chunk=2)[0]
    chunk = next(p for p in (tmp_path / "cache").rglob("chunk-*") if p.suffix in (".json", ".npz")
                 and len(cache.chunks("k", ids, kind, 2)) and p == cache.chunks("k", ids, kind, 2)[0][1])
    damage(chunk)
    again = cache.get_or_compute("k", ids, fn, kind, chunk=2)[0]
    assert calls == [[0, 1], [2], [0, 1]]  # only the damaged chunk, and it is recomputed
    assert [np.asarray(x).tolist() for x in again] == [np.asarray(x).tolist() for x in first]


@pytest.mark.parametrize("flag", ["--strict", "--no-cross"])
def test_resume_refuses_flags_that_contradict_the_stored_run(rendered_dataset, tmp_path, with_plugin, capsys, flag):
    argv = ["run", "--adapters", "plugin-const", "--no-progress", "--quiet", "--latency-samples", "0",
            "--dataset", str(rendered_dataset), "--results-dir", str(tmp_path)]
    assert main(argv) == 0
    run = _only_run(tmp_path).name
    capsys.readouterr()
    resume = ["run", "--resume", run, "--results-dir", str(tmp_path), "--no-progress", "--quiet"]
    assert main([*resume, flag]) == 2
    err = capsys.readouterr().err
    assert f"{flag} conflicts with the run's stored settings" in err and len(err.strip().splitlines()) == 1
    assert main(resume) == 0  # without the flag it resumes


def test_resume_keeps_a_strict_run_strict(rendered_dataset, tmp_path, with_plugin, capsys):
    argv = ["run", "--adapters", "plugin-const", "--no-progress", "--quiet", "--latency-samples", "0",
            "--dataset", str(rendered_dataset), "--results-dir", str(tmp_path), "--strict", "--no-cross"]
    assert main(argv) == 0
    run = _only_run(tmp_path).name
    assert main(["run", "--resume", run, "--results-dir", str(tmp_path), "--no-progress", "--quiet",
                 "--strict", "--no-cross"]) == 0
    capsys.readouterr()


def test_a_missing_model_path_is_bad_input(rendered_dataset, tmp_path, capsys):
    assert main(["run", "--adapters", "ours-onnx", "--model-path", f"ours-onnx={tmp_path / 'missing'}",
                 "--dataset", str(rendered_dataset), "--results-dir", str(tmp_path / "r"), "--no-progress",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--model-path ours-onnx=" in err and "no such file or folder" in err
    assert not (tmp_path / "r").exists()


def test_a_run_whose_every_image_is_missing_says_so_and_fails(rendered_dataset, tmp_path, with_plugin, capsys):
    import shutil

    ds = Path(shutil.copytree(rendered_dataset, tmp_path / "ds"))
    shutil.rmtree(ds / "images")
    assert _run(ds, tmp_path / "r") == 1
    err = capsys.readouterr().err
    assert "nothing was measured" in err
    assert "no readable query images for within-en: 6 file not found, e.g. images/ood/en/0_0.png" in err


def test_device_cuda_on_a_cpu_engine_records_the_cpu(rendered_dataset, tmp_path, with_plugin, capsys):
    """--device cuda: an engine that never uses an accelerator (card gpu 0) computed on the CPU, and
    its record says so (it said cuda)."""
    assert main(["run", "--adapters", "plugin-const", "--dataset", str(rendered_dataset), "--results-dir",
                 str(tmp_path), "--no-progress", "--quiet", "--latency-samples", "2", "--no-cross",
                 "--device", "cuda"]) == 0
    rec = json.loads((_only_run(tmp_path) / "adapters" / "plugin-const.json").read_text())
    assert rec["latency_ms"] is not None and rec["latency_device"] == "cpu"
    capsys.readouterr()


def test_compute_device_follows_the_card_and_the_machine():
    import sys

    from bench.registry.adapter import device_available
    from bench.registry.options import AdapterOptions
    from bench.registry import get

    tess = get("tesseract")(AdapterOptions(device="cuda"))
    assert tess.compute_device() == "cpu"
    onnx = get("ours-int8")(AdapterOptions(device="cuda"))
    assert onnx.compute_device() == "cpu"
    torch_ours = get("ours")(AdapterOptions(device="cuda"))
    has_cuda = "torch" in sys.modules and device_available("cuda")
    assert torch_ours.compute_device() == ("cuda" if has_cuda else "cpu")


@pytest.mark.parametrize("no_cache", [True, False])
def test_a_read_only_cache_folder_never_stops_a_run(rendered_dataset, tmp_path, with_plugin, capsys, monkeypatch,
                                                    no_cache):
    """The output cache (and its content-hash sidecars) read-only or full: --no-cache runs untouched,
    a cached run goes on uncached with one warning (simulated: tests run as root, whom chmod does not stop)."""
    import errno

    import bench.results.store as store

    cache = str(tmp_path / "cache")
    monkeypatch.setenv("XSB_CACHE_DIR", cache)
    real = store.tempfile.mkstemp

    def refuse(*args, dir=None, **kwargs):
        if str(dir).startswith(cache):
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(store.tempfile, "mkstemp", refuse)
    extra = ["--no-cache"] if no_cache else []
    assert main(["run", "--adapters", "plugin-pixels", "--dataset", str(rendered_dataset), "--results-dir",
                 str(tmp_path / "r"), "--no-progress", "--quiet", "--latency-samples", "0", "--no-cross", *extra]) == 0
    err = capsys.readouterr().err
    assert "3 computed" in err and "Traceback" not in err
    assert ("output cache not written" in err) != no_cache


def test_every_invocation_records_the_cpu_instruction_sets_and_onnxruntime(rendered_dataset, tmp_path, with_plugin,
                                                                          capsys):
    """int8 kernels (and so int8 numbers) depend on AVX2 / AVX-512 / VNNI: the run says which it had."""
    import importlib.metadata

    assert _run(rendered_dataset, tmp_path) == 0
    inv = json.loads((_only_run(tmp_path) / "run.json").read_text())["invocations"][-1]
    flags = set(Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0].split(":", 1)[1].split())
    assert inv["hardware"]["cpu_flags"] == [f for f in inv["hardware"]["cpu_flags"] if f in flags]
    assert ("avx2" in inv["hardware"]["cpu_flags"]) == ("avx2" in flags)
    assert ("avx512_vnni" in inv["hardware"]["cpu_flags"]) == ("avx512_vnni" in flags)
    assert inv["versions"]["onnxruntime"] == importlib.metadata.version("onnxruntime")
    capsys.readouterr()
