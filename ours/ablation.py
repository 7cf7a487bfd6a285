"""Table 5: train loss variants at a reduced scale and evaluate each through the harness.

Every variant is trained with both stages (``stage1/`` is its "w/o fine-tuning" row), then run by the
harness as the ``ours`` / ``ours-no-ft`` adapters pointed at that variant's checkpoints, into a run of
its own under the ablation results folder (kept apart from ``results/runs`` so variant rows never
stand in for the shipped model in Tables 2-4). The table is read back from those stored runs, so
rerunning the command regenerates it without retraining or re-encoding anything finished.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .config import ConfigLike, TrainConfig, merge_config, read_config

# Table 5 of the paper (which losses are on), then our additions on top of the full paper model.
_PAPER = {"ctc": False, "lexicon": 0.0}
ABLATIONS: dict[str, dict] = {
    "i2t": {"i2t": True, "t2i": False, "sca": False, **_PAPER},
    "i2t+t2i": {"i2t": True, "t2i": True, "sca": False, **_PAPER},
    "i2t+sca": {"i2t": True, "t2i": False, "sca": True, **_PAPER},
    "i2t+t2i+sca": {"i2t": True, "t2i": True, "sca": True, **_PAPER},
    "+ctc": {"i2t": True, "t2i": True, "sca": True, "ctc": True, "lexicon": 0.0},
    "+lexicon": {"i2t": True, "t2i": True, "sca": True, "ctc": False, "lexicon": 1.0},
    "+ctc+lexicon": {"i2t": True, "t2i": True, "sca": True, "ctc": True, "lexicon": 1.0},
}
STAGES = (("ours-no-ft", "stage1", 0), ("ours", "stage2", 1))  # adapter, checkpoint folder, fine_tuned
TABLE_STEM = "table5_ablation"


def slug(variant: str) -> str:
    return variant.replace("+", "_").strip("_")


def variant_flags(variant: str) -> dict[str, int | float]:
    f = ABLATIONS[variant]
    return {"l_i2t": int(f["i2t"]), "l_t2i": int(f["t2i"]), "l_sca": int(f["sca"]),
            "ctc": int(bool(f.get("ctc"))), "lexicon": float(f.get("lexicon", 0.0))}


def variant_config(base: ConfigLike, variant: str) -> TrainConfig:
    """``base`` with the variant's loss flags, named ``<base>-<variant>``."""
    base = read_config(base)
    return merge_config(base, {"loss": ABLATIONS[variant], "name": f"{base.name}-{variant}"},
                        origin=f"ablation variant {variant!r}")


def evaluate_variant(run: Path, variant: str, base_name: str, results_dir: Path, split: str = "ood",
                     dataset: str | None = None, limit: int | None = None, progress: bool = True,
                     argv: list[str] | None = None) -> str:
    """Run the harness on one variant's two checkpoints; returns the run id in ``results_dir``."""
    from bench import api

    paths = {adapter: str(run / folder) for adapter, folder, _ in STAGES if (run / folder / "model.safetensors").is_file()}
    rc = api.RunConfig(dataset=dataset, splits=[split], adapters=",".join(paths), cross=False, geometry=False,
                   bridge=False, limit=limit, results_dir=str(results_dir), model_paths=paths,
                   run_id=f"{base_name}-{slug(variant)}", progress=progress,
                   labels={"ablation": base_name, "variant": variant, "checkpoints": paths, **variant_flags(variant)})
    return api.run(rc, argv)


def ablation_table(results_dir: Path, base_name: str, variants: list[str], split: str = "ood") -> pd.DataFrame:
    """Table 5 layout from the stored variant runs: loss flags, fine_tuned, pooled within-language metrics."""
    from bench import api

    rows = []
    for variant in variants:
        run_id = f"{base_name}-{slug(variant)}"
        jobs, adapters = api.collect(results_dir, [run_id])
        if jobs.empty:
            continue
        within = api.within_table(jobs, adapters, [split])
        for adapter, _, fine_tuned in STAGES:
            got = within[within["adapter"] == adapter]
            if got.empty:
                continue
            r = got.iloc[0]
            rows.append({"variant": variant, **variant_flags(variant), "fine_tuned": fine_tuned, "ties": r.get("ties"),
                         **{f"{split}:{m}": r.get(f"{split}:{m}") for m in ("acc@1", "mrr", "nes")},
                         f"{split}:n": r.get(f"{split}:n"), "run_id": run_id})
    return pd.DataFrame(rows)


def write_ablation_table(df: pd.DataFrame, out_dir: Path) -> list[Path]:
    from bench import api

    return api.write_table(df, out_dir, TABLE_STEM, columns=list(df.columns))
