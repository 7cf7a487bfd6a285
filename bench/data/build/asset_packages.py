"""Source packages for the assets, fetched once into a cache: ``npm pack`` and ``apt-get download``."""
from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path


def _run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def npm_package(spec: str, cache: Path) -> Path:
    """``npm pack`` a package once into the cache and return its unpacked ``package/`` folder."""
    slug = spec.lstrip("@").replace("/", "-").split("@")[0]
    tgz = sorted(cache.glob(f"{slug}-[0-9]*.tgz"))
    if "@" in spec.lstrip("@"):
        version = spec.rsplit("@", 1)[1]
        tgz = [t for t in tgz if t.name == f"{slug}-{version}.tgz"]
    if not tgz:
        _run(["npm", "pack", spec], cache)
        tgz = sorted(cache.glob(f"{slug}-[0-9]*.tgz"))
    out = cache / "unpacked" / tgz[-1].name[: -len(".tgz")]
    if not (out / "package").exists():
        out.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tgz[-1]) as tf:
            tf.extractall(out, filter="data")
    return out / "package"


def deb_package(name: str, cache: Path) -> Path:
    """``apt-get download`` a package once into the cache and return its extracted root."""
    debs = sorted(cache.glob(f"{name}_*.deb"))
    if not debs:
        _run(["apt-get", "download", name], cache)
        debs = sorted(cache.glob(f"{name}_*.deb"))
    out = cache / "unpacked" / debs[-1].stem
    if not out.exists():
        _run(["dpkg-deb", "-x", str(debs[-1]), str(out)], cache)
    return out
