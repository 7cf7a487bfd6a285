"""Bad input gets one line naming the problem, never a traceback."""
import subprocess
import sys

import pytest

from tests.helpers import make_dataset


def _bench(*args, cwd=None):
    if args[0] == "run":
        args = (*args, "--no-progress")
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def _assert_one_line_error(res, *needles):
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    lines = [l for l in res.stderr.splitlines() if l.startswith("bench: error:")]
    assert len(lines) == 1, res.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("cli") / "ds", n_words=2)


def test_unknown_adapter(ds, tmp_path):
    _assert_one_line_error(_bench("run", "--adapters", "nope", "--dataset", str(ds), "--results-dir", str(tmp_path)),
                           "unknown adapter 'nope'")


def test_unknown_split(ds, tmp_path):
    _assert_one_line_error(_bench("run", "--adapters", "tesseract", "--dataset", str(ds), "--split", "test",
                                  "--results-dir", str(tmp_path)), "unknown split 'test'", "ood")


def test_unknown_language(ds, tmp_path):
    _assert_one_line_error(_bench("run", "--adapters", "tesseract", "--dataset", str(ds), "--lang", "fr",
                                  "--results-dir", str(tmp_path)), "unknown language(s) fr")


def test_missing_dataset_folder(tmp_path):
    _assert_one_line_error(_bench("run", "--dataset", str(tmp_path / "absent"), "--results-dir", str(tmp_path)),
                           "dataset folder not found")


@pytest.mark.parametrize("content,needle", [
    (b"path,text,lang,style,split\na.png,dog,en,s,ood\n", "lacks column(s) semantic_id"),
    (b"", "manifest"),
    (b"path,text,semantic_id,lang,style,split\na.png,dog,zero,en,s,ood\n", "semantic_id 'zero' is not an integer"),
    (b"path,text,semantic_id,lang,style,split\na.png,\xff\xfeperro,0,es,s,ood\n", "not UTF-8"),
    (b"path,text,semantic_id,lang,style,split\n../../etc/passwd,x,0,en,s,ood\n", "outside the dataset folder"),
    (b"path,text,semantic_id,lang,style,split\n/etc/passwd,x,0,en,s,ood\n", "outside the dataset folder"),
    (b"path,text,semantic_id,lang,style,split\na.png,x,0,english,s,ood\n", "unknown language code 'english'"),
    (b"id,path,text,semantic_id,lang,style,split\n1,a.png,x,0,en,s,ood\n1,b.png,y,1,en,s,ood\n", "duplicate ids"),
])
def test_bad_manifests(tmp_path, content, needle):
    (tmp_path / "manifest.csv").write_bytes(content)
    _assert_one_line_error(_bench("run", "--adapters", "tesseract", "--dataset", str(tmp_path),
                                  "--results-dir", str(tmp_path / "r")), needle)


def test_table_without_runs(tmp_path):
    _assert_one_line_error(_bench("table", "--results-dir", str(tmp_path)), "no finished jobs")


def test_resume_unknown_run(tmp_path):
    _assert_one_line_error(_bench("run", "--resume", "nope", "--results-dir", str(tmp_path)), "no run 'nope'")


@pytest.mark.parametrize("args,needle", [
    (("perf", "ours", "--samples", "0"), "--samples: must be at least 1"),
    (("perf", "ours", "--limit", "-1"), "--limit: must be at least 0"),
    (("perf", "ours", "--repeats", "x"), "--repeats: expected a whole number"),
    (("perf", "ours", "--device", "gpu9"), "unknown device 'gpu9'"),
    (("perf", "ours", "--workers-compare", "-2"), "--workers-compare: must be at least 0"),
    (("data", "build", "--scale", "-1"), "--scale: must be a positive number"),
    (("data", "show", "--n", "0"), "--n: must be at least 1"),
])
def test_bad_numbers_to_perf_and_data_are_one_line(args, needle):
    _assert_one_line_error(_bench(*args), needle)
