"""The local executor: every adapter of the run here, one after another."""
from __future__ import annotations

from typing import Any

from ..adapter_run import AdapterRun
from ..context import RunContext


class LocalExecutor:
    name = "local"

    def check(self) -> None:
        pass

    def invocation_fields(self) -> dict[str, Any]:
        return {}

    def run(self, ctx: RunContext) -> None:
        for name in ctx.plan.adapter_names:
            AdapterRun(ctx, name).run()
