"""Both stacks, run under Pulumi's mocks with their real Pulumi.<stack>.yaml, against the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import incident_io.models as sdk
import jsonschema
import pytest
import yaml
from pulumi.runtime import rpc

from components.settings import SettingsError
from tests import sdk_oracle
from tests.conftest import CANARY_API_KEY, CANARY_TOKEN_PREFIX, configured_provider
from tests.emulator import Emulator
from tests.emulator.seed import BRANCH_ATTRIBUTE, ENGINEERING_ON_CALL, SEVERITY_ATTRIBUTE
from tests.stack_harness import OPERATOR_VALUES, StackRun, run_stack, stack_config

ROUTE = "pulumi-python:dynamic/incidentio:AlertRoute"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
ALERTMANAGER_PATCH = "kubernetes:monitoring.coreos.com/v1:AlertmanagerPatch"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
CRD_NAME = "external-secrets.io_externalsecrets.crd.yaml"
CRD = Path(__file__).resolve().parent / "reference" / CRD_NAME
SHARED_CRD = Path(__file__).resolve().parents[2] / "shared" / "reference" / CRD_NAME

# From ../shared/reference/incident-io-alert-routing.md, "Current alert routes" and "Alert source URLs".
SEED_ROUTES = {
    "production": {
        "Production Alerts": (["Alertmanager (Production)", "Checkly (Production)", "sev0@", "Grafana Cloud"], True),
        "Production Warnings": (["Alertmanager (Production)"], False),
        "Unrouted Alerts": (["Alertmanager (Production)"], False),
        "Database Alerts": (["PlanetScale"], True),
        "Informational": (["Axiom", "Status Page Views"], False),
    },
    "staging": {"Staging Notifications": (["Alertmanager (Staging)", "Checkly (Staging)"], False)},
}
SEED_URLS = {
    "production": {
        "alertmanager": "https://api.incident.io/v2/alert_events/alertmanager/01KHSNW67SZJ1KGWEMA9C0GPT7",
        "checkly": "https://api.incident.io/v2/alert_events/checkly/01HZ7GE7CASMF15RWV1QFCMKTQ",
    },
    "staging": {
        "alertmanager": "https://api.incident.io/v2/alert_events/alertmanager/01KH7FNXWPMH6KPCQTYJJY947G",
        "checkly": "https://api.incident.io/v2/alert_events/checkly/01KKZJERF1HQFJRE3XWFZ0NV19",
    },
}
ALERTMANAGER_SOURCE = {"production": "01KHSNW67SZJ1KGWEMA9C0GPT7", "staging": "01KH7FNXWPMH6KPCQTYJJY947G"}
STACKS = ["production", "staging"]


def _config(stack: str, emulator: Emulator, **overrides: Any) -> dict[str, Any]:
    values = {**OPERATOR_VALUES[stack], "incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url}
    for key, value in overrides.items():
        values[key] = {**values.get(key, {}), **value} if isinstance(value, dict) else value
    return stack_config(stack, values)


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run(stack: str, emulator: Emulator) -> StackRun:
    return run_stack(stack, _config(stack, emulator))


def _routes(run: StackRun) -> dict[str, dict[str, Any]]:
    return {resource.plain()["spec"]["name"]: resource.plain()["spec"] for resource in run.of_type(ROUTE)}


def test_each_stack_declares_the_seed_routes_of_its_environment(stack: str, run: StackRun, emulator: Emulator) -> None:
    source_names = {source_id: source["name"] for source_id, source in emulator.state.sources.items()}
    routes = _routes(run)
    assert set(routes) == set(SEED_ROUTES[stack])
    for name, (sources, escalates) in SEED_ROUTES[stack].items():
        spec = routes[name]
        assert [source_names[s["alert_source_id"]] for s in spec["alert_sources"]] == sources
        assert bool(spec["escalation_config"]["escalation_targets"]) is escalates
        slack = spec["channel_config"][0]["slack_targets"]["binding"]["array_value"][0]["literal"]
        assert slack == OPERATOR_VALUES[stack]["slackChannels"]["alerts"]


def test_route_payloads_are_valid_create_payloads_and_pass_check(run: StackRun, emulator: Emulator) -> None:
    provider = configured_provider(emulator)
    for spec in _routes(run).values():
        # Numbers arrive as floats, as from the engine; what the provider sends after check must fit.
        checked = provider.check({}, {"spec": spec})
        assert checked.failures == []
        sent = checked.inputs["spec"]
        assert sdk_oracle.shape_errors(sdk.AlertRoutesCreatePayloadV2, sent) == []
        sdk.AlertRoutesCreatePayloadV2.from_dict(sent)


def _conditions(spec: dict[str, Any], source_id: str) -> list[tuple[str, str, list[str]]]:
    (source,) = [s for s in spec["alert_sources"] if s["alert_source_id"] == source_id]
    return [
        (c["subject"], c["operation"], [v["literal"] for b in c["param_bindings"] for v in b["array_value"]])
        for group in source["condition_groups"]
        for c in group["conditions"]
    ]


def test_production_conditions_match_the_routes_table(emulator: Emulator) -> None:
    routes = _routes(run_stack("production", _config("production", emulator)))
    severity = f"alert.attributes.{SEVERITY_ATTRIBUTE}"
    branch = f"alert.attributes.{BRANCH_ATTRIBUTE}"
    alertmanager = ALERTMANAGER_SOURCE["production"]
    # "is one of" on a text attribute is what the engine stores as contains_one_of (docs/api-behaviour.md B4).
    assert _conditions(routes["Production Alerts"], alertmanager) == [(severity, "contains_one_of", ["critical"])]
    # severity=critical applies to the Alertmanager source only
    assert _conditions(routes["Production Alerts"], "01HZ7GE7CASMF15RWV1QFCMKTQ") == []
    assert _conditions(routes["Production Warnings"], alertmanager) == [(severity, "contains_one_of", ["warning"])]
    assert _conditions(routes["Unrouted Alerts"], alertmanager) == [(severity, "is_not_set", [])]
    planetscale = routes["Database Alerts"]["alert_sources"][0]["alert_source_id"]
    assert _conditions(routes["Database Alerts"], planetscale) == [(branch, "contains_one_of", ["main"])]
    for name in ("Production Alerts", "Database Alerts"):
        (target,) = routes[name]["escalation_config"]["escalation_targets"]
        assert target == {"escalation_paths": {"array_value": [{"literal": ENGINEERING_ON_CALL}]}}


def test_outputs_publish_the_environment_urls_and_no_secret(stack: str, run: StackRun, emulator: Emulator) -> None:
    assert run.outputs["alertSourceUrls"] == SEED_URLS[stack]
    assert set(run.outputs["routeIds"]) == set(SEED_ROUTES[stack])
    assert run.outputs["awsSecretArn"].startswith("arn:aws:secretsmanager:us-east-1:")
    assert run.outputs["externalSecret"] == {"name": "alertmanager-incidentio", "namespace": "monitoring"}
    assert CANARY_TOKEN_PREFIX not in json.dumps(run.outputs)
    assert CANARY_API_KEY not in json.dumps(run.outputs)


def test_receiver_config_is_identical_in_both_environments(emulator: Emulator) -> None:
    receivers = [run_stack(s, _config(s, emulator)).outputs["alertmanagerReceiver"] for s in STACKS]
    assert receivers[0] == receivers[1]
    (config,) = receivers[0]["incidentio_configs"]
    assert config["alert_source_token_file"] == "/etc/alertmanager/secrets/alertmanager-incidentio/token"
    assert "url" not in config and config["url_file"].startswith("/etc/alertmanager/secrets/alertmanager-incidentio/")


def test_aws_secret_holds_the_environment_token_as_a_secret(stack: str, run: StackRun, emulator: Emulator) -> None:
    version = run.one(SECRET_VERSION)
    assert rpc.is_rpc_secret(version.inputs["secretString"])
    value = json.loads(version.plain()["secretString"])
    source = emulator.state.sources[ALERTMANAGER_SOURCE[stack]]
    assert value == {"alert_source_token": source["secret_token"], "alert_source_url": SEED_URLS[stack]["alertmanager"]}
    secret = run.one("aws:secretsmanager/secret:Secret")
    assert secret.inputs["name"] == "unkey/alertmanager-incident-io"
    provider = run.one("pulumi:providers:aws")
    assert provider.plain()["region"] == "us-east-1"
    assert json.loads(provider.plain()["allowedAccountIds"]) == [OPERATOR_VALUES[stack]["aws"]["accountId"]]


@pytest.mark.skipif(not SHARED_CRD.exists(), reason="../shared/reference is not beside this checkout")
def test_the_crd_copy_equals_the_shared_reference() -> None:
    assert CRD.read_bytes() == SHARED_CRD.read_bytes()


def _crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema: dict[str, Any] = _closed(version["schema"]["openAPIV3Schema"])
    return schema


def _closed(node: Any) -> Any:
    """Kubernetes prunes unknown fields silently; for a test, an unknown field is an error."""
    if isinstance(node, dict):
        node = {key: _closed(value) for key, value in node.items()}
        preserves_unknown = node.get("x-kubernetes-preserve-unknown-fields", False)
        if "properties" in node and "additionalProperties" not in node and not preserves_unknown:
            node["additionalProperties"] = False
        if node.get("nullable"):
            node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_closed(item) for item in node]
    return node


def test_external_secret_is_valid_for_the_v1_crd(stack: str, run: StackRun) -> None:
    external = run.one(EXTERNAL_SECRET).plain()
    document = {key: external[key] for key in ("apiVersion", "kind", "metadata", "spec")}
    jsonschema.validate(document, _crd_schema())
    assert document["apiVersion"] == "external-secrets.io/v1"
    assert document["spec"]["refreshInterval"] == "1h"
    assert document["spec"]["target"]["name"] == "alertmanager-incidentio"
    token = [d for d in document["spec"]["data"] if d["secretKey"] == "token"]
    assert token == [
        {"secretKey": "token", "remoteRef": {"key": "unkey/alertmanager-incident-io", "property": "alert_source_token"}}
    ]


def test_external_secret_crd_check_catches_a_typo() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "spec": {"refreshIntervall": "1h"}},
            _crd_schema(),
        )


def _stamps(run: StackRun) -> tuple[str, str, str]:
    secret_string = run.one(SECRET_VERSION).plain()["secretString"]
    sync = run.one(EXTERNAL_SECRET).plain()["metadata"]["annotations"]["force-sync"]
    restart = run.one(ALERTMANAGER_PATCH).plain()["spec"]["podMetadata"]["annotations"]
    return secret_string, sync, restart["unkey.dev/incident-io-token-version"]


def test_token_change_moves_secret_sync_and_restart_together(stack: str, emulator: Emulator) -> None:
    before = _stamps(run_stack(stack, _config(stack, emulator)))
    again = _stamps(run_stack(stack, _config(stack, emulator)))
    assert again == before  # no change, no churn
    emulator.state.sources[ALERTMANAGER_SOURCE[stack]]["secret_token"] = "rotated-token-0123456789"
    after = _stamps(run_stack(stack, _config(stack, emulator)))
    assert after[0] != before[0] and "rotated-token-0123456789" in after[0]
    assert after[1] != before[1] and after[2] != before[2]
    assert after[1] == after[2]
    assert "rotated-token" not in after[1]


def test_alertmanager_restart_can_be_switched_off(emulator: Emulator) -> None:
    run = run_stack("staging", _config("staging", emulator, alertmanager={"restartOnTokenChange": False}))
    assert run.of_type(ALERTMANAGER_PATCH) == []
    assert run.of_type(EXTERNAL_SECRET)


def test_route_id_in_config_adopts_the_live_route(emulator: Emulator) -> None:
    config = _config("staging", emulator)
    config["unkey-alert-routing:routes"][0]["id"] = "01KSTAGINGROUTE00000000000"
    (route,) = run_stack("staging", config).of_type(ROUTE)
    assert route.inputs["adopt_id"] == "01KSTAGINGROUTE00000000000"
    assert route.import_id is None  # the engine cannot import dynamic resources (pulumi/pulumi#16175)


def test_existing_aws_secret_can_be_adopted(emulator: Emulator) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:unkey/alertmanager-incident-io-XyZ123"
    run = run_stack("staging", _config("staging", emulator, aws={"secretImportArn": arn}))
    assert run.one("aws:secretsmanager/secret:Secret").import_id == arn


def test_committed_files_name_every_value_still_to_set(stack: str, emulator: Emulator) -> None:
    config = stack_config(stack, {"incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url})
    with pytest.raises(SettingsError) as raised:
        run_stack(stack, config)
    missing = {problem.split(":")[0] for problem in raised.value.problems}
    expected = {f"config.{group}.{key}" for group, values in OPERATOR_VALUES[stack].items() for key in values}
    assert missing == expected
    assert emulator.state.requests == []  # refused before any API call


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda c: c["unkey-alert-routing:routes"][0]["sources"][0].update(source="alertmanagr"),
            "routes[0] (Staging Notifications).sources[0].source: unknown source 'alertmanagr'",
        ),
        (
            lambda c: c["unkey-alert-routing:routes"][0].update(slak="alerts"),
            "routes[0] (Staging Notifications): Additional properties are not allowed ('slak' was unexpected)",
        ),
        (
            lambda c: c["unkey-alert-routing:routes"][0].update(escalation="on_call"),
            "routes[0] (Staging Notifications).escalation: unknown escalation 'on_call'",
        ),
        (
            lambda c: c["unkey-alert-routing:alertSources"]["checkly"].update(name="Checkly (Stagin)"),
            "alertSources.checkly: no alert source named 'Checkly (Stagin)'",
        ),
        (
            lambda c: c["unkey-alert-routing:routes"][0]["sources"][0].update(
                when=[{"reference": "severity", "operation": "is_blank"}]
            ),
            "routes[0] (Staging Notifications).sources[0].when[0].operation: 'is_blank' is not an engine operation "
            "(for 'label missing' the engine's operation is 'is_not_set')",
        ),
    ],
    ids=["unknown-source", "typo-key", "unknown-escalation", "source-not-in-incident-io", "operation-is-blank"],
)
def test_bad_route_config_fails_with_the_route_and_field(emulator: Emulator, mutate: Any, message: str) -> None:
    config = _config("staging", emulator)
    mutate(config)
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the message is what matters to the user
        run_stack("staging", config)
    assert message in str(raised.value)
    assert CANARY_API_KEY not in str(raised.value)
