"""What a result needs to be trusted later: versions, git revision, hardware, threads, time."""
from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

TRACKED_PACKAGES = ("xscript-bench", "numpy", "pandas", "rapidfuzz", "pillow", "torch", "transformers",
                    "onnxruntime", "rapidocr", "tesserocr", "easyocr", "open_clip_torch", "ray")


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in (*TRACKED_PACKAGES, *extra):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def git_revision(start: Path | None = None) -> dict[str, str | bool | None]:
    """Commit of the checkout the code runs from (and whether it had local changes). Read-only:
    ``--no-optional-locks`` keeps ``git status`` from taking ``.git/index.lock`` to refresh the index,
    which would collide with the user's own git commands in that checkout."""
    cwd = start or Path(__file__).resolve().parent
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                             timeout=5, env=env).stdout.strip()
        dirty = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, timeout=5, env=env).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": rev or None, "dirty": bool(dirty) if rev else None}


def hardware() -> dict[str, object]:
    info: dict[str, object] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu": _cpu_model(),
        "cpu_flags": cpu_flags(),  # int8 kernels differ by instruction set (VNNI or not): numbers can too
    }
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["memory_gb"] = round(pages * size / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    torch = sys.modules.get("torch")  # only if already imported: never import torch just to ask
    if torch is not None and torch.cuda.is_available():
        info["gpu"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


# instruction-set extensions that change which math kernels run (onnxruntime and torch pick by them)
SIMD_FLAGS = ("sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl",
              "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16",
              "asimd", "asimddp", "sve", "sve2", "i8mm", "bf16")


def cpu_flags() -> list[str]:
    """The CPU's SIMD instruction-set flags this machine reports (from /proc/cpuinfo; [] elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                have = set(line.split(":", 1)[1].split())
                return [f for f in SIMD_FLAGS if f in have]
    except OSError:
        pass
    return []


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def set_threads(n: int) -> None:
    """Pin math-library threads (more threads than cores was 10-50x slower on small machines)."""
    from ..threads import set_threads as pin

    pin(n)
