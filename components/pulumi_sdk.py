"""One adjustment to the Pulumi Python SDK's behaviour when a run stops early.

When the engine stops a run (a resource's check failed: a refusal of ours, with its own clear
message), registrations still in flight are answered with gRPC CANCELLED ("context canceled") or
UNAVAILABLE, depending on timing. The SDK (3.272.0, `pulumi.runtime.settings.grpc_error_to_exception`)
turns UNAVAILABLE into a quiet RunError ("Resource monitor has terminated, shutting down") but
CANCELLED into a plain Exception, which the program's runner prints as "Program failed with an
unhandled exception" and 40 lines of traceback after the real message. Both mean the same: the
engine is shutting down and has said why. The program treats them the same.
"""

from __future__ import annotations

from typing import Any

import grpc
import pulumi
from pulumi.runtime import settings

_SHUTDOWN_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)


def _grpc_error_to_exception(exn: Any) -> Exception:
    if exn.code() in _SHUTDOWN_CODES:
        return pulumi.RunError("Resource monitor has terminated, shutting down")
    return Exception(exn.details())


def quiet_engine_shutdown() -> None:
    """Install the above in place of the SDK's function (every registration error goes through it)."""
    settings.grpc_error_to_exception = _grpc_error_to_exception
