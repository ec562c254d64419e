"""What the emulated incident.io org holds, and the rules the real API enforces on it."""

from __future__ import annotations

import copy
import datetime
import itertools
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.emulator.behaviour import ApiBehaviour, stored
from tests.emulator.render import render_route, render_source
from tests.emulator.v3 import held_from_v3, keep_v3_only_settings

JsonDict = dict[str, Any]
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SERVER_OWNED = ("created_at", "updated_at", "version", "id")
# The roles of a key made the way the runbook says ("View data…", "Create and manage on-call resources").
RUNBOOK_ROLES = ("viewer", "on_call_editor")

# Engine operations, from incident.io's own material (docs/api-behaviour.md, "Operations").
OPERATIONS = frozenset(
    {"one_of", "contains_one_of", "contains", "name_contains", "is", "is_set", "is_not_set", "is_active"}
)
# Subjects every alert has, besides its attributes, and their engine types.
ALERT_SUBJECTS = {"alert.title": "String", "alert.description": "TemplatedText"}


class ApiError(Exception):
    """An error the API answers with, in ErrorResponse terms."""

    def __init__(self, status: int, error_type: str, message: str, *, field: str | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.field = field
        self.code = code or error_type


def _ulid_like(counter: int, prefix: str = "01KT") -> str:
    digits = []
    for _ in range(26 - len(prefix)):
        counter, digit = divmod(counter, 32)
        digits.append(_CROCKFORD[digit])
    return prefix + "".join(reversed(digits))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class StoredRoute:
    id: str
    # The route as the org holds it: a v2 payload, plus any v3-only settings under their v3 names
    # (tests/emulator/v3.py). v2 answers leave those out; v3 answers are made from the whole.
    payload: JsonDict
    version: int
    # The list endpoint's version for this route: the real API serves a stale one.
    listed_version: int
    created_at: str
    updated_at: str


@dataclass
class EmulatorState:
    # API key -> the identity GET /v1/identity answers for it (UtilitiesIdentityResultV1.identity).
    identities: dict[str, JsonDict] = field(default_factory=dict)
    behaviour: ApiBehaviour = field(default_factory=ApiBehaviour)
    # Whether the org is on incident.io's new alert grouping engine: then /v3/alert_routes serves
    # the same routes as /v2; before, every /v3/alert_routes call answers 403 api_not_yet_available
    # (docs/api-behaviour.md, "v3 alert routes" and "Org modes").
    org_migrated: bool = True
    routes: dict[str, StoredRoute] = field(default_factory=dict)
    sources: dict[str, JsonDict] = field(default_factory=dict)
    attributes: dict[str, JsonDict] = field(default_factory=dict)
    escalation_paths: dict[str, JsonDict] = field(default_factory=dict)
    # (resource_type, resource_id) -> the managed resource record a claim wrote.
    managed_resources: dict[tuple[str, str], JsonDict] = field(default_factory=dict)
    # Display names of ids and references in the org (see render.Labels).
    labels: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # Keys
    def add_api_key(self, key: str, *, roles: tuple[str, ...] = RUNBOOK_ROLES, name: str = "Pulumi") -> None:
        self.identities[key] = {
            "name": name,
            "dashboard_url": "https://app.incident.io/unkey",
            "roles": list(roles),
            "team_roles": [],
            "teams": [],
        }

    # Sources
    def add_source(
        self,
        *,
        id_: str,
        name: str,
        source_type: str,
        secret_token: str,
        base_url: str,
        options: JsonDict | None = None,
    ) -> JsonDict:
        source = render_source(
            id_=id_, name=name, source_type=source_type, secret_token=secret_token, base_url=base_url, options=options
        )
        self.sources[id_] = source
        return source

    def get_source(self, source_id: str) -> JsonDict:
        if source_id not in self.sources:
            raise ApiError(404, "not_found", f"alert source {source_id} not found", code="not_found")
        return copy.deepcopy(self.sources[source_id])

    def rotate_source_token(self, source_id: str) -> None:
        """What "rotate token" in a source's settings in the dashboard does: a new secret token; the old one is
        refused from then on. The new one keeps the old one's prefix (tests look for leaks by it)."""
        with self.lock:
            source = self.sources.get(source_id)
            if source is None:
                raise ApiError(404, "not_found", f"alert source {source_id} not found", code="not_found")
            kept = str(source["secret_token"]).split("-rotated-")[0]
            source["secret_token"] = f"{kept}-rotated-{secrets.token_hex(8)}"

    # Alert attributes and escalation paths: what condition subjects and escalation targets name
    def add_attribute(self, *, id_: str, name: str, type_: str = "String", array: bool = False) -> JsonDict:
        attribute = {"id": id_, "name": name, "type": type_, "array": array, "required": False}
        self.attributes[id_] = attribute
        self.labels[f"alert.attributes.{id_}"] = name
        return attribute

    def add_escalation_path(self, *, id_: str, name: str) -> JsonDict:
        path = {"id": id_, "name": name, "kind": "standalone", "path": [], "team_ids": []}
        self.escalation_paths[id_] = path
        self.labels[id_] = name
        return path

    def subject_types(self) -> dict[str, str]:
        types = {f"alert.attributes.{id_}": attribute["type"] for id_, attribute in self.attributes.items()}
        return {**ALERT_SUBJECTS, **types}

    # Routes
    def new_id(self) -> str:
        return _ulid_like(next(self._ids))

    def _stored(self, payload: JsonDict) -> JsonDict:
        kept = {key: copy.deepcopy(value) for key, value in payload.items() if key not in SERVER_OWNED}
        return stored(kept, self.behaviour, self.subject_types())

    def require_v3(self) -> None:
        if not self.org_migrated:
            # The body TF's import fallback looks for (incident_alert_route_resource.go,
            # isAPINotYetAvailable; its test's body in incident_alert_route_import_test.go).
            raise ApiError(
                403,
                "resource_forbidden",
                "The v3 alert routes API is not yet available for this organisation: it has not moved to the "
                "new alert grouping engine",
                code="api_not_yet_available",
            )

    def create_route_v3(self, payload: JsonDict) -> StoredRoute:
        return self.create_route(held_from_v3(payload))

    def create_route(self, payload: JsonDict) -> StoredRoute:
        with self.lock:
            now = _now()
            route = StoredRoute(self.new_id(), self._stored(payload), 1, 1, now, now)
            self.routes[route.id] = route
            return route

    def render_route(self, route: StoredRoute, *, v3: bool = False) -> JsonDict:
        return render_route(
            route.payload,
            id_=route.id,
            version=route.version,
            created_at=route.created_at,
            updated_at=route.updated_at,
            labels=self.labels,
            behaviour=self.behaviour,
            v3=v3,
        )

    def get_route(self, route_id: str) -> StoredRoute:
        route = self.routes.get(route_id)
        if route is None:
            raise ApiError(404, "not_found", f"alert route {route_id} not found", code="not_found")
        return route

    def update_route(self, route_id: str, payload: JsonDict) -> StoredRoute:
        """A v2 PUT: it has no field for the v3-only settings, so they are lost unless the
        behaviour says the API keeps them ([B13])."""
        with self.lock:
            route = self.get_route(route_id)
            if not self.behaviour.v2_write_drops_v3_only_settings:
                payload = keep_v3_only_settings(route.payload, payload)
            return self._replace(route, payload)

    def update_route_v3(self, route_id: str, payload: JsonDict) -> StoredRoute:
        with self.lock:
            return self._replace(self.get_route(route_id), {**held_from_v3(payload), "version": payload.get("version")})

    def _replace(self, route: StoredRoute, payload: JsonDict) -> StoredRoute:
        expected = route.version + 1
        if payload.get("version") != expected:
            raise ApiError(
                422,
                "validation_error",
                f"version must be the current version plus one ({expected}); got {payload.get('version')}",
                field="version",
                code="invalid_value",
            )
        route.payload = self._stored(payload)
        route.version = expected
        route.updated_at = _now()
        return route

    def delete_route(self, route_id: str) -> None:
        with self.lock:
            self.get_route(route_id)
            del self.routes[route_id]

    def edit_out_of_band(self, route_id: str, **changes: Any) -> StoredRoute:
        """What a person clicking in the incident.io UI does: change fields, bump the version."""
        with self.lock:
            route = self.get_route(route_id)
            route.payload = {**copy.deepcopy(route.payload), **changes}
            route.version += 1
            route.updated_at = _now()
            return route

    def listed_routes(self) -> list[JsonDict]:
        return [
            {
                "id": route.id,
                "name": route.payload["name"],
                "enabled": route.payload["enabled"],
                "version": route.listed_version,
            }
            for route in sorted(self.routes.values(), key=lambda r: r.id)
        ]

    # What the API checks in a route payload beyond its shape, before it stores it
    def payload_errors(self, payload: JsonDict) -> Iterator[tuple[str, str]]:
        yield from _target_errors(payload, payload.get("channel_config") or [], "channel_config")
        yield from self._reference_errors(payload)

    def payload_errors_v3(self, payload: JsonDict) -> Iterator[tuple[str, str]]:
        destinations = payload["message_config"]["destinations"]
        yield from _target_errors(payload, destinations, "message_config.destinations")
        yield from self._reference_errors(payload)
        yield from _v3_rules(payload, self.behaviour)

    def _reference_errors(self, payload: JsonDict) -> Iterator[tuple[str, str]]:
        subjects = self.subject_types()
        expressions = {str(item.get("reference")) for item in payload.get("expressions") or []}
        for path, condition in _conditions(payload, ""):
            subject, operation = condition.get("subject"), condition.get("operation")
            known_expression = (
                isinstance(subject, str)
                and subject.startswith("expressions[")
                and any(subject.startswith(f'expressions["{reference}"]') for reference in expressions)
            )
            if subject not in subjects and not known_expression:
                yield f"{path}.subject", f"unknown subject {subject!r}: it is not an attribute or field of an alert"
            if operation not in OPERATIONS:
                yield f"{path}.operation", f"unknown operation {operation!r}"

    # Managed resources
    def claim(self, resource_type: str, resource_id: str, annotations: dict[str, str]) -> JsonDict:
        managed_by = "dashboard"
        if "incident.io/terraform/version" in annotations:
            managed_by = "terraform"
        if "incident.io/is-managed-externally" in annotations:
            managed_by = "external"
        record = {
            "resource_type": resource_type,
            "resource_id": resource_id,
            "annotations": dict(annotations),
            "managed_by": managed_by,
        }
        with self.lock:
            self.managed_resources[(resource_type, resource_id)] = record
        return copy.deepcopy(record)

    def count(self, method: str, path_prefix: str = "") -> int:
        return sum(1 for m, p in self.requests if m == method and p.startswith(path_prefix))


def _target_errors(payload: JsonDict, channels: list[JsonDict], channels_path: str) -> Iterator[tuple[str, str]]:
    escalation = payload.get("escalation_config") or {}
    for index, target in enumerate(escalation.get("escalation_targets") or []):
        if target.get("escalation_paths") and target.get("users"):
            # A target is an escalation path or users, never both ([B1]).
            yield f"escalation_config.escalation_targets[{index}]", "set escalation_paths or users, not both"
    for index, channel in enumerate(channels):
        for kind in ("slack_targets", "ms_teams_targets"):
            binding = (channel.get(kind) or {}).get("binding") if kind in channel else None
            if kind in channel and not (binding or {}).get("value") and not (binding or {}).get("array_value"):
                yield f"{channels_path}[{index}].{kind}.binding", "a channel target needs a channel"


# What the v3 API refuses beyond the SDK's shapes, as its field descriptions say (SDK
# GroupingSettingsV3, AlertRouteWhenAlertJoinsGroupPayloadV3, AlertRouteIncidentConfigPayloadV3)
# and TF CHANGELOG v5.41.0 ("rejected when enabled = false", "required when enabled").
WINDOW_SECONDS = (60, 172800)
GRACE_PERIOD_SECONDS = (0, 3600)


def _v3_rules(payload: JsonDict, behaviour: ApiBehaviour) -> Iterator[tuple[str, str]]:
    grouping = payload["grouping_config"]["default"]
    here = "grouping_config.default"
    if grouping["enabled"]:
        if "window_type" not in grouping:
            yield f"{here}.window_type", "required when grouping is enabled: rolling or fixed"
        window = grouping.get("window_seconds")
        if window is not None and not WINDOW_SECONDS[0] <= window <= WINDOW_SECONDS[1]:
            yield f"{here}.window_seconds", f"must be between {WINDOW_SECONDS[0]} and {WINDOW_SECONDS[1]}"
    else:
        for key in ("grouping_keys", "window_seconds", "window_type"):
            if key in grouping:
                yield f"{here}.{key}", "only set when grouping is enabled"
    when = payload["escalation_config"].get("when_alert_joins_group")
    if when is not None:
        here = "escalation_config.when_alert_joins_group"
        grace = when.get("grace_period_seconds")
        if not grouping["enabled"] and not behaviour.when_alert_joins_group_on_every_route:
            yield here, "only valid when grouping_config.default.enabled is true"
        elif grace is not None and when["mode"] != "on_each_new_alert":
            yield f"{here}.grace_period_seconds", "only applies when mode is on_each_new_alert; leave it unset"
        elif grace is not None and not GRACE_PERIOD_SECONDS[0] <= grace <= GRACE_PERIOD_SECONDS[1]:
            low, high = GRACE_PERIOD_SECONDS
            yield f"{here}.grace_period_seconds", f"must be between {low} and {high}"
    incident = payload["incident_config"]
    if not incident["enabled"]:
        for key in ("auto_decline_enabled", "template"):
            if key in incident:
                yield f"incident_config.{key}", "only set when incident creation is enabled"
        if incident.get("condition_groups"):
            yield "incident_config.condition_groups", "only set when incident creation is enabled"
    elif "auto_decline_enabled" not in incident:
        yield "incident_config.auto_decline_enabled", "required when incident creation is enabled"


def _conditions(value: Any, path: str) -> Iterator[tuple[str, JsonDict]]:
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else key
            if key == "conditions" and isinstance(item, list):
                for index, condition in enumerate(item):
                    if isinstance(condition, dict):
                        yield f"{here}[{index}]", condition
            else:
                yield from _conditions(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _conditions(item, f"{path}[{index}]")
