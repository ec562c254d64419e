"""`./scripts/sandbox.sh dashboard`: each action changes the org the way a person in incident.io's dashboard does,
through the API in its own shapes, so the provider meets what it meets after a real edit; and the sandbox's org
survives its emulator being stopped and started again (tests/sandbox/org_file.py)."""

from __future__ import annotations

import concurrent.futures
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from providers.alert_route_spec import from_live
from providers.api import IncidentIoApi
from providers.http import ApiClient, Credentials
from providers.route_compare import changed_fields
from tests.conftest import CANARY_API_KEY
from tests.emulator import Emulator, running_emulator
from tests.emulator.seed import SEVERITY_ATTRIBUTE, seed_runbook
from tests.emulator.state import EmulatorState
from tests.sandbox import org_file
from tests.sandbox.__main__ import parser
from tests.sandbox.sandbox import SandboxError

SERVER_SET = ("created_at", "updated_at")


@pytest.fixture
def org() -> Iterator[Emulator]:
    with running_emulator(api_key=CANARY_API_KEY) as emulator:
        seed_runbook(emulator.state, base_url="https://api.incident.io")
        yield emulator


@pytest.fixture
def api(org: Emulator) -> Iterator[IncidentIoApi]:
    client = ApiClient(Credentials(api_key=CANARY_API_KEY, api_url=org.url), max_retries=0)
    yield IncidentIoApi(client)
    client.close()


def dashboard(api: IncidentIoApi, *argv: str) -> None:
    args = parser().parse_args(["dashboard", *argv])
    args.run(api, args)


def route_named(state: EmulatorState, name: str) -> Any:
    (route,) = (route for route in state.routes.values() if route.payload["name"] == name)
    return route


def answered(state: EmulatorState, name: str) -> dict[str, Any]:
    rendered = state.render_route(route_named(state, name))
    return {key: value for key, value in rendered.items() if key not in SERVER_SET}


@pytest.mark.parametrize(
    ("argv", "edit"),
    [
        (("disable", "Production Warnings"), {"enabled": False}),
        (
            ("rename", "Production Warnings", "Production Warnings (Alertmanager)"),
            {"name": "Production Warnings (Alertmanager)"},
        ),
    ],
)
def test_an_action_leaves_the_route_as_a_dashboard_edit_does(
    org: Emulator, api: IncidentIoApi, argv: tuple[str, ...], edit: dict[str, Any]
) -> None:
    """The same route after the action and after the emulator's own model of a dashboard edit: the field changed,
    the version moved by one, nothing else."""
    before = copy.deepcopy(answered(org.state, "Production Warnings"))
    dashboard(api, *argv)
    with running_emulator(api_key=CANARY_API_KEY) as other:
        seed_runbook(other.state, base_url="https://api.incident.io")
        other.state.edit_out_of_band(route_named(other.state, "Production Warnings").id, **edit)
        expected = answered(other.state, str(edit.get("name", "Production Warnings")))
    after = answered(org.state, str(edit.get("name", "Production Warnings")))
    assert after == expected
    assert after["version"] == before["version"] + 1
    assert changed_fields(from_live(before), from_live(after)) == list(edit)


def test_enable_condition_copy_and_delete_change_what_they_say(
    org: Emulator, api: IncidentIoApi, capsys: pytest.CaptureFixture[str]
) -> None:
    dashboard(api, "disable", "Unrouted Alerts")
    dashboard(api, "enable", "Unrouted Alerts")
    assert route_named(org.state, "Unrouted Alerts").payload["enabled"] is True
    assert route_named(org.state, "Unrouted Alerts").version == 3

    before = from_live(org.state.render_route(route_named(org.state, "Production Warnings")))
    dashboard(api, "condition", "Production Warnings", "severity", "warning,error")
    after_route = route_named(org.state, "Production Warnings")
    after = from_live(org.state.render_route(after_route))
    assert changed_fields(before, after) == ["alert_sources"]
    (condition,) = after["alert_sources"][0]["condition_groups"][0]["conditions"]
    assert condition["subject"] == f"alert.attributes.{SEVERITY_ATTRIBUTE}"
    assert condition["param_bindings"] == [{"array_value": [{"literal": "warning"}, {"literal": "error"}]}]

    dashboard(api, "copy", "Database Alerts")
    original = from_live(org.state.render_route(route_named(org.state, "Database Alerts")))
    copied = from_live(org.state.render_route(route_named(org.state, "Database Alerts (copy)")))
    assert changed_fields(original, copied) == ["name"]
    dashboard(api, "delete", "Database Alerts (copy)")
    assert [r.payload["name"] for r in org.state.routes.values()].count("Database Alerts (copy)") == 0
    said = capsys.readouterr().out
    assert "enabled true -> false; version 1 -> 2" in said
    assert "severity contains_one_of ['warning'] -> ['warning', 'error']" in said


def test_rotate_token_gives_the_source_a_new_token_and_never_shows_it(
    org: Emulator, api: IncidentIoApi, capsys: pytest.CaptureFixture[str]
) -> None:
    source_id = next(id_ for id_, source in org.state.sources.items() if source["name"] == "Alertmanager (Production)")
    old = org.state.sources[source_id]["secret_token"]
    dashboard(api, "rotate-token", "Alertmanager (Production)")
    new = api.get_source(source_id)["secret_token"]
    assert new != old and new.startswith(old)
    assert new not in capsys.readouterr().out
    # The emulator's own endpoint, like every other, needs the key.
    refused = requests.post(f"{org.url}/_emulator/alert_sources/{source_id}/rotate_token", timeout=5)
    assert refused.status_code == 401


def test_a_name_that_is_not_there_says_what_is(api: IncidentIoApi) -> None:
    with pytest.raises(SandboxError, match=r"no route is named 'Nope'.*'Production Alerts'"):
        dashboard(api, "disable", "Nope")
    with pytest.raises(SandboxError, match="has no condition on 'branch'"):
        dashboard(api, "condition", "Production Warnings", "branch", "main")
    with pytest.raises(SandboxError, match="no alert attribute named 'sev'"):
        dashboard(api, "condition", "Production Warnings", "sev", "x")


def test_the_org_file_keeps_the_org_as_it_was(org: Emulator, api: IncidentIoApi, tmp_path: Path) -> None:
    dashboard(api, "disable", "Production Warnings")
    dashboard(api, "rotate-token", "Alertmanager (Staging)")
    org_file.save(org.state, tmp_path / "org.pickle")
    loaded = org_file.load(tmp_path / "org.pickle")
    assert {id_: (r.payload, r.version) for id_, r in loaded.routes.items()} == {
        id_: (r.payload, r.version) for id_, r in org.state.routes.items()
    }
    assert loaded.sources == org.state.sources and loaded.identities == org.state.identities
    # The next route gets the next id, as it would have in the emulator that saved it.
    assert loaded.new_id() == org.state.new_id()


def test_the_sandbox_emulator_answers_writes_that_arrive_together(org: Emulator, tmp_path: Path) -> None:
    # The sandbox saves its org after every write; a deploy claims its routes several at a time. A save that
    # fails answers nothing, the provider cannot retry a lost POST, and the route stays unclaimed: the next
    # preview then shows an update after a clean `up`.
    org.after_change = lambda: org_file.save(org.state, tmp_path / "org.pickle")
    client = ApiClient(Credentials(api_key=CANARY_API_KEY, api_url=org.url), max_retries=0)
    api = IncidentIoApi(client)
    route_ids = sorted(org.state.routes) * 20
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(lambda route_id: api.claim_route(route_id, {"pulumi/stack": "production"}), route_ids))
    assert len(claims) == len(route_ids)
    assert org_file.load(tmp_path / "org.pickle").managed_resources == org.state.managed_resources
