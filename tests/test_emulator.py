"""The emulator holds the vendor's contract, checked against the official SDK's models."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import incident_io.models as sdk
import pytest
import requests

from tests.conftest import CANARY_API_KEY, route_spec
from tests.emulator import Emulator
from tests.emulator.seed import SEVERITY_ATTRIBUTE


def _call(
    emulator: Emulator,
    method: str,
    path: str,
    body: object = None,
    *,
    raw: bytes | None = None,
    params: dict[str, str | int] | None = None,
) -> requests.Response:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    return requests.request(
        method,
        f"{emulator.url}{path}",
        data=data,
        params=params,
        headers={"Authorization": f"Bearer {CANARY_API_KEY}", "Content-Type": "application/json"},
        timeout=5,
    )


def _error_field(response: requests.Response) -> str:
    source = sdk.ErrorResponse.from_dict(response.json()).errors[0].source
    assert isinstance(source, sdk.ErrorSource)
    return source.field


def test_rejects_requests_without_the_bearer_token(emulator: Emulator) -> None:
    response = requests.get(f"{emulator.url}/v2/alert_routes", timeout=5)
    assert response.status_code == 401
    error = sdk.ErrorResponse.from_dict(response.json())
    assert error.type_.value == "authentication_error"


def test_create_answers_in_the_response_model_shape(emulator: Emulator) -> None:
    response = _call(emulator, "POST", "/v2/alert_routes", route_spec())
    assert response.status_code == 201
    route = sdk.AlertRoutesCreateResultV2.from_dict(response.json()).alert_route
    assert route.version == 1 and route.id
    condition = route.alert_sources[0].condition_groups[0].conditions[0]
    assert condition.subject.reference == f"alert.attributes.{SEVERITY_ATTRIBUTE}"
    assert condition.subject.label == "severity"  # the attribute's name
    assert condition.operation.value == "contains_one_of"  # what the engine stores for one_of on a String


def test_integer_written_as_float_is_rejected_like_go_does(emulator: Emulator) -> None:
    spec = route_spec()
    raw = json.dumps(spec).replace('"defer_time_seconds": 0', '"defer_time_seconds": 300.0').encode()
    response = _call(emulator, "POST", "/v2/alert_routes", raw=raw)
    assert response.status_code == 422
    assert _error_field(response) == "incident_config.defer_time_seconds"
    assert emulator.state.routes == {}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s.pop("name"), "name"),
        (lambda s: s.update(nmae="typo"), "nmae"),
        (lambda s: s.update(enabled="yes"), "enabled"),
    ],
)
def test_invalid_payloads_get_error_responses_naming_the_field(
    emulator: Emulator, mutate: Callable[[dict[str, Any]], object], field: str
) -> None:
    spec = route_spec()
    mutate(spec)
    response = _call(emulator, "POST", "/v2/alert_routes", spec)
    assert response.status_code == 422
    assert _error_field(response) == field


def test_list_serves_stale_versions_and_put_needs_detail_version_plus_one(emulator: Emulator) -> None:
    route_id = _call(emulator, "POST", "/v2/alert_routes", route_spec()).json()["alert_route"]["id"]
    emulator.state.edit_out_of_band(route_id, enabled=False)
    listed = _call(emulator, "GET", "/v2/alert_routes").json()["alert_routes"][0]
    detail = _call(emulator, "GET", f"/v2/alert_routes/{route_id}").json()["alert_route"]
    assert (listed["version"], detail["version"]) == (1, 2)
    stale = _call(emulator, "PUT", f"/v2/alert_routes/{route_id}", {**route_spec(), "version": listed["version"] + 1})
    assert stale.status_code == 422
    assert stale.json()["errors"][0]["source"]["field"] == "version"
    fresh = _call(emulator, "PUT", f"/v2/alert_routes/{route_id}", {**route_spec(), "version": detail["version"] + 1})
    assert fresh.status_code == 200
    assert sdk.AlertRoutesUpdateResultV2.from_dict(fresh.json()).alert_route.version == 3


def test_list_is_cursor_paginated(emulator: Emulator) -> None:
    for index in range(5):
        emulator.state.create_route(route_spec(f"route {index}"))
    seen, after, pages = [], None, 0
    while True:
        params: dict[str, str | int] = {"page_size": 2, **({"after": after} if after else {})}
        body = sdk.AlertRoutesListResultV2.from_dict(_call(emulator, "GET", "/v2/alert_routes", params=params).json())
        pages += 1
        seen += [route.name for route in body.alert_routes]
        after = body.pagination_meta.after if isinstance(body.pagination_meta.after, str) else None
        if not after:
            break
    assert pages == 3
    assert seen == [f"route {index}" for index in range(5)]


def test_sources_carry_token_and_events_url(emulator: Emulator) -> None:
    body = sdk.AlertSourcesListResultV2.from_dict(_call(emulator, "GET", "/v2/alert_sources").json())
    by_name = {source.name: source for source in body.alert_sources}
    production = by_name["Alertmanager (Production)"]
    assert production.alert_events_url == (
        "https://api.incident.io/v2/alert_events/alertmanager/01KHSNW67SZJ1KGWEMA9C0GPT7"
    )
    assert production.secret_token


def test_a_claim_answers_200_as_the_sdk_and_terraform_clients_expect(emulator: Emulator) -> None:
    route_id = _call(emulator, "POST", "/v2/alert_routes", route_spec()).json()["alert_route"]["id"]
    claim = {"resource_type": "alert_route", "resource_id": route_id, "annotations": {"a": "b"}}

    response = _call(emulator, "POST", "/v2/managed_resources", claim)

    # The SDK's managed_resources_v2_create_managed_resource parses a body only for 200 (201 would
    # be an unexpected status), and so does TF's generated client (JSON200).
    assert response.status_code == 200
    assert sdk.ManagedResourcesCreateManagedResourceResultV2.from_dict(response.json()).managed_resource.resource_id


def test_the_command_line_chooses_the_org_mode() -> None:
    from tests.emulator.__main__ import parser

    assert parser().parse_args([]).org_mode == "migrated"
    assert parser().parse_args(["--org-mode", "not-migrated"]).org_mode == "not-migrated"
    with pytest.raises(SystemExit):
        parser().parse_args(["--org-mode", "v3"])
