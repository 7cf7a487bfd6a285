"""Package ranges on the adapter cards: declared, parseable, reported, and pinned by the extras.

Remote model code is written against one band of a library (MM-Embed, DeepSeek-OCR, Phi-3.5-Vision
and MiniCPM-o against transformers 4.4x); outside it, it fails at load or runs and gives other
numbers. A card declares the ranges; availability names the mismatch and the fix; the extra the card
names pins a version inside them.
"""
from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from bench import registry
from bench.adapter import AdapterCard, AdapterOptions, TranscriberAdapter
from bench.availability import check_versions

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
REMOTE_4X = ("mm-embed", "deepseek-ocr", "phi35-vision", "minicpm-o-26")


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


def test_every_card_range_parses_and_remote_4x_rows_declare_theirs():
    reg = registry.all_adapters()
    for name, cls in reg.items():
        for text in cls.card.requires:
            Requirement(text)  # raises on a malformed range
    for name in REMOTE_4X:
        spec = {Requirement(t).name: Requirement(t).specifier for t in reg[name].card.requires}
        assert "transformers" in spec and not spec["transformers"].contains("4.47.0"), name
        assert spec["transformers"].contains("4.46.3"), name
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


def test_strhub_needs_nltk_and_pins_lightning_1x_and_old_timm():
    from adapters.strhub import ABINetAdapter, PARSeqAdapter

    for cls in (ABINetAdapter, PARSeqAdapter):
        assert "nltk" in cls.requires_modules
    pins = {Requirement(r).name: Requirement(r).specifier for r in EXTRAS["strhub"]}
    assert pins["pytorch-lightning"].contains("1.9.5") and not pins["pytorch-lightning"].contains("2.0.0")
    assert not pins["timm"].contains("0.9.2") and "nltk" in pins


def test_listing_reports_the_mismatch(capsys):
    import json

    from bench.cli import main

    installed = importlib.metadata.version("transformers")
    assert main(["list", "--json"]) == 0
    rows = {r["adapter"]: r for r in json.loads(capsys.readouterr().out)}
    if Requirement("transformers<4.47").specifier.contains(installed):
        pytest.skip(f"transformers {installed} is inside the remote-code range")
    for name in REMOTE_4X:  # the range is checked before missing packages, so it is what the user sees
        assert rows[name]["status"].startswith(f"unavailable: needs transformers <4.47 (installed {installed}); fix: "), rows[name]


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
