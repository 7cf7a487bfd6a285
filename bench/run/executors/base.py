"""The one small interface every executor offers, and the choice of one by name (``--executor``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ...errors import BenchError

if TYPE_CHECKING:
    from ..context import RunContext

NAMES = ("local", "ray")


class Executor(Protocol):
    """Runs every pending unit of a run, recording each outcome in the run's store."""

    name: str

    def check(self) -> None:
        """Raise a one-line BenchError when it cannot run here (before anything is recorded)."""

    def invocation_fields(self) -> dict[str, Any]:
        """What run.json records about it for this invocation."""

    def run(self, ctx: "RunContext") -> None:
        """Run the pending units; failures are recorded, not raised (interrupts are raised)."""


def pick(name: str) -> Executor:
    """The executor called ``name`` (``RunConfig.executor``)."""
    if name == "local":
        from .local import LocalExecutor

        return LocalExecutor()
    if name == "ray":
        from .ray import RayExecutor

        return RayExecutor()
    raise BenchError(f"unknown executor {name!r} (use {' or '.join(NAMES)})")
