#!/usr/bin/env bash
# Set up the environments the tests need, then run them. This is the README's test command, and
# .ci/run runs exactly this after installing system packages.
#  - .venv: the core install (CPU torch, no torchvision) + ocr/ours/report extras: the whole suite.
#  - .venv-tv: torch + torchvision pair, for the adapter tests whose processors need torchvision
#    (set XSB_SKIP_TV=1 to skip it). transformers imports torchvision whenever it is installed, so
#    the two must never share a venv (see README, "Installing").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0 -e '.[dev,ray]'
.venv/bin/python -m pytest -q "$@"
if [ "${XSB_SKIP_TV:-0}" != "1" ]; then
  [ -x .venv-tv/bin/python ] || "$PY" -m venv .venv-tv
  .venv-tv/bin/python -m pip install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1 -e '.[dev,vllm,vllm-tv,easyocr]'
  # the adapter tests again, now with the torchvision-dependent ones (skipped in .venv) included
  .venv-tv/bin/python -m pytest -q tests/test_adapters_transcribers.py tests/test_adapters_embeddings.py \
    tests/test_ours_mobilenet.py "$@"
fi
