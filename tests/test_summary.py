"""The end of `bench run` says what it did: jobs computed, cached, reused, failed (with causes),
images skipped (by reason, with example paths), and the adapters that did not run, grouped by fix."""
import pytest

from bench.registry.adapter import AdapterCard, AdapterOptions
from bench.registry.availability import check_hf_weights, check_modules
from bench.cli import main
from bench.run.summary import fix_of


def _run(args, results):
    return main(["run", *args, "--results-dir", str(results), "--no-progress", "--latency-samples", "2"])


def _summary(err: str) -> list[str]:
    lines = err.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("run ") and " job(s): " in line)
    return lines[start:]


def test_summary_of_a_real_small_run(tmp_path, with_plugin, capsys, monkeypatch):
    from tests.helpers import make_dataset

    monkeypatch.setenv("XSB_CACHE_DIR", str(tmp_path / "cache"))
    ds = make_dataset(tmp_path / "ds", n_words=4)
    en = sorted((ds / "images/ood/en").glob("*.png"))
    en[0].write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    en[1].unlink()
    args = ["--adapters", "plugin-const,plugin-broken,plugin-missing", "--dataset", str(ds), "--no-cross"]
    _run(args, tmp_path / "r")
    out, err = capsys.readouterr()
    lines = _summary(err)
    # 3 within-language jobs per adapter; the constant engine computes, the broken one fails
    assert lines[0].startswith("run testset-")
    assert "9 job(s): 3 computed, 0 reused from stored results (pass --redo ADAPTERS to recompute), " \
           "3 failed, 3 unavailable" in lines[0]
    assert "failed: 3 job(s), by adapter and cause (rerun the same command to retry only those):" in lines
    assert "  plugin-broken ood: 3 job(s) (all its jobs): RuntimeError: engine exploded (attempts: 1)" in lines
    assert "skipped images: 2 (left out of every task that lists them):" in lines
    assert f"  1 file not found: e.g. images/ood/en/{en[1].name}" in lines
    assert any(line.startswith("  1 cannot decode") and en[0].name in line for line in lines)
    assert "did not run: 1 adapter(s), by the fix they need:" in lines
    assert "  pip install 'xscript-bench[nonexistent-extra]': plugin-missing" in lines
    assert lines[-1].startswith("results in ")
    assert "## Not run" not in out  # the reasons are no longer a table after the results

    # the same command again: the finished jobs are reused, the failed ones retried
    _run(args, tmp_path / "r")
    assert "9 job(s): 0 computed, 3 reused from stored results (pass --redo ADAPTERS to recompute), 3 failed" \
        in _summary(capsys.readouterr().err)[0]
    # a new run of the same images is served from the output cache; --redo recomputes (from the cache)
    _run([*args, "--run-id", "again"], tmp_path / "r")
    assert "3 from the output cache" in _summary(capsys.readouterr().err)[0]
    _run([*args, "--redo", "plugin-const", "--no-cache"], tmp_path / "r")
    assert "9 job(s): 3 computed, 0 reused" in _summary(capsys.readouterr().err)[0]


def test_unavailable_adapters_group_by_the_fix_they_need():
    opts = AdapterOptions()
    cards = [AdapterCard(name=f"m{i}", row_name="M", family="embedding", model_id=f"xsb-test/none-such-{i}",
                         revision=rev) for i, rev in enumerate(["a" * 40, None, "b" * 40])]
    fixes = {fix_of(check_hf_weights(c.name, c.model_id, c.revision, opts).reason, c) for c in cards}
    # an unpinned repository is refused with its own fix (pin it), whatever is cached (issue 27)
    assert len(fixes) == 2 and "`hf download <model>`, or pass --allow-download, or --model-path <adapter>=DIR" in fixes
    assert any(f.startswith("pin its 40-hex commit on the card") for f in fixes)
    extra = AdapterCard(name="surya", row_name="S", family="ocr", extra="surya")
    assert fix_of(check_modules(["xsb_no_such_module"], "surya").reason, extra) == "pip install 'xscript-bench[surya]'"
    remote = [AdapterCard(name=f"r{i}", row_name="R", family="vllm", model_id=f"org/r{i}", revision=f"{i}" * 40,
                          trust_remote_code=True) for i in range(2)]
    from bench.registry.adapter import TranscriberAdapter

    reasons = set()
    for card in remote:
        cls = type("R", (TranscriberAdapter,), {"card": card, "load": lambda self: None,
                                                "transcribe": lambda self, ims, lang: []})
        reasons.add(fix_of(cls.availability(opts).reason, card))
    assert reasons == {"pass --trust-remote-code to allow it (pinned to revision <revision>)"}
    assert fix_of("", None) == "unknown reason"


@pytest.mark.parametrize("value", ["0", "-2"])
def test_bad_worker_count_is_one_line(value, tmp_path, rendered_dataset, with_plugin, capsys):
    assert _run(["--adapters", "plugin-const", "--dataset", str(rendered_dataset), "--workers", value],
                tmp_path) == 2
    assert capsys.readouterr().err.strip() == f"bench: error: --workers must be 1 or more (got {value})"


def test_failures_are_one_line_per_adapter_and_cause():
    from bench.results.records import JobRecord
    from bench.run.summary import _failure_lines

    recs = [{"adapter": "eng", "split": "ood", "task": t, "reason": "ValueError: no zh pack\ntraceback..."}
            for t in ("within-zh", "cross-zh-en")]
    recs.append({"adapter": "eng+lexicon", "split": "ood", "task": "cross-zh-en", "reason": "ValueError: no zh pack"})
    recs.append({"adapter": "eng", "split": "id", "task": "within-en", "reason": "killed", "attempts": 2})
    recs = [JobRecord.from_disk({**r, "status": "failed"}) for r in recs]  # as the summary reads them back
    assert _failure_lines(recs, {("eng", "ood"): 15, ("eng", "id"): 1}) == [
        "eng ood: 3 job(s) (within-zh, cross-zh-en, cross-zh-en+lexicon): ValueError: no zh pack (attempts: 1)",
        "eng id: 1 job(s) (all its jobs): killed (attempts: 2)"]
