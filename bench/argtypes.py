"""Argument types shared by every ``bench`` subcommand: a bad number or device is one line from
argparse (exit 2), never a traceback or a run that silently does nothing."""
from __future__ import annotations

import argparse
import math
import re


def int_at_least(lo: int, hint: str = "", hi: int | None = None):
    """An argparse type: a whole number >= ``lo`` (and <= ``hi``), else one line saying so."""
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
        if n < lo or (hi is not None and n > hi):
            rng = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
            raise argparse.ArgumentTypeError(f"must be {rng}, got {n}{hint}")
        return n
    parse.__name__ = "int"
    return parse


def positive_float(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value!r}")
    return x


def device(value: str) -> str:
    if not re.fullmatch(r"cpu|mps|(cuda|xpu|npu)(:\d+)?", value.strip()):
        raise argparse.ArgumentTypeError(f"unknown device {value!r} (use cpu, cuda, cuda:1, mps, ...)")
    return value.strip()
