"""The stand-in `pulumi-resource-aws` and `pulumi-resource-kubernetes` plugins, started as the engine starts them.

Each plugin runs as a subprocess of its launcher script; the first line on its stdout is the port, which is
how readiness is known. Requests carry properties in the engine's wire form (secrets as signature objects).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.stand_ins.plugin import SECRET_SIG, SIG_KEY, UNKNOWN, to_props, to_struct

STAND_INS = Path(__file__).resolve().parent / "stand_ins"
REPO_VENV_PYTHON = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"
TIMEOUT = 10.0
PARENT = "unkey:incidentio:AlertSourceSecret"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
ACCOUNT = "111122223333"
CANARY = "stand-in-canary-token-3f9e1c7a52"
DIFF_NONE = provider_pb2.DiffResponse.DIFF_NONE
DIFF_SOME = provider_pb2.DiffResponse.DIFF_SOME


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::unkey-alert-routing::{PARENT}${type_}::{name}"


def secret(value: Any) -> dict[str, Any]:
    """A secret as the engine sends it to a provider that accepts secrets."""
    return {SIG_KEY: SECRET_SIG, "value": value}


def sha16(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Plugin:
    """One stand-in plugin process and a gRPC stub to it."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.log = workdir / f"{name}.jsonl"
        self._stderr = (workdir / f"{name}.stderr").open("wb")
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_STAND_IN_")}
        environment.update(PULUMI_STAND_IN_LOG=str(self.log), PULUMI_STAND_IN_PYTHON=sys.executable, **(env or {}))
        self.process = subprocess.Popen(  # noqa: S603 - our own launcher, fixed arguments
            [str(STAND_INS / f"pulumi-resource-{name}"), "127.0.0.1:0"],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=environment,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        assert line.isdigit(), f"no port line from the {name} stand-in: {(workdir / f'{name}.stderr').read_text()}"
        self.channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def close(self) -> None:
        self.channel.close()
        self.process.terminate()
        self.process.wait(timeout=TIMEOUT)
        self._stderr.close()

    def entries(self, name: str | None = None) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        lines = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [entry for entry in lines if name is None or entry["name"] == name]

    def configure(self, config: dict[str, Any]) -> Any:
        return self.stub.Configure(
            provider_pb2.ConfigureRequest(args=to_struct(config), acceptSecrets=True, acceptResources=True),
            timeout=TIMEOUT,
        )

    def create(self, type_: str, name: str, props: dict[str, Any], *, preview: bool = False) -> tuple[str, Any]:
        request = provider_pb2.CreateRequest(urn=urn(type_, name), properties=to_struct(props), preview=preview)
        response = self.stub.Create(request, timeout=TIMEOUT)
        return response.id, to_props(response.properties)

    def diff(self, type_: str, name: str, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        request = provider_pb2.DiffRequest(
            urn=urn(type_, name), id=id_, olds=to_struct(olds), old_inputs=to_struct(olds), news=to_struct(news)
        )
        return self.stub.Diff(request, timeout=TIMEOUT)


AWS_CONFIG = {"region": "eu-central-1", "allowedAccountIds": json.dumps([ACCOUNT]), "skipRegionValidation": "true"}


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plugin]:
    plugin = Plugin("aws", tmp_path_factory.mktemp("aws"))
    plugin.configure(AWS_CONFIG)
    yield plugin
    plugin.close()


@pytest.fixture(scope="module")
def kubernetes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plugin]:
    plugin = Plugin("kubernetes", tmp_path_factory.mktemp("kubernetes"))
    plugin.configure({"version": "4.34.2"})
    yield plugin
    plugin.close()


@pytest.mark.parametrize(("plugin", "package"), [("aws", "pulumi_aws"), ("kubernetes", "pulumi_kubernetes")])
def test_plugin_info_is_the_installed_package_version(
    plugin: str, package: str, aws: Plugin, kubernetes: Plugin
) -> None:
    stub = {"aws": aws, "kubernetes": kubernetes}[plugin].stub
    assert stub.GetPluginInfo(empty_pb2.Empty(), timeout=TIMEOUT).version == importlib.metadata.version(package)


def test_the_programs_provider_config_is_accepted(tmp_path: Path) -> None:
    plugin = Plugin("aws", tmp_path)
    try:
        provider_urn = f"urn:pulumi:test::unkey-alert-routing::{PARENT}$pulumi:providers:aws::aws"
        checked = plugin.stub.CheckConfig(
            provider_pb2.CheckRequest(urn=provider_urn, news=to_struct(AWS_CONFIG)), timeout=TIMEOUT
        )
        assert to_props(checked.inputs) == AWS_CONFIG and not checked.failures
        configured = plugin.configure(AWS_CONFIG)
        assert configured.acceptSecrets and configured.supportsPreview and configured.acceptResources
        assert plugin.entries()[-1]["result"] == {
            "account": ACCOUNT,
            "allowedAccountIds": [ACCOUNT],
            "region": "eu-central-1",
        }
        same = plugin.stub.DiffConfig(
            provider_pb2.DiffRequest(
                urn=provider_urn, olds=to_struct(AWS_CONFIG), old_inputs=to_struct(AWS_CONFIG), news=checked.inputs
            ),
            timeout=TIMEOUT,
        )
        moved = plugin.stub.DiffConfig(
            provider_pb2.DiffRequest(
                urn=provider_urn,
                olds=to_struct(AWS_CONFIG),
                old_inputs=to_struct(AWS_CONFIG),
                news=to_struct({**AWS_CONFIG, "region": "us-east-1"}),
            ),
            timeout=TIMEOUT,
        )
        assert same.changes == DIFF_NONE
        assert (moved.changes, list(moved.diffs), list(moved.replaces)) == (DIFF_SOME, ["region"], [])
    finally:
        plugin.close()


def test_configure_refuses_an_account_that_is_not_allowed(tmp_path: Path) -> None:
    plugin = Plugin("aws", tmp_path, {"PULUMI_STAND_IN_AWS_ACCOUNT_ID": "999999999999"})
    try:
        with pytest.raises(grpc.RpcError) as refused:
            plugin.configure(AWS_CONFIG)
        assert "AWS account ID not allowed: 999999999999" in str(refused.value.details())
        assert plugin.entries()[-1]["result"] == {"error": "AWS account ID not allowed: 999999999999"}
    finally:
        plugin.close()


def test_a_secret_is_created_with_its_arn_as_id(aws: Plugin) -> None:
    inputs = {"name": "unkey/alertmanager-incident-io", "description": "token"}
    checked = aws.stub.Check(
        provider_pb2.CheckRequest(urn=urn(SECRET, "created"), news=to_struct(inputs)), timeout=TIMEOUT
    )
    assert to_props(checked.inputs) == inputs and not checked.failures

    preview_id, preview = aws.create(SECRET, "created", inputs, preview=True)
    assert (preview_id, preview["arn"]) == ("", UNKNOWN)

    id_, outputs = aws.create(SECRET, "created", inputs)
    arn = f"arn:aws:secretsmanager:eu-central-1:{ACCOUNT}:secret:unkey/alertmanager-incident-io-"
    assert re.fullmatch(re.escape(arn) + "[A-Za-z]{6}", outputs["arn"])
    assert id_ == outputs["arn"] and outputs["name"] == inputs["name"] and outputs["description"] == "token"
    assert aws.create(SECRET, "created", inputs)[0] == id_, "ids are deterministic"
    assert [entry["method"] for entry in aws.entries("created")] == ["Check", "Create", "Create", "Create"]


def test_a_secret_string_stays_secret_and_never_reaches_the_log(aws: Plugin) -> None:
    secret_id = f"arn:aws:secretsmanager:eu-central-1:{ACCOUNT}:secret:unkey/alertmanager-incident-io-AbCdEf"
    first = {"secretId": secret_id, "secretString": secret(json.dumps({"token": CANARY}))}
    id_, outputs = aws.create(SECRET_VERSION, "version", first)
    assert outputs["secretString"] == first["secretString"], "returned as a secret, so the state encrypts it"
    assert id_ == f"{secret_id}|{outputs['versionId']}" and outputs["arn"] == secret_id

    second = {**first, "secretString": secret(json.dumps({"token": CANARY + "-rotated"}))}
    diff = aws.diff(SECRET_VERSION, "version", id_, first, second)
    assert (diff.changes, list(diff.diffs), list(diff.replaces)) == (DIFF_SOME, ["secretString"], [])
    updated = aws.stub.Update(
        provider_pb2.UpdateRequest(
            urn=urn(SECRET_VERSION, "version"),
            id=id_,
            olds=to_struct(outputs),
            old_inputs=to_struct(first),
            news=to_struct(second),
        ),
        timeout=TIMEOUT,
    )
    assert to_props(updated.properties)["versionId"] != outputs["versionId"], "a new string, a new version"

    assert CANARY.encode() not in aws.log.read_bytes()
    create, diff_entry, update = aws.entries("version")
    assert create["inputs"]["secretString"] == "[secret]" and create["secret_inputs"] == ["secretString"]
    assert create["secret_fingerprints"] == {"secretString": sha16(json.dumps({"token": CANARY}))}
    assert diff_entry["secret_fingerprints"] == update["secret_fingerprints"] != create["secret_fingerprints"]


def test_diff_names_the_changed_inputs(aws: Plugin) -> None:
    olds = {"name": "unkey/alertmanager-incident-io", "description": "token"}
    same = aws.diff(SECRET, "diffed", "arn", olds, dict(olds))
    assert (same.changes, list(same.diffs)) == (DIFF_NONE, [])

    described = aws.diff(SECRET, "diffed", "arn", olds, {**olds, "description": "another"})
    assert (described.changes, list(described.diffs), list(described.replaces)) == (DIFF_SOME, ["description"], [])

    renamed = aws.diff(SECRET, "diffed", "arn", olds, {**olds, "name": "another"})
    assert (list(renamed.diffs), list(renamed.replaces)) == (["name"], ["name"]), "as the real provider: replaced"

    unknown = aws.diff(SECRET, "diffed", "arn", olds, {**olds, "description": UNKNOWN})
    assert list(unknown.diffs) == ["description"]
    assert [entry["result"]["changes"] for entry in aws.entries("diffed")] == ["DIFF_NONE"] + ["DIFF_SOME"] * 3


def test_refresh_reads_the_state_as_it_is_and_an_import_reads_the_arn(aws: Plugin) -> None:
    state = {"name": "unkey/x", "arn": "arn:aws:secretsmanager:eu-central-1:1:secret:unkey/x-AbCdEf"}
    inputs = {"name": "unkey/x"}
    refreshed = aws.stub.Read(
        provider_pb2.ReadRequest(
            urn=urn(SECRET, "read"), id=state["arn"], properties=to_struct(state), inputs=to_struct(inputs)
        ),
        timeout=TIMEOUT,
    )
    assert (refreshed.id, to_props(refreshed.properties), to_props(refreshed.inputs)) == (state["arn"], state, inputs)

    imported = aws.stub.Read(provider_pb2.ReadRequest(urn=urn(SECRET, "read"), id=state["arn"]), timeout=TIMEOUT)
    assert imported.id == state["arn"] and to_props(imported.inputs) == {"name": "unkey/x"}
    assert to_props(imported.properties)["arn"] == state["arn"]

    missing = aws.stub.Read(
        provider_pb2.ReadRequest(urn=urn(SECRET_VERSION, "read"), id="nothing|here"), timeout=TIMEOUT
    )
    assert (missing.id, to_props(missing.properties)) == ("", {}), "not found"


def test_delete_is_logged(aws: Plugin) -> None:
    inputs = {"secretId": "arn:x", "secretString": secret(CANARY)}
    aws.stub.Delete(
        provider_pb2.DeleteRequest(
            urn=urn(SECRET_VERSION, "deleted"),
            id="arn:x|v1",
            properties=to_struct(inputs),
            old_inputs=to_struct(inputs),
        ),
        timeout=TIMEOUT,
    )
    (entry,) = aws.entries("deleted")
    assert (entry["method"], entry["id"], entry["type"]) == ("Delete", "arn:x|v1", SECRET_VERSION)
    assert entry["inputs"] == {"secretId": "arn:x", "secretString": "[secret]"}
    assert CANARY.encode() not in aws.log.read_bytes()


def test_kubernetes_objects_echo_their_inputs(kubernetes: Plugin) -> None:
    metadata: dict[str, Any] = {
        "name": "alertmanager-incidentio",
        "namespace": "monitoring",
        "annotations": {"force-sync": "a"},
    }
    inputs: dict[str, Any] = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": metadata,
        "spec": {"refreshInterval": "1h"},
    }
    id_, outputs = kubernetes.create(EXTERNAL_SECRET, "external", inputs)
    assert (id_, outputs) == ("monitoring/alertmanager-incidentio", inputs)

    stamped = {**inputs, "metadata": {**metadata, "annotations": {"force-sync": "b"}}}
    restamp = kubernetes.diff(EXTERNAL_SECRET, "external", id_, inputs, stamped)
    assert (restamp.changes, list(restamp.diffs), list(restamp.replaces)) == (DIFF_SOME, ["metadata"], [])
    moved = {**inputs, "metadata": {**metadata, "namespace": "elsewhere"}}
    assert list(kubernetes.diff(EXTERNAL_SECRET, "external", id_, inputs, moved).replaces) == ["metadata"]
    assert [entry["method"] for entry in kubernetes.entries("external")] == ["Create", "Diff", "Diff"]


def test_what_the_stand_ins_do_not_implement_says_so(kubernetes: Plugin) -> None:
    with pytest.raises(grpc.RpcError) as unimplemented:
        kubernetes.stub.GetSchema(provider_pb2.GetSchemaRequest(), timeout=TIMEOUT)
    assert unimplemented.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.skipif(not REPO_VENV_PYTHON.exists(), reason="the launcher's fallback is the repository's .venv")
def test_the_launcher_finds_the_repositorys_venv(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_STAND_IN_")}
    process = subprocess.Popen(  # noqa: S603 - our own launcher, fixed arguments
        [str(STAND_INS / "pulumi-resource-kubernetes")], cwd=tmp_path, stdout=subprocess.PIPE, env=environment
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().decode().strip().isdigit()
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)
    assert not list(tmp_path.iterdir()), "no log without PULUMI_STAND_IN_LOG"
