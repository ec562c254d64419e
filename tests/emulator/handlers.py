"""Endpoint logic: a request in (method, path, query, decoded body), a status and JSON body out."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import incident_io.models as sdk

from tests.emulator.render import checked
from tests.emulator.state import ApiError, EmulatorState
from tests.sdk_oracle import shape_errors

JsonDict = dict[str, Any]
MAX_PAGE_SIZE = 250


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    params: dict[str, str]
    api_key: str = ""


Handler = Callable[[EmulatorState, Request], tuple[int, JsonDict | None]]


def _validated(model: type, body: Any) -> JsonDict:
    errors = shape_errors(model, body)
    if errors:
        field, message = errors[0]
        raise ApiError(422, "validation_error", f"{field}: {message}", field=field, code="invalid_value")
    model.from_dict(body)  # type: ignore[attr-defined]  # every SDK model has from_dict
    result: JsonDict = body
    return result


def _page(request: Request, items: list[JsonDict], key: str) -> JsonDict:
    """One page of a cursor-paginated list of items sorted by id."""
    try:
        page_size = int(request.query.get("page_size", "25"))
    except ValueError:
        raise ApiError(400, "invalid_request_error", "page_size must be an integer", field="page_size") from None
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ApiError(422, "validation_error", f"page_size must be between 1 and {MAX_PAGE_SIZE}", field="page_size")
    after = request.query.get("after")
    if after:
        items = [item for item in items if item["id"] > after]
    page = items[:page_size]
    meta: JsonDict = {"page_size": page_size}
    if len(items) > page_size:
        meta["after"] = page[-1]["id"]
    return {key: page, "pagination_meta": meta}


def list_routes(state: EmulatorState, request: Request) -> tuple[int, JsonDict]:
    body = _page(request, state.listed_routes(), "alert_routes")
    sdk.AlertRoutesListResultV2.from_dict(body)
    return 200, body


def _engine_checked(state: EmulatorState, payload: JsonDict) -> JsonDict:
    _refuse_first(state.payload_errors(payload))
    return payload


def _refuse_first(errors: Iterator[tuple[str, str]]) -> None:
    for field, message in errors:
        raise ApiError(422, "validation_error", f"{field}: {message}", field=field, code="invalid_value")


def create_route(state: EmulatorState, request: Request) -> tuple[int, JsonDict]:
    payload = _engine_checked(state, _validated(sdk.AlertRoutesCreatePayloadV2, request.body))
    route = state.create_route(payload)
    return 201, {"alert_route": state.render_route(route)}


def show_route(state: EmulatorState, request: Request) -> tuple[int, JsonDict]:
    return 200, {"alert_route": state.render_route(state.get_route(request.params["id"]))}


def update_route(state: EmulatorState, request: Request) -> tuple[int, JsonDict]:
    payload = _engine_checked(state, _validated(sdk.AlertRoutesUpdatePayloadV2, request.body))
    route = state.update_route(request.params["id"], payload)
    return 200, {"alert_route": state.render_route(route)}


def delete_route(state: EmulatorState, request: Request) -> tuple[int, None]:
    state.delete_route(request.params["id"])
    return 204, None


# /v3/alert_routes: the same routes in the v3 shapes, for an org on the new grouping engine only.
def list_routes_v3(state: EmulatorState, request: Request) -> tuple[int, JsonDict]:
    state.require_v3()
    slim = [{key: route[key] for key in ("id", "name", "enabled")} for route in state.listed_routes()]
    return 200, checked(sdk.AlertRoutesListResultV3, _page(request, slim, "alert_routes"))


def _v3_payload(state: EmulatorState, model: type, body: Any) -> JsonDict:
    payload = _validated(model, body)
    _refuse_first(state.payload_errors_v3(payload))
    return payload


def create_route_v3(state: EmulatorState, request: Request) -> tuple[int, JsonDict]:
    state.require_v3()
    route = state.create_route_v3(_v3_payload(state, sdk.AlertRoutesCreatePayloadV3, request.body))
    return 201, checked(sdk.AlertRoutesCreateResultV3, {"alert_route": state.render_route(route, v3=True)})


def show_route_v3(state: EmulatorState, request: Request) -> tuple[int, JsonDict]:
    state.require_v3()
    route = state.get_route(request.params["id"])
    return 200, checked(sdk.AlertRoutesShowResultV3, {"alert_route": state.render_route(route, v3=True)})


def update_route_v3(state: EmulatorState, request: Request) -> tuple[int, JsonDict]:
    state.require_v3()
    payload = _v3_payload(state, sdk.AlertRoutesUpdatePayloadV3, request.body)
    route = state.update_route_v3(request.params["id"], payload)
    return 200, checked(sdk.AlertRoutesUpdateResultV3, {"alert_route": state.render_route(route, v3=True)})


def delete_route_v3(state: EmulatorState, request: Request) -> tuple[int, None]:
    state.require_v3()
    state.delete_route(request.params["id"])
    return 204, None


def list_sources(state: EmulatorState, request: Request) -> tuple[int, JsonDict]:
    body = {"alert_sources": [state.get_source(source_id) for source_id in sorted(state.sources)]}
    sdk.AlertSourcesListResultV2.from_dict(body)
    return 200, body


def show_source(state: EmulatorState, request: Request) -> tuple[int, JsonDict]:
    return 200, {"alert_source": state.get_source(request.params["id"])}


def list_attributes(state: EmulatorState, request: Request) -> tuple[int, JsonDict]:
    body = {"alert_attributes": [state.attributes[id_] for id_ in sorted(state.attributes)]}
    return 200, checked(sdk.AlertAttributesListResultV2, body)


def list_escalation_paths(state: EmulatorState, request: Request) -> tuple[int, JsonDict]:
    paths = [state.escalation_paths[id_] for id_ in sorted(state.escalation_paths)]
    return 200, checked(sdk.EscalationsListPathsResultV2, _page(request, paths, "escalation_paths"))


def identity(state: EmulatorState, request: Request) -> tuple[int, JsonDict]:
    return 200, checked(sdk.UtilitiesIdentityResultV1, {"identity": state.identities[request.api_key]})


def create_managed_resource(state: EmulatorState, request: Request) -> tuple[int, JsonDict]:
    payload = _validated(sdk.ManagedResourcesCreateManagedResourcePayloadV2, request.body)
    if payload["resource_type"] == "alert_route":
        state.get_route(payload["resource_id"])
    record = state.claim(payload["resource_type"], payload["resource_id"], payload["annotations"])
    # 200, not 201: the only success status of the SDK's managed_resources_v2_create_managed_resource
    # and of TF's generated client (ManagedResourcesV2CreateManagedResourceResponse.JSON200).
    return 200, checked(sdk.ManagedResourcesCreateManagedResourceResultV2, {"managed_resource": record})


def rotate_source_token(state: EmulatorState, request: Request) -> tuple[int, None]:
    """The emulator's own endpoint, not incident.io's: what "rotate token" in the dashboard does, for the
    sandbox's `dashboard rotate-token` (the public API has no call for it). Under /_emulator/, never a real path."""
    state.rotate_source_token(request.params["id"])
    return 204, None


ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("GET", re.compile(r"/v2/alert_routes"), list_routes),
    ("POST", re.compile(r"/v2/alert_routes"), create_route),
    ("GET", re.compile(r"/v2/alert_routes/(?P<id>[^/]+)"), show_route),
    ("PUT", re.compile(r"/v2/alert_routes/(?P<id>[^/]+)"), update_route),
    ("DELETE", re.compile(r"/v2/alert_routes/(?P<id>[^/]+)"), delete_route),
    ("GET", re.compile(r"/v3/alert_routes"), list_routes_v3),
    ("POST", re.compile(r"/v3/alert_routes"), create_route_v3),
    ("GET", re.compile(r"/v3/alert_routes/(?P<id>[^/]+)"), show_route_v3),
    ("PUT", re.compile(r"/v3/alert_routes/(?P<id>[^/]+)"), update_route_v3),
    ("DELETE", re.compile(r"/v3/alert_routes/(?P<id>[^/]+)"), delete_route_v3),
    ("GET", re.compile(r"/v2/alert_sources"), list_sources),
    ("GET", re.compile(r"/v2/alert_sources/(?P<id>[^/]+)"), show_source),
    ("GET", re.compile(r"/v2/alert_attributes"), list_attributes),
    ("GET", re.compile(r"/v2/escalation_paths"), list_escalation_paths),
    ("GET", re.compile(r"/v1/identity"), identity),
    ("POST", re.compile(r"/v2/managed_resources"), create_managed_resource),
    ("POST", re.compile(r"/_emulator/alert_sources/(?P<id>[^/]+)/rotate_token"), rotate_source_token),
]


def resolve(method: str, path: str) -> tuple[Handler, dict[str, str]]:
    allowed = False
    for route_method, pattern, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match:
            if route_method == method:
                return handler, match.groupdict()
            allowed = True
    if allowed:
        raise ApiError(405, "method_not_allowed", f"{method} is not allowed on {path}")
    raise ApiError(404, "not_found", f"no such endpoint: {path}")


def error_body(error: ApiError, request_id: str) -> JsonDict:
    single: JsonDict = {"code": error.code, "message": error.message}
    if error.field:
        single["source"] = {"field": error.field, "pointer": "/" + error.field.replace(".", "/")}
    body = {"type": error.error_type, "status": error.status, "request_id": request_id, "errors": [single]}
    sdk.ErrorResponse.from_dict(body)
    return body
