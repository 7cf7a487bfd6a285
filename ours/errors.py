"""The one place ``ours`` takes the harness's user-facing error type.

``ours`` raises ``BenchError`` for anything a user must fix (a missing config, a bad ``--init``): both
console scripts print it as one line. Every ``ours`` module imports it from here, so the dependency
on the harness's error type is a single line.
"""
from __future__ import annotations

from bench.errors import BenchError

__all__ = ["BenchError"]
