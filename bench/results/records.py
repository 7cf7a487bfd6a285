"""Typed, versioned job and adapter records: the one shape a run writes and every reader reads.

Why: records used to be dicts built in several places and read back with ``.get``, so a renamed key
went unnoticed until a table came out empty. Each record is now one dataclass, written through
``to_disk`` and read through ``from_disk``. ``schema_version`` says which layout a file has:
files written before versioning have none and load as version 0 (every field they lack is None);
keys this version does not know are kept in ``extra`` and written back unchanged. A file from a
newer version, or one without the identifying keys, is refused with a message naming the key.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import BenchError

SCHEMA_VERSION = 1  # 0: records stored before versioning (same keys, no version field)
JOB_STATES = ("done", "failed", "skipped", "unavailable")


class RecordError(BenchError, ValueError):
    """A stored record that cannot be read as this version's record (says which file, key and why);
    a BenchError, so the CLI prints it as one line and exits 2."""


# dataclass field -> key on disk, where the key is not a Python name
_DISK_KEYS = {"random_acc1": "random_acc@1"}
_VERSION_KEY = "schema_version"


def _check_version(d: dict, what: str) -> int:
    version = d.get(_VERSION_KEY, 0)
    if not isinstance(version, int) or version < 0:
        raise RecordError(f"{what}: {_VERSION_KEY} must be a whole number, got {version!r}")
    if version > SCHEMA_VERSION:
        raise RecordError(f"{what}: written by a newer xscript-bench (schema {version}, this reads up to "
                          f"{SCHEMA_VERSION}); upgrade to read it")
    return version


def _require_str(d: dict, key: str, what: str) -> str:
    value = d.get(key)
    if not isinstance(value, str) or not value:
        raise RecordError(f"{what}: key {key!r} is missing or not a string (got {value!r})")
    return value


def _split_known(cls: type, d: dict) -> tuple[dict[str, Any], dict[str, Any]]:
    """(known fields by attribute name, unknown keys) of a stored dict."""
    names = {_DISK_KEYS.get(f.name, f.name): f.name for f in fields(cls) if f.name not in ("extra", _VERSION_KEY)}
    known = {names[k]: v for k, v in d.items() if k in names}
    extra = {k: v for k, v in d.items() if k not in names and k != _VERSION_KEY}
    return known, extra


def _to_disk(rec: Any, skip: tuple[str, ...] = (), keep_null: tuple[str, ...] = ()) -> dict[str, Any]:
    """Version first, then every field that holds a value (None = not recorded, except the fields
    in ``keep_null``, written as null), then the unknown keys."""
    out: dict[str, Any] = {_VERSION_KEY: rec.schema_version}
    for f in fields(rec):
        if f.name in ("extra", _VERSION_KEY) or f.name in skip:
            continue
        value = getattr(rec, f.name)
        if value is not None or f.name in keep_null:
            out[_DISK_KEYS.get(f.name, f.name)] = value
    out.update(rec.extra)
    return out


@dataclass
class JobRecord:
    """One job's outcome: ``jobs/<adapter>/<split>/<task>.json`` (its presence with status done = finished)."""

    adapter: str  # the store name: the adapter, or adapter+lexicon
    split: str
    task: str  # a task key (within-en, cross-en-zh) or "geometry"
    status: str  # one of JOB_STATES
    finished: str | None = None  # when it was written (provenance.now())
    reason: str | None = None  # why it is not done
    attempts: int | None = None  # failed jobs: how many times the unit ran
    family: str | None = None
    mode: str | None = None  # plain or lexicon (retrieval jobs)
    scoring: str | None = None  # nes or cosine
    ties: str | None = None  # tie rule of the metrics; None in records stored before it was recorded
    metrics: dict[str, Any] | None = None
    gallery_size: int | None = None
    random_acc1: float | None = None  # stored as "random_acc@1"
    n_skipped: int | None = None
    skipped: list[dict[str, Any]] | None = None  # query images left out, with their reasons
    geometry: dict[str, Any] | None = None  # R, D, R/D, language-centre distances (geometry jobs)
    image_outputs: dict[str, int] | None = None  # computed and cached image outputs behind it
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know
    schema_version: int = SCHEMA_VERSION

    @property
    def done(self) -> bool:
        return self.status == "done"

    def to_disk(self) -> dict[str, Any]:
        return _to_disk(self)

    @classmethod
    def from_disk(cls, d: Any, where: str = "job record") -> "JobRecord":
        if not isinstance(d, dict):
            raise RecordError(f"{where}: expected a JSON object, got {type(d).__name__}")
        version = _check_version(d, where)
        for key in ("adapter", "split", "task", "status"):
            _require_str(d, key, where)
        if d["status"] == "done":  # a finished job is its numbers: without them it is damage, not a result
            need = "geometry" if d["task"] == "geometry" else "metrics"
            if not isinstance(d.get(need), dict):
                raise RecordError(f"{where}: marked done but key {need!r} is missing or not an object")
        known, extra = _split_known(cls, d)
        return cls(**known, extra=extra, schema_version=version)


@dataclass
class AdapterRecord:
    """One adapter's state in a run: ``adapters/<adapter>.json`` (card, size, latency, why it did not run).

    Units of one adapter merge their records into the stored one (``RunStore.update_adapter``), so
    ``to_disk`` writes only what is recorded: a field left None is not written and does not
    overwrite another unit's value. ``params`` is the exception: an adapter that cannot count its
    parameters records null, which ``params_counted`` tells apart from never having been loaded."""

    adapter: str
    card: dict[str, Any] = field(default_factory=dict)
    status: str | None = None  # loaded, unavailable or failed
    reason: str | None = None
    traceback: str | None = None
    params: int | None = None
    params_counted: bool = False  # params was measured (null on disk when the adapter cannot count)
    latency_ms: float | None = None
    latency_n: int | None = None
    latency_threads: int | None = None
    latency_device: str | None = None
    throughput: dict[str, float] | None = None  # images/s per "split/lang" unit
    languages: dict[str, str] | None = None  # per-language availability, when some are unavailable
    failed_units: int | None = None
    run_notes: dict[str, Any] | None = None
    bridge_of: str | None = None  # adapter+lexicon rows: the transcriber they bridge
    extra: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_disk(self) -> dict[str, Any]:
        return _to_disk(self, skip=("params_counted",), keep_null=("params",) if self.params_counted else ())

    @classmethod
    def from_disk(cls, d: Any, where: str = "adapter record") -> "AdapterRecord":
        if not isinstance(d, dict):
            raise RecordError(f"{where}: expected a JSON object, got {type(d).__name__}")
        version = _check_version(d, where)
        _require_str(d, "adapter", where)
        if not isinstance(d.get("card", {}), dict):
            raise RecordError(f"{where}: key 'card' must be an object")
        known, extra = _split_known(cls, d)
        known.pop("params_counted", None)
        return cls(**known, params_counted="params" in d, extra=extra, schema_version=version)

    def set_latency(self, latency: dict[str, Any]) -> None:
        """Keep a measurement of ``bench.run.latency.measure_latency`` (nothing when it measured nothing)."""
        for key in ("latency_ms", "latency_n", "latency_threads", "latency_device"):
            if key in latency:
                setattr(self, key, latency[key])
