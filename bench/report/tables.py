"""Tables regenerated from stored runs only (Table 2, 3 and 4 layouts of the paper).

Within-language numbers pool all query languages of a split (a micro-average over queries, as
Acc@K, MRR and NES are per-query means). A row never blends runs: when an adapter appears in several
runs (another dataset, ``--lang``, ``--limit``, ``--seed`` or ``--ties``), all its numbers come from
the run with its most recently finished job, the column ``run`` names it, and ``collect`` lists the
runs left out (``jobs.attrs["left_out"]``, which ``bench table`` prints). Reported numbers of the paper come from ``results/reported/`` and
are always labelled ``reported``. Every row names the tie rule its Acc@K and MRR used (column
``ties``; jobs stored before the rule was recorded were pessimistic), and the Markdown and LaTeX
copies end with a note that states the rules present.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from ..registry.adapter import FAMILY_GROUPS
from ..results.store import list_runs
from ..scoring.metrics import LEGACY_TIES, pool

METRIC_COLS = ("acc@1", "acc@3", "acc@5", "mrr", "nes")
SPLIT_LABELS = {"id": "In-Domain", "ood": "Out-of-Domain"}
CROSS_ORDER = ("en-zh", "zh-en", "zh-es", "es-zh", "es-en", "en-es")
GROUP_ORDER = list(FAMILY_GROUPS.values())
INT_COLS = ("n_points", "n_classes")
GEOMETRY_FAMILIES = ("embedding", "ours")
TIE_NOTES = {
    "expected": "expected = Acc@K and MRR averaged over every order of the candidates tied with the target "
                "(McSherry & Najork, ECIR 2008)",
    "pessimistic": "pessimistic = the target ranked after every candidate tied with it",
    "optimistic": "optimistic = the target ranked before every candidate tied with it",
}


def collect(results_dir: Path, run_ids: Iterable[str] | None = None, dataset: str | None = None):
    """(jobs, adapters): finished job records and adapter records of the selected runs."""
    runs = list_runs(results_dir)
    if run_ids:
        wanted = set(run_ids)
        runs = [r for r in runs if r.run_id in wanted]
    jobs, adapters = [], []
    for run in runs:
        man = run.read_manifest() or {}
        ds_name = man.get("identity", {}).get("dataset")
        if dataset and ds_name != dataset:
            continue
        for job in run.iter_job_records():  # typed: a record that is not one fails here, naming its file
            row = job.to_disk()
            row.setdefault("run_id", run.run_id)
            row["dataset"] = ds_name
            jobs.append(row)
        for rec in run.iter_adapter_records():
            adapters.append({**rec.to_disk(), "run_id": run.run_id})
    jdf = pd.DataFrame(jobs)
    left_out: dict[str, list[str]] = {}
    if not jdf.empty:
        ties = jdf["ties"] if "ties" in jdf.columns else pd.Series(None, index=jdf.index, dtype=object)
        jdf["ties"] = [t if isinstance(t, str) and t else LEGACY_TIES for t in ties]
        jdf, left_out = _one_run_per_adapter(jdf.sort_values("finished", kind="stable", na_position="first"))
        jdf = jdf.drop_duplicates(["adapter", "split", "task", "status"], keep="last")
        chosen = dict(zip(jdf["adapter"], jdf["run_id"]))
        adapters = [a for a in adapters if chosen.get(a.get("adapter"), a["run_id"]) == a["run_id"]]
    jdf.attrs["left_out"] = left_out
    return jdf, adapters


def _one_run_per_adapter(jobs: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Each adapter's jobs from one run only (the run of its latest done job, else of its latest
    record, ``jobs`` being sorted by finish time), and {adapter: [runs left out]}: pooling jobs of runs
    with other data or settings would make a number no run measured."""
    latest = jobs.groupby("adapter", sort=False)["run_id"].last()
    latest.update(jobs[jobs["status"] == "done"].groupby("adapter", sort=False)["run_id"].last())
    keep = jobs["run_id"] == jobs["adapter"].map(latest)
    left_out = {a: sorted(set(g["run_id"])) for a, g in jobs[~keep].groupby("adapter")}
    return jobs[keep], left_out


def _adapter_info(adapters: list[dict]) -> dict[str, dict]:
    info: dict[str, dict] = {}
    for rec in adapters:
        name = rec.get("adapter")
        if not name:
            continue
        cur = info.setdefault(name, {"card": rec.get("card", {})})
        if rec.get("params") is not None:
            cur["params"] = rec["params"]
        if rec.get("latency_ms") is not None:
            cur["latency_ms"] = rec["latency_ms"]
        if rec.get("status") in ("unavailable", "failed"):
            cur.setdefault("reason", rec.get("reason", ""))
    return info


def _ties_of(grp: pd.DataFrame) -> str:
    """The tie rule(s) behind a row's numbers (several only when runs with different rules mix)."""
    rules = sorted(set(grp["ties"])) if "ties" in grp.columns else [LEGACY_TIES]
    return "+".join(rules)


def _run_of(grp: pd.DataFrame) -> str:
    """The run behind a row (``collect`` keeps one per adapter)."""
    return "+".join(sorted(set(grp["run_id"]))) if "run_id" in grp.columns else ""


def within_table(jobs: pd.DataFrame, adapters: list[dict], splits: list[str] | None = None) -> pd.DataFrame:
    """Table 2 layout: one row per adapter, metric columns per split, params (M) and latency (ms)."""
    done = jobs[(jobs.get("status") == "done") & jobs["task"].str.startswith("within-")] if not jobs.empty else jobs
    if done.empty:
        return pd.DataFrame()
    splits = splits or sorted(done["split"].unique(), key=lambda s: (s not in SPLIT_LABELS, list(SPLIT_LABELS).index(s) if s in SPLIT_LABELS else 0, s))
    info = _adapter_info(adapters)
    rows = []
    for name, grp in done.groupby("adapter", sort=False):
        card = info.get(name, {}).get("card", {})
        row = {"group": FAMILY_GROUPS.get(card.get("family", ""), ""), "method": card.get("row_name", name),
               "adapter": name, "source": "measured", "run": _run_of(grp),
               "ties": _ties_of(grp[grp["split"].isin(splits)])}
        for split in splits:
            pooled = pool([r for r in grp[grp["split"] == split]["metrics"]])
            for m in METRIC_COLS:
                row[f"{split}:{m}"] = pooled.get(m)
            row[f"{split}:n"] = pooled.get("n")
        params = info.get(name, {}).get("params")
        row["params_m"] = params / 1e6 if params else card.get("params_m")
        row["latency_ms"] = info.get(name, {}).get("latency_ms")
        rows.append(row)
    return _order(pd.DataFrame(rows))


def cross_table(jobs: pd.DataFrame, adapters: list[dict], split: str = "ood") -> pd.DataFrame:
    """Table 3 layout: Acc@1 (%) per direction (image language -> text language) and the mean."""
    if jobs.empty:
        return pd.DataFrame()
    done = jobs[(jobs["status"] == "done") & jobs["task"].str.startswith("cross-") & (jobs["split"] == split)]
    if done.empty:
        return pd.DataFrame()
    info = _adapter_info(adapters)
    dirs = sorted({t[len("cross-"):] for t in done["task"]},
                  key=lambda d: (CROSS_ORDER.index(d) if d in CROSS_ORDER else 99, d))
    rows = []
    for name, grp in done.groupby("adapter", sort=False):
        card = info.get(name, {}).get("card", {})
        row = {"group": FAMILY_GROUPS.get(card.get("family", ""), ""), "method": card.get("row_name", name),
               "adapter": name, "source": "measured", "run": _run_of(grp), "ties": _ties_of(grp)}
        vals = []
        for d in dirs:
            hit = grp[grp["task"] == f"cross-{d}"]
            v = 100.0 * hit["metrics"].iloc[0]["acc@1"] if len(hit) else None
            row[d.replace("-", "->")] = v
            if v is not None:
                vals.append(v)
        row["mean"] = sum(vals) / len(vals) if len(vals) == len(dirs) else None
        rand = [100.0 * r for r in grp.get("random_acc@1", pd.Series(dtype=float)).dropna()]
        row["random"] = sum(rand) / len(rand) if rand else None
        rows.append(row)
    return _order(pd.DataFrame(rows))


def unavailable_table(adapters: list[dict]) -> pd.DataFrame:
    rows = [{"adapter": r["adapter"], "status": r.get("status"), "reason": r.get("reason", "")}
            for r in adapters if r.get("status") in ("unavailable", "failed")]
    return pd.DataFrame(rows).drop_duplicates("adapter", keep="last") if rows else pd.DataFrame()


def _order(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    df["_g"] = df["group"].map(lambda g: GROUP_ORDER.index(g) if g in GROUP_ORDER else len(GROUP_ORDER))
    return df.sort_values(["_g", "source"], kind="stable").drop(columns="_g").reset_index(drop=True)


def load_reported(reported_dir: Path, name: str) -> pd.DataFrame:
    p = Path(reported_dir) / name
    if not p.is_file():
        return pd.DataFrame()
    df = pd.read_csv(p)
    df["source"] = "reported"
    return df


def with_reported(measured: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """Measured rows followed, within each group, by the paper's rows labelled 'reported'."""
    if reported.empty:
        return measured
    rep = reported.drop(columns=[c for c in ("paper_source",) if c in reported.columns]).copy()
    rep["method"] = rep["method"] + " (reported)"
    both = pd.concat([measured, rep], ignore_index=True)
    first = {a: i for i, a in reversed(list(enumerate(both["adapter"])))}
    both["_a"] = both["adapter"].map(first)
    both["_g"] = both["group"].map(lambda g: GROUP_ORDER.index(g) if g in GROUP_ORDER else len(GROUP_ORDER))
    both["_s"] = (both["source"] == "reported").astype(int)
    return both.sort_values(["_g", "_a", "_s"], kind="stable").drop(columns=["_a", "_g", "_s"]).reset_index(drop=True)


def _display(df: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Counts as integers and missing values as None, so they print as '-'."""
    out = pd.DataFrame({c: [None if pd.isna(v) else v for v in df[c]] for c in df.columns}, dtype=object)
    for c in [c for c in out.columns if c.endswith(":n") or c in INT_COLS]:
        out[c] = pd.Series([None if v is None else int(v) for v in out[c]], dtype=object, index=out.index)
    return out[columns or _column_order(list(out.columns))]


def _column_order(cols: list[str]) -> list[str]:
    """Identity columns, then split blocks (in-domain first, then OOD, then others), then cost."""
    head = [c for c in ("group", "method", "adapter", "source", "run", "ties") if c in cols]
    tail = [c for c in ("params_m", "latency_ms") if c in cols]
    splits = []
    for c in cols:
        if ":" in c and c.split(":")[0] not in splits:
            splits.append(c.split(":")[0])
    splits.sort(key=lambda s: (list(SPLIT_LABELS).index(s) if s in SPLIT_LABELS else len(SPLIT_LABELS), s))
    mid = [c for s in splits for c in cols if c.startswith(f"{s}:")]
    rest = [c for c in cols if c not in head + tail + mid]
    return head + mid + rest + tail


def tie_note(df: pd.DataFrame) -> str:
    """One line stating the tie rule(s) of a table's measured rows ('' when it has none)."""
    if df.empty or "ties" not in df.columns:
        return ""
    rules = sorted({r for v in df["ties"] if isinstance(v, str) for r in v.split("+")},
                   key=lambda r: list(TIE_NOTES).index(r) if r in TIE_NOTES else len(TIE_NOTES))
    if not rules:
        return ""
    return "Ties (column ties): " + "; ".join(TIE_NOTES.get(r, r) for r in rules) + "."


def to_markdown(df: pd.DataFrame, floatfmt: str = ".4f", columns: list[str] | None = None,
                note: bool = True) -> str:
    """A Markdown table, followed by the tie-rule note when ``note`` and the table has one."""
    if df.empty:
        return "(no results)"
    text = _display(df, columns).to_markdown(index=False, floatfmt=floatfmt, missingval="-")
    line = tie_note(df) if note else ""
    return f"{text}\n\n{line}" if line else text


def write_table(df: pd.DataFrame, out_dir: Path, stem: str, floatfmt: str = ".4f",
                columns: list[str] | None = None) -> list[Path]:
    """Markdown, LaTeX and CSV copies of one table (``columns`` fixes the order, else the default)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.md", out_dir / f"{stem}.tex", out_dir / f"{stem}.csv"]
    paths[0].write_text(to_markdown(df, floatfmt, columns) + "\n", encoding="utf-8")
    fmt = "{:" + floatfmt + "}"
    df = df[columns or _column_order(list(df.columns))]
    note = tie_note(df)
    latex = df.to_latex(index=False, na_rep="-", float_format=lambda v: fmt.format(v))
    if note:  # below the tabular, so \\input{} of the file shows it without a float
        latex += "\\par\\smallskip{\\footnotesize " + _tex_escape(note) + "}\n"
    paths[1].write_text(latex, encoding="utf-8")
    df.to_csv(paths[2], index=False)
    return paths


def _tex_escape(text: str) -> str:
    for a, b in (("\\", "\\textbackslash{}"), ("&", "\\&"), ("%", "\\%"), ("_", "\\_"), ("#", "\\#")):
        text = text.replace(a, b)
    return text


# Table 4 -------------------------------------------------------------------------------------------
def geometry_table(jobs: pd.DataFrame, adapters: list[dict], split: str = "ood") -> pd.DataFrame:
    """Table 4 layout from stored geometry jobs (never a live model): R, D, Acc@1 of the split
    (pooled within-language), R/D, then the distances between language centres."""
    if jobs.empty or "task" not in jobs.columns:
        return pd.DataFrame()
    geo = jobs[(jobs["status"] == "done") & (jobs["task"] == "geometry") & (jobs["split"] == split)]
    if geo.empty:
        return pd.DataFrame()
    info = _adapter_info(adapters)
    within = within_table(jobs, adapters, [split])
    acc = dict(zip(within["adapter"], within[f"{split}:acc@1"])) if not within.empty else {}
    acc_ties = dict(zip(within["adapter"], within["ties"])) if not within.empty else {}
    rows = []
    for _, rec in geo.iterrows():
        card = info.get(rec["adapter"], {}).get("card", {})
        family = card.get("family") or rec.get("family", "")
        if family not in GEOMETRY_FAMILIES:
            continue
        g = rec["geometry"]
        row = {"group": FAMILY_GROUPS.get(family, ""), "method": card.get("row_name", rec["adapter"]),
               "adapter": rec["adapter"], "source": "measured", "run": rec.get("run_id"),
               "ties": acc_ties.get(rec["adapter"]),
               "R": g.get("R"), "D": g.get("D"),
               f"{split}:acc@1": acc.get(rec["adapter"]), "R/D": g.get("R/D")}
        for pair, d in sorted(g.get("language_centre_distances", {}).items()):
            row[f"centre:{pair}"] = d
        row["n_points"], row["n_classes"] = g.get("n_points"), g.get("n_classes")
        rows.append(row)
    return _order(pd.DataFrame(rows)) if rows else pd.DataFrame()


def geometry_columns(df: pd.DataFrame) -> list[str]:
    """The paper's order (R, D, Acc@1, R/D), then language-centre distances and point counts."""
    cols = list(df.columns)
    head = [c for c in ("group", "method", "adapter", "source", "R", "D") if c in cols]
    acc = sorted(c for c in cols if c.endswith(":acc@1"))
    centres = sorted(c for c in cols if c.startswith("centre:"))
    tail = [c for c in ("R/D", *centres, *INT_COLS, "run", "ties") if c in cols]  # ties: the Acc@1 column's rule
    return head + acc + tail + [c for c in cols if c not in head + acc + tail]


def within_by_lang_table(jobs: pd.DataFrame, adapters: list[dict]) -> pd.DataFrame:
    """Table 2's Acc@1 per query language (``split:lang``), beside the pooled Table 2: a split whose
    languages differ in size or difficulty hides one language behind the other when pooled."""
    done = jobs[(jobs.get("status") == "done") & jobs["task"].str.startswith("within-")] if not jobs.empty else jobs
    if done.empty:
        return pd.DataFrame()
    pooled = within_table(jobs, adapters)
    rows = []
    for name, grp in done.groupby("adapter", sort=False):
        row = {"adapter": name, "run": _run_of(grp), "ties": _ties_of(grp)}
        for (split, task), g in sorted(grp.groupby(["split", "task"])):
            m = pool(list(g["metrics"]))
            row[f"{split}:{task.removeprefix('within-')}"] = m.get("acc@1")
        rows.append(row)
    order = {a: k for k, a in enumerate(pooled["adapter"])}
    df = pd.DataFrame(rows).sort_values("adapter", key=lambda c: c.map(order), kind="stable")
    cols = ["adapter", *sorted(c for c in df.columns if ":" in c), "run", "ties"]
    return df[cols].reset_index(drop=True)


def extra_tables(jobs: pd.DataFrame, adapters: list[dict], out: Path, args) -> list[Path]:
    """Tables beyond 2 and 3 for ``bench table``: Acc@1 per language, Table 4 (geometry) on the
    cross-language split."""
    written = write_table(within_by_lang_table(jobs, adapters), Path(out), "table2_within_by_lang")
    split = getattr(args, "geometry_split", None) or getattr(args, "cross_split", None) or "ood"
    geo = geometry_table(jobs, adapters, split)
    if getattr(args, "reported", False):
        reported_dir = Path(args.reported_dir) if getattr(args, "reported_dir", None) else \
            Path(getattr(args, "results_dir", "results")) / "reported"
        geo = with_reported(geo, load_reported(reported_dir, "table4_geometry.csv"))
    for c in [c for c in INT_COLS if c in geo.columns]:
        geo[c] = geo[c].astype("Int64")  # counts stay integers beside the reported rows' blanks
    return written + write_table(geo, Path(out), "table4_geometry",
                                 columns=geometry_columns(geo) if not geo.empty else None)
