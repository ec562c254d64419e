"""Drives the real dynamic provider host (`python -m pulumi.dynamic`) over gRPC, as the engine does.

The engine pickles the provider into each resource's inputs (`__provider`), starts the host from the
project directory, sends the stack config through Configure, then calls Check/Diff/Create/Read/
Update/Delete with serialized property structs. Numbers cross the wire as floats, as they do there.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import grpc
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import provider_pb2_grpc

from providers.incident_io import AlertRouteProvider
from providers.ownership import INPUT as DECLARED_ELSEWHERE_INPUT
from providers.ownership import Declaration, RouteOwnershipProvider

ROOT = Path(__file__).resolve().parent.parent
URN = "urn:pulumi:test::unkey-alert-routing::pulumi-python:dynamic/incidentio:AlertRoute::{name}"
PROVIDER_KEY = "__provider"


def provider_blob() -> str:
    """What `pulumi.dynamic.Resource` stores in state for our provider."""
    blob: str = serialize_provider(AlertRouteProvider())
    return blob


def _serialize(props: dict[str, Any]) -> Any:
    # A private loop: asyncio.run() would unset the thread's loop, which Pulumi's mocks rely on.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def _plain(struct: Any) -> dict[str, Any]:
    props: dict[str, Any] = rpc.deserialize_properties(struct, True)
    return props


class EngineHost:
    """One `python -m pulumi.dynamic` process and a gRPC stub to it."""

    def __init__(self, config: dict[str, str], *, env: dict[str, str] | None = None) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the host
        host_env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENT_IO_")}
        host_env.update(env or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pulumi.dynamic"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=host_env,
        )
        assert self.process.stdout is not None
        port = int(self.process.stdout.readline().decode().strip())
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.stub.Configure(proto.ConfigureRequest(args=_serialize(dict(config))))
        self.blob = provider_blob()

    def close(self) -> None:
        self.channel.close()
        self.process.terminate()
        self.process.wait(timeout=10)

    def logs(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def _props(self, props: dict[str, Any] | None) -> Any:
        """Serialized properties with the provider blob, or empty properties for `None`."""
        return _serialize({**props, PROVIDER_KEY: self.blob} if props is not None else {})

    # Requests, built apart from sending them so that a benchmark can build them before timing.
    def check_request(self, name: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        return proto.CheckRequest(urn=URN.format(name=name), olds=self._props(olds or None), news=self._props(news))

    def diff_request(self, name: str, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        return proto.DiffRequest(id=id_, urn=URN.format(name=name), olds=self._props(olds), news=self._props(news))

    def read_request(self, name: str, id_: str, state: dict[str, Any] | None, inputs: dict[str, Any] | None) -> Any:
        """A refresh sends the state's outputs and inputs; `pulumi.dynamic.Resource.get` only inputs."""
        return proto.ReadRequest(
            id=id_, urn=URN.format(name=name), properties=self._props(state or None), inputs=self._props(inputs)
        )

    def declare_elsewhere(self, *declarations: Declaration) -> None:
        """What the program does first in every run: check the record of the routes other stacks declare."""
        props = {DECLARED_ELSEWHERE_INPUT: [item.to_json() for item in declarations]}
        props[PROVIDER_KEY] = serialize_provider(RouteOwnershipProvider())
        request = proto.CheckRequest(urn=URN.format(name="routes-declared-elsewhere"), news=_serialize(props))
        assert list(self.stub.Check(request).failures) == []

    def check(self, name: str, olds: dict[str, Any], news: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        response = self.stub.Check(self.check_request(name, olds, news))
        return _plain(response.inputs), list(response.failures)

    def diff(self, name: str, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> int:
        changes: int = self.stub.Diff(self.diff_request(name, id_, olds, news)).changes
        return changes

    def create(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any], Any]:
        response = self.stub.Create(proto.CreateRequest(urn=URN.format(name=name), properties=self._props(inputs)))
        return response.id, _plain(response.properties), response

    def read(self, name: str, id_: str, state: dict[str, Any] | None, inputs: dict[str, Any] | None) -> Any:
        return self.stub.Read(self.read_request(name, id_, state, inputs))

    def read_as_an_import(self, name: str, id_: str) -> Any:
        """What the engine sends to import a resource: the id and nothing else (no provider blob)."""
        return self.stub.Read(proto.ReadRequest(id=id_, urn=URN.format(name=name)))

    def update(self, name: str, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        request = proto.UpdateRequest(id=id_, urn=URN.format(name=name), olds=self._props(olds), news=self._props(news))
        return _plain(self.stub.Update(request).properties)

    def delete(self, name: str, id_: str, state: dict[str, Any]) -> None:
        self.stub.Delete(proto.DeleteRequest(id=id_, urn=URN.format(name=name), properties=self._props(state)))


def without_provider(props: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in props.items() if key != PROVIDER_KEY}


DIFF_NONE = proto.DiffResponse.DIFF_NONE
DIFF_SOME = proto.DiffResponse.DIFF_SOME
