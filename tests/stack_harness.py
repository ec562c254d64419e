"""Runs __main__.py under Pulumi's unit-test mocks, for a stack, with its real Pulumi.<stack>.yaml."""

from __future__ import annotations

import asyncio
import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config

from components.route_compiler import deep_merge
from tests.emulator.seed import ALERTS_CHANNEL

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "unkey-alert-routing"
FAKE_ACCOUNT = "123456789012"

# What an operator sets before the first `up`: the "SET-ME" values of the committed stack files.
OPERATOR_VALUES: dict[str, dict[str, Any]] = {
    stack: {
        "slackChannels": {"alerts": ALERTS_CHANNEL},
        "aws": {"accountId": FAKE_ACCOUNT},
        "externalSecret": {"storeName": "aws-secrets-manager"},
        "alertmanager": {"name": "kube-prometheus-stack-alertmanager"},
    }
    for stack in ("production", "staging")
}


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    import_id: str | None

    def plain(self) -> dict[str, Any]:
        """Inputs with secrets unwrapped."""
        plain: dict[str, Any] = _unwrap(self.inputs)
        return plain


def _unwrap(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return _unwrap(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {key: _unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return value


@dataclass
class StackRun:
    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    # Outputs the mocked providers add, by resource type (what a real provider would answer).
    provider_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Registered]:
        return [resource for resource in self.resources if resource.type == type_]

    def one(self, type_: str) -> Registered:
        (resource,) = self.of_type(type_)
        return resource


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, run: StackRun) -> None:
        self.run = run

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.run.resources.append(Registered(args.typ, args.name, args.inputs, args.resource_id or None))
        state = {**args.inputs, **self.run.provider_outputs.get(args.typ, {})}
        if args.typ == "aws:secretsmanager/secret:Secret":
            state["arn"] = f"arn:aws:secretsmanager:us-east-1:{FAKE_ACCOUNT}:secret:{args.inputs['name']}-AbCdEf"
        resource_id = args.resource_id or f"{args.name}-id"
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


def stack_config(stack: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stack file's config, with project keys unprefixed, plus overrides merged in."""
    raw: dict[str, Any] = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    prefixed = {key if ":" in key else f"{PROJECT}:{key}": value for key, value in (overrides or {}).items()}
    return deep_merge(raw, prefixed)


def run_stack(stack: str, config: dict[str, Any], run: StackRun | None = None) -> StackRun:
    """Run the program once under mocks and return what it registered and exported (into `run`, when
    given, so that a run that fails can still be asked what it registered)."""
    run = run or StackRun()
    # Each run gets a fresh event loop, whatever earlier tests did with theirs.
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(RecordingMocks(run), project=PROJECT, stack=stack, preview=False)
    set_all_config(
        {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()},
        ["incidentio:apiKey"],
    )
    exported: dict[str, Any] = {}
    original_export = pulumi.export

    def record(name: str, value: Any) -> None:
        exported[name] = value

    pulumi.export = record
    try:

        def program() -> pulumi.Output[Any]:
            runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
            return pulumi.Output.all(**{name: pulumi.Output.from_input(v) for name, v in exported.items()})

        def collect(values: dict[str, Any]) -> None:
            run.outputs.update(values)

        @pulumi_mocks.test  # type: ignore[untyped-decorator]  # pulumi.runtime.mocks.test has no annotations
        def execute() -> pulumi.Output[Any]:
            outputs = program()
            return outputs.apply(collect)

        execute()
    finally:
        pulumi.export = original_export
    return run
