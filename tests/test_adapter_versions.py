"""Package ranges on the adapter cards: declared, parseable, reported, and pinned by the extras.

Remote model code is written against one release of a library, named by its own card or
requirements (MiniCPM-o 4.44.2, Phi-3.5-Vision 4.43.0, DeepSeek-OCR 4.46.3, MM-Embed 4.43.4); outside
it, it fails at load or runs and gives other numbers. A card declares the range; availability names
the mismatch and the fix before anything loads; the extra the card names pins that release.
"""
from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from bench import registry
from bench.registry.adapter import AdapterCard, AdapterOptions, TranscriberAdapter
from bench.registry.availability import check_versions

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
REMOTE_4X = ("mm-embed", "deepseek-ocr", "phi35-vision", "minicpm-o-26")
# The transformers release each remote-code card names (where from), and the extra that installs it.
CARD_RELEASE = {
    "minicpm-o-26": ("4.44.2", "minicpm"),  # MiniCPM-o 2.6 card / requirements_o2.6.txt
    "phi35-vision": ("4.43.0", "phi35-vision"),  # Phi-3.5-vision-instruct card, "Requirements"
    "deepseek-ocr": ("4.46.3", "deepseek-ocr"),  # DeepSeek-OCR card (with tokenizers 0.20.3)
    "mm-embed": ("4.43.4", "mm-embed"),  # legacy LLaVA-NeXT merge; MTEB's require_version("transformers==4.43.4")
}
# The tokenizers series each transformers release requires (its setup.py).
TOKENIZERS_FOR = {"4.43": ("0.19", "0.20"), "4.44": ("0.19", "0.20"), "4.46": ("0.20", "0.21")}


class _Old(TranscriberAdapter):
    card = AdapterCard(name="old-remote", row_name="Old", family="ocr", extra="old-extra",
                       requires=("transformers<4.47",))

    def load(self) -> None:  # pragma: no cover - never loaded
        raise AssertionError

    def transcribe(self, images, lang):  # pragma: no cover
        raise AssertionError


def test_mismatch_names_the_range_the_installed_version_and_the_fix():
    installed = importlib.metadata.version("transformers")
    status = _Old.availability(AdapterOptions())
    if Requirement("transformers<4.47").specifier.contains(installed):
        pytest.skip(f"transformers {installed} is inside the range")
    assert not status.ok
    assert str(status) == (f"unavailable: needs transformers <4.47 (installed {installed}); fix: pip install "
                           "'xscript-bench[old-extra]' into a separate environment (the extra installs a version in range)")


def test_inside_the_range_goes_on_to_the_next_checks(monkeypatch):
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version",
                        lambda name: "4.46.3" if name == "transformers" else real(name))
    assert check_versions(["transformers<4.47"], "x").ok
    assert not check_versions(["transformers>=4.52"], "x").ok
    assert "needs transformers >=4.52 (installed 4.46.3)" in check_versions(["transformers>=4.52"], None).reason
    assert check_versions(["not-an-installed-package-xsb<1"], None).ok  # missing packages: check_modules' job


def test_every_card_range_parses_and_remote_rows_declare_their_cards_release():
    reg = registry.all_adapters()
    for name, cls in reg.items():
        for text in cls.card.requires:
            Requirement(text)  # raises on a malformed range
    for name, (release, extra) in CARD_RELEASE.items():
        spec = {Requirement(t).name: Requirement(t).specifier for t in reg[name].card.requires}
        assert spec["transformers"].contains(release), name
        others = [v for v, _ in CARD_RELEASE.values() if v.rsplit(".", 1)[0] != release.rsplit(".", 1)[0]]
        assert not any(spec["transformers"].contains(v) for v in others), f"{name}: range admits another card's release"
        assert reg[name].card.extra == extra
        pins = {Requirement(r).name: str(Requirement(r).specifier) for r in EXTRAS[extra]}
        assert pins["transformers"] == f"=={release}", f"[{extra}] must pin the card's transformers {release}"
        lo, hi = TOKENIZERS_FOR[release.rsplit(".", 1)[0]]
        tok = pins["tokenizers"].removeprefix("==")
        assert Version(lo) <= Version(tok) < Version(hi), f"[{extra}] tokenizers {tok} does not fit transformers {release}"
    core = [Requirement(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    floor = next(r.specifier for r in core if r.name == "transformers")
    for release, _ in CARD_RELEASE.values():  # an extra that pins below the core's floor cannot install
        assert floor.contains(release), f"core transformers{floor} excludes {release}"
    for name in ("e5-v", "gme-qwen2vl-2b", "gme-qwen2vl-7b"):
        spec = {Requirement(t).name: Requirement(t).specifier for t in reg[name].card.requires}
        assert not spec["transformers"].contains("4.51.3") and spec["transformers"].contains("4.52.0"), name


def test_each_extra_pins_a_working_set_inside_its_cards_ranges():
    """Where a card caps a package (remote code written for an older band), the extra it names must pin
    that package to a version inside the cap; no `==` pin anywhere may fall outside a card's range."""
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for name, cls in registry.all_adapters().items():
        card = cls.card
        deps = EXTRAS[card.extra] if card.extra else core
        pins = {Requirement(r).name: Requirement(r).specifier for r in deps}
        for text in card.requires:
            req = Requirement(text)
            exact = [s.version for s in pins.get(req.name, ()) if s.operator == "=="]
            if exact:
                assert req.specifier.contains(exact[0]), \
                    f"{name}: [{card.extra}] pins {req.name}=={exact[0]}, outside {text}"
            if any(s.operator in ("<", "<=", "~=", "==") for s in req.specifier):
                assert card.extra and exact, f"{name}: [{card.extra}] must pin the {req.name} its code needs ({text})"


# baudm/parseq@1902db0 requirements/core.txt (its lock): the set its code was run with.
STRHUB_LOCK = {"pytorch-lightning": "2.2.0.post0", "timm": "0.9.16", "nltk": "3.8.1"}


def test_strhub_pins_the_code_commit_and_its_own_locked_set():
    """The v1.0.0 tag's code needs timm 0.4.12 and lightning 1.4.9 (torch 1.10); the extra pinned
    timm 0.6.13 beside it. Code and packages now come from one commit and its own lock."""
    from adapters.strhub import HUB_COMMIT, ABINetAdapter, PARSeqAdapter

    assert len(HUB_COMMIT) == 40 and int(HUB_COMMIT, 16) >= 0
    pins = {Requirement(r).name: str(Requirement(r).specifier) for r in EXTRAS["strhub"]}
    for pkg, version in STRHUB_LOCK.items():
        assert pins[pkg] == f"=={version}", pkg
    for cls in (ABINetAdapter, PARSeqAdapter):
        assert cls.card.revision == HUB_COMMIT and "nltk" in cls.requires_modules
        for text in cls.card.requires:
            req = Requirement(text)
            if req.name in STRHUB_LOCK:
                assert req.specifier.contains(STRHUB_LOCK[req.name]), text
        spec = {Requirement(t).name: Requirement(t).specifier for t in cls.card.requires}
        assert not spec["timm"].contains("0.6.13") and not spec["timm"].contains("0.4.12")


def test_a_wrong_timm_is_named_before_any_load(monkeypatch):
    from adapters.strhub import PARSeqAdapter

    real = importlib.metadata.version
    fake = {"timm": "0.6.13", "pytorch-lightning": "2.2.0.post0", "nltk": "3.8.1", "torch": "2.2.1"}
    monkeypatch.setattr(importlib.metadata, "version", lambda name: fake.get(name) or real(name))
    status = PARSeqAdapter.availability(AdapterOptions(trust_remote_code=True))
    assert str(status).startswith("unavailable: needs timm <0.10,>=0.9 (installed 0.6.13); fix: pip install "
                                  "'xscript-bench[strhub]' into a separate environment"), str(status)


def test_strhub_never_falls_back_to_a_main_checkout(tmp_path, monkeypatch):
    """A torch hub checkout of `main` is whatever main was when downloaded: not the pinned code."""
    from adapters.strhub import HUB_COMMIT, PARSeqAdapter

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    hub = tmp_path / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    (hub / "checkpoints" / PARSeqAdapter.checkpoint).write_bytes(b"x")
    (hub / "baudm_parseq_main").mkdir()
    (hub / "baudm_parseq_main" / "hubconf.py").write_text("")
    opts = AdapterOptions(trust_remote_code=True)
    assert PARSeqAdapter._code_dir(opts) is None
    status = PARSeqAdapter.check_weights(opts)
    assert not status.ok and HUB_COMMIT in status.reason
    (hub / f"baudm_parseq_{HUB_COMMIT}").mkdir()
    (hub / f"baudm_parseq_{HUB_COMMIT}" / "hubconf.py").write_text("")
    assert PARSeqAdapter.check_weights(opts).ok


def test_listing_reports_the_mismatch(capsys):
    import json

    from bench.cli import main

    installed = importlib.metadata.version("transformers")
    assert main(["list", "--json"]) == 0
    rows = {r["adapter"]: r for r in json.loads(capsys.readouterr().out)}
    reg = registry.all_adapters()
    for name in REMOTE_4X:  # the range is checked before missing packages, so it is what the user sees
        spec = next(Requirement(t).specifier for t in reg[name].card.requires if t.startswith("transformers"))
        if spec.contains(installed):
            continue
        assert rows[name]["status"].startswith(f"unavailable: needs transformers {spec} (installed {installed}); "
                                               "fix: "), rows[name]


def test_rapidocr_records_package_and_bundled_model():
    pytest.importorskip("rapidocr")
    from adapters.rapidocr import RapidOCRAdapter

    if not RapidOCRAdapter.availability(AdapterOptions()).ok:
        pytest.skip(str(RapidOCRAdapter.availability(AdapterOptions())))
    adapter = RapidOCRAdapter(AdapterOptions())
    adapter.ensure_loaded()
    notes = adapter.run_notes()
    assert notes["package"] == f"rapidocr {importlib.metadata.version('rapidocr')}"
    assert notes["rec_model"] and notes["rec_model_file"].endswith(".onnx")
    assert notes["rec_model"].split()[0] in notes["rec_model_file"]  # e.g. "PP-OCRv6 small" / PP-OCRv6_rec_small.onnx
