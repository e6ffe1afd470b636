"""plux plugin that lets LocalStack find the executor (``LAMBDA_RUNTIME_EXECUTOR=process``)."""

from __future__ import annotations

from typing import Any

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class ProcessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    """Registered under the entry-point group ``localstack.lambda.runtime_executor``."""

    name = "process"

    def load(self, *args: Any, **kwargs: Any) -> type:
        # Imported lazily: plugin discovery must stay cheap and must not pull in the executor.
        from sandbox.lambda_executor import environment_bound, poller_fix
        from sandbox.lambda_executor.executor import ProcessRuntimeExecutor

        # Loaded before any function version is active, so before any async-event poller
        # and any environment.
        poller_fix.install()
        environment_bound.install()
        return ProcessRuntimeExecutor
