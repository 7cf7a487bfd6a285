import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# one encoding process unless a test asks for more (tests/test_workers.py does), so timings stay as they were
os.environ.setdefault("XSB_WORKERS", "1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own output cache so tests never see stale outputs."""
    monkeypatch.setenv("XSB_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "xsb-cache"))


@pytest.fixture(scope="session")
def rendered_dataset(tmp_path_factory):
    from tests.helpers import make_dataset

    return make_dataset(tmp_path_factory.mktemp("data") / "ds", n_words=6)


PLUGIN_DIR = os.path.join(os.path.dirname(__file__), "plugin")


@pytest.fixture(scope="session")
def plugin_env():
    """Environment for subprocesses that should see the test plug-in package."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PLUGIN_DIR + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture
def with_plugin(monkeypatch):
    """Make the test plug-in's entry points visible in this process, and remove them afterwards."""
    import importlib
    import sys

    from bench import registry

    registry.all_adapters()  # built-ins first, so they stay registered afterwards
    monkeypatch.syspath_prepend(PLUGIN_DIR)
    importlib.invalidate_caches()
    registry._discovered = False
    registry.all_adapters()
    yield
    for name, cls in list(registry._REGISTRY.items()):
        if cls.__module__ == "xsb_testplugin":
            del registry._REGISTRY[name]
    registry._BROKEN.clear()
    sys.modules.pop("xsb_testplugin", None)
