"""The program's one adjustment to the Pulumi SDK (components/pulumi_sdk.py): an engine that is shutting
down is a quiet stop whichever gRPC status the registrations still in flight get."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pulumi
import pytest
from pulumi.runtime import settings

from components.pulumi_sdk import quiet_engine_shutdown


class _RpcError(grpc.RpcError):  # type: ignore[misc]  # grpc has no type stubs
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


@pytest.fixture
def quiet() -> Iterator[None]:
    original = settings.grpc_error_to_exception
    quiet_engine_shutdown()
    yield
    settings.grpc_error_to_exception = original


@pytest.mark.parametrize("code", [grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE])
def test_a_registration_cut_short_by_the_engine_is_a_quiet_stop(quiet: None, code: grpc.StatusCode) -> None:
    with pytest.raises(pulumi.RunError, match="Resource monitor has terminated"):
        settings.handle_grpc_error(_RpcError(code, "context canceled"))


def test_any_other_registration_error_keeps_its_message(quiet: None) -> None:
    with pytest.raises(Exception, match="invalid resource") as raised:
        settings.handle_grpc_error(_RpcError(grpc.StatusCode.INVALID_ARGUMENT, "invalid resource"))
    assert not isinstance(raised.value, pulumi.RunError)
