"""Bad command-line settings for `bench run`: each must stop with one line and exit 2, before any
work, and write nothing (least of all outside --results-dir)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SettingCase:
    name: str
    args: tuple[str, ...]  # added to a valid `bench run` command
    needle: str


SETTINGS = [
    SettingCase("batch_size_negative", ("--batch-size", "-3"), "argument --batch-size: must be at least 1, got -3"),
    SettingCase("batch_size_zero", ("--batch-size", "0"), "argument --batch-size: must be at least 1, got 0"),
    SettingCase("batch_size_word", ("--batch-size", "many"), "argument --batch-size: expected a whole number"),
    SettingCase("limit_negative", ("--limit", "-1"), "--limit: must be at least 1, got -1 (leave --limit out"),
    SettingCase("limit_zero", ("--limit", "0"), "--limit: must be at least 1, got 0 (leave --limit out"),
    SettingCase("limit_fraction", ("--limit", "2.5"), "--limit: expected a whole number, got '2.5'"),
    SettingCase("threads_zero", ("--threads", "0"), "--threads: must be at least 1, got 0"),
    SettingCase("seed_negative", ("--seed", "-1"), "--seed: must be between 0 and 4294967295, got -1"),
    SettingCase("seed_huge", ("--seed", str(2**40)), "--seed: must be between 0 and 4294967295"),
    SettingCase("scale_zero", ("--scale", "0"), "--scale: must be a positive number, got '0'"),
    SettingCase("scale_nan", ("--scale", "nan"), "--scale: must be a positive number, got 'nan'"),
    SettingCase("latency_negative", ("--latency-samples", "-2"), "--latency-samples: must be at least 0"),
    SettingCase("device_unknown", ("--device", "gpu"), "unknown device 'gpu'"),
    SettingCase("dtype_unknown", ("--dtype", "fp8"), "unknown dtype 'fp8' (use float32, bfloat16, float16)"),
    SettingCase("adapters_empty", ("--adapters", ""), "--adapters is empty"),
    SettingCase("adapters_commas", ("--adapters", " , "), "--adapters is empty"),
    SettingCase("split_empty", ("--split", ""), "--split is empty"),
    SettingCase("lang_empty", ("--lang", ""), "--lang is empty"),
    SettingCase("redo_empty", ("--redo", ""), "--redo is empty"),
    SettingCase("model_path_no_dir", ("--model-path", "rapidocr="), "expected NAME=DIR with both parts"),
    SettingCase("model_path_no_eq", ("--model-path", "rapidocr"), "expected NAME=DIR, got 'rapidocr'"),
    SettingCase("run_id_absolute", ("--run-id", "/tmp/xsb-escape"), "'/tmp/xsb-escape' cannot name a folder: it is an absolute"),
    SettingCase("run_id_dotdot", ("--run-id", "../../escape"), "'../../escape' cannot name a folder"),
    SettingCase("run_id_slash", ("--run-id", "a/b"), "'a/b' cannot name a folder: it contains a path separator"),
    SettingCase("run_id_dots", ("--run-id", ".."), "'..' cannot name a folder"),
    SettingCase("run_id_empty", ("--run-id", ""), "cannot name a folder: it is empty"),
    SettingCase("resume_dotdot", ("--resume", "../../escape"), "'../../escape' cannot name a folder"),
    SettingCase("unknown_option", ("--frobnicate",), "unrecognized arguments: --frobnicate"),
    SettingCase("executor_unknown", ("--executor", "slurm"), "invalid choice: 'slurm'"),
]
