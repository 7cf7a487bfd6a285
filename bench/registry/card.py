"""The adapter card: what an adapter is (name, paper row, family, model, licence, needs), apart
from how it loads or runs, in the spirit of MTEB's ``ModelMeta``. Stored with every run.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

Family = Literal["ocr", "embedding", "vllm", "ours"]
FAMILY_GROUPS: dict[str, str] = {
    "ocr": "Two-Stage Strategies",
    "embedding": "End-to-End Strategies",
    "vllm": "General Visual Large Language Model Strategies",
    "ours": "Ours",
}


@dataclass(frozen=True)
class AdapterCard:
    """Metadata of one baseline, in the spirit of MTEB's model cards."""

    name: str  # registry name, e.g. "rapidocr"
    row_name: str  # the row name in the paper's tables, e.g. "RapidOCR"
    family: Family
    source: str = ""  # the paper's "Source" column
    citation: str = ""
    model_id: str | None = None  # Hugging Face id or package/engine id
    revision: str | None = None  # pinned revision (commit hash) where there is one
    license: str = "unknown"
    languages: tuple[str, ...] = ()
    extra: str | None = None  # pip extra: pip install 'xscript-bench[<extra>]'
    # Package ranges the adapter was written and checked for (PEP 508, e.g. "transformers<4.47");
    # availability reports a mismatch instead of letting remote code fail or drift at run time.
    requires: tuple[str, ...] = ()
    params_note: str = "all parameters of the loaded model"
    params_m: float | None = None  # known count (millions) for listings before loading
    trust_remote_code: bool = False  # needs --trust-remote-code (no native transformers class)
    native_class: str | None = None  # the transformers class used, if any
    gpu: float = 0.0  # GPUs a job needs (fractions share one), for distributed executors
    memory_gb: float = 2.0
    timeout_s: float | None = None  # longest a unit of work may run on a cluster (--job-timeout overrides)
    # Several independent copies may run side by side, one per worker process (`bench run --workers`).
    # False for an engine that holds a machine-wide resource (a licence server, a shared device,
    # a process-global cache written while encoding): it then encodes in the main process only.
    process_safe: bool = True
    homepage: str = ""
    notes: str = ""
    # How the harness presents the adapter, as data rather than tests of its name:
    # figures draw a featured adapter (the project's own model and its variants) as a star;
    featured: bool = False
    # the adapter this one is a variant of (same model: another stage, runtime or precision), so a
    # figure that shows one of them picks the model itself first;
    variant_of: str | None = None
    # `bench perf <this adapter>` compares these adapters, the first being the baseline of the ratios.
    perf_variants: tuple[str, ...] = ()

    @property
    def scoring(self) -> str:
        return "nes" if self.family in ("ocr", "vllm") else "cosine"

    @property
    def group(self) -> str:
        return FAMILY_GROUPS[self.family]

    def as_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["languages"] = list(self.languages)
        d["requires"] = list(self.requires)
        d["perf_variants"] = list(self.perf_variants)
        d["scoring"] = self.scoring
        return d
