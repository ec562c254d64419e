"""Every route the API can hold exports, and the export means the live route: a property over create
payloads drawn from every field of the v2 schema (tests/route_strategies.py), seeded in the emulator,
exported, the printed YAML read back as a stack file is and compiled as the program compiles it; in an
org on the new alert grouping engine with what only the v3 API can say drawn too. A route that cannot
be exported is named with why, and the others are exported all the same."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from components.names import resolve
from components.route_compiler import compile_route, compile_v3_settings
from components.settings import name_tables, route_config_problems, route_declarations
from ops import stack_file as stack_file_yaml
from ops.cli import Progress
from ops.export import Export, export, render
from ops.stack_match import StateIds
from providers.alert_route_spec import from_live, validation_errors
from providers.alert_route_v3 import settings_said, with_v3
from providers.api import IncidentIoApi, LiveRoute
from providers.directory import Directory, fetch_directory
from providers.http import ApiClient, Credentials
from providers.route_compare import changed_fields
from tests.commands import ROOT, run_command
from tests.conftest import CANARY_API_KEY, in_both_org_modes, route_spec
from tests.emulator import Emulator, handlers, running_emulator
from tests.emulator.handlers import Request
from tests.emulator.seed import ALERTS_CHANNEL, seed_directory
from tests.route_strategies import V3_ONLY_INCIDENT_KEYS, names, route_payloads, with_v3_only_settings
from tests.routes import every_boolean_field, every_payload_field, set_booleans, set_fields
from tests.stack_harness import PROJECT

JsonDict = dict[str, Any]
PRODUCTION = ROOT / "Pulumi.production.yaml"


@dataclass(frozen=True)
class Org:
    emulator: Emulator
    api: IncidentIoApi
    # What does not change from one example to the next, read once.
    directory: Directory
    stack_file: JsonDict


@contextmanager
def _org(*, migrated: bool) -> Iterator[Org]:
    with running_emulator(api_key=CANARY_API_KEY, org_migrated=migrated) as emulator:
        seed_directory(emulator.state, base_url="https://api.incident.io")
        client = ApiClient(Credentials(api_key=CANARY_API_KEY, api_url=emulator.url), max_retries=0)
        api = IncidentIoApi(client)
        directory = fetch_directory(api, sources=True, attributes=True, escalation_paths=True)
        yield Org(emulator, api, directory, stack_file_yaml.read_config(PRODUCTION, PROJECT))
        client.close()


@pytest.fixture(scope="module")
def org() -> Iterator[Org]:
    """An org not on the new alert grouping engine, where a v2 read says all of a route. One emulator
    for every example (each starts with no route): starting one per example would cost more than the
    example."""
    with _org(migrated=False) as org:
        yield org


@pytest.fixture(scope="module")
def migrated_org() -> Iterator[Org]:
    """An org on the new alert grouping engine: routes are read through v2 and v3."""
    with _org(migrated=True) as org:
        yield org


def _seed(emulator: Emulator, payload: JsonDict) -> None:
    """A route created as POST /v2/alert_routes creates it, with the API's checks, without the HTTP."""
    request = Request("POST", "/v2/alert_routes", {}, payload, {}, CANARY_API_KEY)
    status, _ = handlers.create_route(emulator.state, request)
    assert status == 201


def _directory_with_ids(directory: Directory, config: JsonDict) -> Directory:
    """The org's lists as they will be once what the export wrote by id is visible to the key (the export
    warns about those: `pulumi preview` stops on them until then)."""
    sources = list(directory.sources or [])
    paths = list(directory.escalation_paths or [])
    for key, items in (("alertSources", sources), ("escalationPaths", paths)):
        for name, entry in (config.get(key) or {}).items():
            if set(entry) == {"id"} and all(item["id"] != entry["id"] for item in items):
                items.append({"id": entry["id"], "name": name})
    return Directory(sources, directory.attributes, paths)


def _compiled_from_text(text: str, directory: Directory) -> dict[str, tuple[JsonDict, JsonDict]]:
    """The routes of an export as `pulumi up` compiles them, by id: the printed text read as a stack file,
    checked, its names resolved against the org, each route compiled (its spec, and its `v3` input: what
    it says that only the v3 API can)."""
    document = yaml.load(text, Loader=yaml.CSafeLoader)
    config = {key.removeprefix(f"{PROJECT}:"): value for key, value in document["config"].items()}
    assert route_config_problems(config) == []
    resolved = resolve(name_tables(config), _directory_with_ids(directory, config))
    return {
        str(route.id): (
            compile_route(route, resolved.vocabulary, resolved.source_ids),
            compile_v3_settings(route, resolved.vocabulary),
        )
        for route in route_declarations(config)
        if route.id
    }


def _seed_all(emulator: Emulator, payloads: list[JsonDict]) -> None:
    """The drawn routes, each with a name of its own: route names are unique in a stack (the tests below
    show what happens to a second route of one name)."""
    emulator.state.routes.clear()
    taken: set[str] = set()
    for index, payload in enumerate(payloads):
        name = payload["name"] if payload["name"] not in taken else f"{payload['name']} {index}"
        taken.add(name)
        _seed(emulator, {**payload, "name": name})


def _exported(org: Org, with_stack_file: bool) -> tuple[Export, dict[str, tuple[JsonDict, JsonDict]]]:
    """The export of every live route, and its routes as the program compiles them."""
    existing = org.stack_file if with_stack_file else None
    # The stack's state as a stack that manages nothing yet gives it (`--route-ids` of `{}`): a drawn route whose
    # name the file does not declare is a new one. (Without the state, it would be held back while a declared
    # route has no live counterpart: test_export_write.py.)
    managed = StateIds() if with_stack_file else None
    result = export(org.api, Progress(io.StringIO()), existing=existing, directory=org.directory, state=managed)
    assert result.failed == []
    return result, _compiled_from_text(render(result, PROJECT, org.emulator.url, PRODUCTION), org.directory)


# Names of the production file's routes, so that an exported route replaces the declaration of its name
# (and follows its resource key, its order of sources and the names it uses) as often as it is added.
DECLARED = ["Production Alerts", "Production Warnings", "Unrouted Alerts", "Database Alerts", "Informational"]
ROUTES = st.lists(route_payloads(st.one_of(names, st.sampled_from(DECLARED))), min_size=1, max_size=3)


@settings(max_examples=500, deadline=None)
@given(payloads=ROUTES, with_stack_file=st.booleans())
def test_every_route_exports_and_means_the_live_route(
    org: Org, payloads: list[JsonDict], with_stack_file: bool
) -> None:
    _seed_all(org.emulator, payloads)

    _, compiled = _exported(org, with_stack_file)

    for route_id, stored in org.emulator.state.routes.items():
        live = from_live(org.emulator.state.render_route(stored))
        spec, settings = compiled[route_id]
        assert validation_errors(spec) == []
        assert settings == {}
        assert changed_fields(spec, live) == [], (spec, live)


@st.composite
def _routes_and_v3_settings(draw: st.DrawFn) -> tuple[list[JsonDict], list[JsonDict]]:
    """Drawn routes, and each as the org holds it once what only v3 can say is set on it too. Half of them
    post to one Slack channel, the form `slack` (and so `slackGroupAlertsSummary`) says, which the drawn
    channel configurations seldom are."""
    payloads = [
        {**payload, "channel_config": [_ONE_SLACK_CHANNEL]} if draw(st.booleans()) else payload
        for payload in draw(ROUTES)
    ]
    return payloads, [draw(with_v3_only_settings(payload)) for payload in payloads]


_ONE_SLACK_CHANNEL = {
    "condition_groups": [],
    "slack_targets": {"binding": {"array_value": [{"literal": ALERTS_CHANNEL}]}, "channel_visibility": "public"},
}


def _set_in_the_dashboard(stored: JsonDict, held: JsonDict) -> None:
    """The v3-only settings of `held` set on a stored route, as a dashboard edit sets them (no v2 create
    takes them)."""
    incident = held["incident_config"]
    stored["incident_config"].update({key: incident[key] for key in V3_ONLY_INCIDENT_KEYS if key in incident})
    for channel, held_channel in zip(stored.get("channel_config") or [], held["channel_config"], strict=True):
        for kind, target in held_channel.items():
            if isinstance(target, dict) and "group_alerts_summary" in target:
                channel[kind]["group_alerts_summary"] = target["group_alerts_summary"]


@settings(max_examples=300, deadline=None)
@given(drawn=_routes_and_v3_settings(), with_stack_file=st.booleans())
def test_in_a_migrated_org_every_route_exports_with_its_v3_settings_said_or_warned_of(
    migrated_org: Org, drawn: tuple[list[JsonDict], list[JsonDict]], with_stack_file: bool
) -> None:
    """Routes read through v2 and v3, compared as `pulumi up` compares them (providers/api.py, LiveRoute:
    what a v2 read cannot tell of a route that creates no incidents is the declaration's, B15). What only
    v3 can say is in the export as far as a stack-file option says it; the rest is named in a WARNING."""
    org = migrated_org
    payloads, held = drawn
    _seed_all(org.emulator, payloads)
    for stored, route in zip(org.emulator.state.routes.values(), held, strict=True):
        _set_in_the_dashboard(stored.payload, route)

    result, compiled = _exported(org, with_stack_file)

    for route_id in org.emulator.state.routes:
        live = org.api.read_route(route_id)
        assert live is not None
        spec, declared = compiled[route_id]
        assert validation_errors(spec) == []
        differing = changed_fields(with_v3(spec, declared), live.route(spec))
        assert differing in ([], ["v3"]), (spec, declared, live)
        # Never a v3-only setting the route does not have; one it has and the file cannot say is warned of.
        assert set(settings_said(declared)) <= set(settings_said(live.v3_settings))
        warned = [note for note in result.notes if note.startswith(f"WARNING: route {live.name} has settings")]
        assert bool(warned) == (differing == ["v3"]), result.notes


def test_the_routes_drawn_reach_every_field_of_the_payload() -> None:
    """The property above is only as good as what it draws: every field of every payload model, and each
    boolean field both ways, is drawn by some example."""
    seen: set[str] = set()
    booleans: set[tuple[str, bool]] = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(route_payloads())
    def collect(payload: JsonDict) -> None:
        seen.update(set_fields(payload))
        booleans.update(set_booleans(payload))

    collect()
    assert every_payload_field() - seen == set()
    assert {(name, value) for name in every_boolean_field() for value in (True, False)} - booleans == set()


# The routes of the issue, one by one


def _org_with(emulator: Emulator, *specs: JsonDict) -> list[str]:
    return [emulator.state.create_route(spec).id for spec in specs]


@in_both_org_modes
def test_a_custom_incident_name_template_exports_into_raw(emulator: Emulator) -> None:
    # Set in the dashboard: a name template that is not autogenerated. The high-level form compiles
    # `autogenerated: true`; the API's default, when it is left out, is `false`: `raw` must say it. (On a
    # route that creates incidents: in an org on the new grouping engine one that creates none has no
    # template, docs/api-behaviour.md B15.)
    custom = route_spec(
        "Custom incident name",
        incident_config={**route_spec()["incident_config"], "enabled": True},
        incident_template={"name": {"autogenerated": False, "binding": {"value": {"reference": "alert.title"}}}},
    )
    ids = _org_with(emulator, route_spec("Production Warnings"), custom)

    result = run_command("export-incident-io.sh", emulator=emulator)

    assert result.returncode == 0, result.stderr
    routes = {route["id"]: route for route in yaml.safe_load(result.stdout)["config"][f"{PROJECT}:routes"]}
    assert set(routes) == set(ids)
    assert routes[ids[1]]["raw"] == {
        "incident_config": {"enabled": True},
        "incident_template": {"name": {"autogenerated": False, "binding": {"value": {"reference": "alert.title"}}}},
    }


def test_a_route_that_cannot_be_exported_is_named_and_the_others_are_exported(
    emulator: Emulator, tmp_path: Path
) -> None:
    # Two live routes of one name: a stack declares each name once, so one of them cannot be declared.
    ids = _org_with(emulator, route_spec("Twice"), route_spec("Twice", enabled=False), route_spec("Once"))
    output = tmp_path / "routes.yaml"

    result = run_command("export-incident-io.sh", "--output", output, emulator=emulator)

    assert result.returncode == 1, result.stderr
    routes = yaml.safe_load(output.read_text())["config"][f"{PROJECT}:routes"]
    assert sorted((route["name"], route["id"]) for route in routes) == [("Once", ids[2]), ("Twice", ids[0])]
    assert (
        f"error: route 'Twice' ({ids[1]}) was not exported: another route of the stack is named 'Twice'"
        in result.stderr
    )
    assert f"NOT exported (1; stderr says why): Twice ({ids[1]})" in output.read_text()
    assert "exported 2 routes; 1 could not be exported" in result.stderr


def test_a_route_without_an_alert_source_is_named_with_why(emulator: Emulator) -> None:
    ids = _org_with(emulator, route_spec("Nothing in", alert_sources=[]), route_spec("Production Warnings"))
    result = run_command("export-incident-io.sh", emulator=emulator)
    assert result.returncode == 1
    assert f"route 'Nothing in' ({ids[0]}) was not exported: it lists no alert source" in result.stderr
    assert [route["id"] for route in yaml.safe_load(result.stdout)["config"][f"{PROJECT}:routes"]] == [ids[1]]


def test_a_name_that_makes_no_resource_key_or_another_routes_gets_a_key_of_its_own(emulator: Emulator) -> None:
    ids = _org_with(emulator, route_spec("Foo Bar"), route_spec("foo-bar"), route_spec("🚨"), route_spec("Café"))
    result = run_command("export-incident-io.sh", emulator=emulator)
    assert result.returncode == 0, result.stderr
    routes = yaml.safe_load(result.stdout)["config"][f"{PROJECT}:routes"]
    keys = {route["name"]: route.get("key") for route in routes}
    assert keys == {"Foo Bar": None, "foo-bar": "foo-bar-2", "🚨": f"route-{ids[2].lower()}", "Café": None}
    config = {key.removeprefix(f"{PROJECT}:"): value for key, value in yaml.safe_load(result.stdout)["config"].items()}
    assert route_config_problems(config) == []


def test_a_bug_on_one_route_is_reported_and_changes_nothing_for_the_others(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ops import route_fit

    ids = _org_with(emulator, route_spec("Production Warnings"), route_spec("Breaks the export"))
    fitted = route_fit.fitted

    def breaks_on_one(payload: JsonDict, types: dict[str, str], live: LiveRoute) -> JsonDict:
        if payload["name"] == "Breaks the export":
            raise KeyError("a field the export did not expect")
        return fitted(payload, types, live)

    monkeypatch.setattr(route_fit, "fitted", breaks_on_one)
    client = ApiClient(Credentials(api_key=CANARY_API_KEY, api_url=emulator.url), max_retries=0)

    result = export(IncidentIoApi(client), Progress(io.StringIO()))

    assert [(failure.name, failure.id) for failure in result.failed] == [("Breaks the export", ids[1])]
    assert "a bug in the export (KeyError('a field the export did not expect'))" in result.failed[0].why
    assert [route["id"] for route in result.config["routes"]] == [ids[0]]
    assert list(result.config["alertSources"]) == ["alertmanager_production"]
