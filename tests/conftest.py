import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own output cache so tests never see stale outputs."""
    monkeypatch.setenv("XSB_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "xsb-cache"))


@pytest.fixture(scope="session")
def rendered_dataset(tmp_path_factory):
    from tests.helpers import make_dataset

    return make_dataset(tmp_path_factory.mktemp("data") / "ds", n_words=6)
