"""incident.io endpoints we use: alert routes (v2, and v3 in an org that has it) and alert sources.
HTTP itself is in providers.http."""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from providers.alert_route_spec import from_live
from providers.alert_route_v3 import observed, v3_only_settings, with_v3
from providers.http import ApiClient, IncidentIoError, NotFoundError
from providers.route_compare import same_spec

JsonDict = dict[str, Any]

ROUTES = "/v2/alert_routes"
ROUTES_V3 = "/v3/alert_routes"
SOURCES = "/v2/alert_sources"
ATTRIBUTES = "/v2/alert_attributes"
ESCALATION_PATHS = "/v2/escalation_paths"
MANAGED_RESOURCES = "/v2/managed_resources"
IDENTITY = "/v1/identity"
# managed_resources_v2 (SDK docstring): this annotation sets `managed_by` to `external`, which the
# dashboard shows as managed elsewhere.
MANAGED_EXTERNALLY = "incident.io/is-managed-externally"
SOURCE_URL_ANNOTATION = "incident.io/source-url"
# Who manages the route, for a person looking at it in the dashboard: which project, stack and resource
# key to change instead (free-form annotations: the API stores them as given).
OWNER_ANNOTATIONS = {"project": "pulumi/project", "stack": "pulumi/stack", "key": "pulumi/resource"}


def claim_annotations(source_url: str | None, owner: dict[str, str]) -> dict[str, str]:
    """The annotations of a claim: managed externally, where (the repository) and by whom (the owner)."""
    annotations = {MANAGED_EXTERNALLY: "true"}
    if source_url:
        annotations[SOURCE_URL_ANNOTATION] = source_url
    annotations.update({OWNER_ANNOTATIONS[key]: value for key, value in owner.items() if key in OWNER_ANNOTATIONS})
    return annotations


# What /v3/alert_routes answers (403) in an org not yet on incident.io's new alert grouping engine (TF
# incident_alert_route_resource.go, isAPINotYetAvailable; docs/api-behaviour.md, "Org modes").
API_NOT_YET_AVAILABLE = "api_not_yet_available"


class OrgMode(enum.Enum):
    """Whether the org is on incident.io's new alert grouping engine, and so serves v3 alert routes."""

    MIGRATED = "migrated"
    NOT_MIGRATED = "not migrated"


class OrgModeError(IncidentIoError):
    """The API answered the org-mode question with neither yes nor no."""


def is_version_conflict(error: IncidentIoError) -> bool:
    """The API refused a write because `version` was not the current version plus one.

    Which status the API uses for this is not documented; 409, or a 400/422 naming the field
    `version`, all mean it.
    """
    return error.status == 409 or (error.status in (400, 422) and error.field == "version")


@dataclass(frozen=True)
class LiveRoute:
    """A live route as this project reads it: the v2 answer, and in an org on the new alert grouping engine
    (`migrated`) the settings only the v3 API can say (providers/alert_route_v3.py)."""

    answer: JsonDict
    v3_settings: JsonDict
    migrated: bool

    @property
    def id(self) -> str:
        return str(self.answer["id"])

    @property
    def version(self) -> int:
        return int(self.answer["version"])

    @property
    def name(self) -> str:
        return str(self.answer.get("name", ""))

    def route(self, declared: Any = None) -> JsonDict:
        """What the route says, for the one comparison (providers/route_compare.py): its v2 payload and its
        v3-only settings (`alert_route_v3.with_v3`). In a migrated org, what a v2 read cannot tell is taken
        from `declared` (a v2 spec; `alert_route_v3.observed`)."""
        payload = from_live(self.answer)
        if self.migrated:
            payload = observed(payload, declared)
        route: JsonDict = with_v3(payload, self.v3_settings)
        return route


def _item(path: str, id_: str) -> str:
    if not id_:
        raise ValueError(f"an id is required for {path}/{{id}}")
    return f"{path}/{quote(id_, safe='')}"


class IncidentIoApi:
    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self._org_mode: OrgMode | None = None
        self._org_mode_lock = threading.Lock()

    # The org's mode, asked once per client (one per process: the provider host, the program, each command)
    def org_mode(self) -> OrgMode:
        """Migrated when `GET /v3/alert_routes?page_size=1` answers, not migrated when it answers 403
        `api_not_yet_available` (what incident.io's Terraform provider falls back to v2 on); any other
        answer stops the caller, never a guess: a wrong guess in a migrated org would write v2 over
        settings only v3 can say."""
        with self._org_mode_lock:
            if self._org_mode is None:
                self._org_mode = self._ask_org_mode()
            return self._org_mode

    def _ask_org_mode(self) -> OrgMode:
        try:
            self.client.get(ROUTES_V3, params={"page_size": 1})
        except IncidentIoError as error:
            if error.status == 403 and API_NOT_YET_AVAILABLE in error.codes:
                return OrgMode.NOT_MIGRATED
            raise OrgModeError(
                f"could not tell whether this incident.io org is on the new alert grouping engine, which decides "
                f"whether routes are read and written through the v2 or the v3 API ({error}); nothing was changed",
                status=error.status,
                error_type=error.error_type,
                field=error.field,
                codes=error.codes,
            ) from None
        return OrgMode.MIGRATED

    def migrated(self) -> bool:
        return self.org_mode() is OrgMode.MIGRATED

    # Alert routes
    def list_routes(self) -> Iterator[JsonDict]:
        """Slim entries (id, name, enabled, and a version that may be stale)."""
        return self.client.paginate(ROUTES, "alert_routes")

    def _alert_route(self, method: str, path: str, payload: JsonDict | None = None) -> JsonDict:
        """One call on one alert route, through either version: the route the API answers."""
        body: JsonDict = self.client.request(method, path, json=payload)["alert_route"]
        return body

    def _found(self, path: str) -> JsonDict | None:
        try:
            return self._alert_route("GET", path)
        except NotFoundError:
            return None

    def get_route(self, route_id: str) -> JsonDict:
        return self._alert_route("GET", _item(ROUTES, route_id))

    def find_route(self, route_id: str) -> JsonDict | None:
        return self._found(_item(ROUTES, route_id))

    def read_route(self, route_id: str) -> LiveRoute | None:
        """The route as this project compares it: one GET in an org not on the new grouping engine, and a
        second one, through v3, in an org that is (what v2 cannot say is only in the v3 answer). None
        when it does not exist."""
        answer = self.find_route(route_id)
        if answer is None:
            return None
        if not self.migrated():
            return LiveRoute(answer, {}, migrated=False)
        answer_v3 = self.find_route_v3(route_id)
        if answer_v3 is None:
            return None  # deleted between the two reads
        return LiveRoute(answer, v3_only_settings(answer_v3), migrated=True)

    def find_route_like(self, spec: JsonDict, v3_settings: JsonDict | None = None) -> LiveRoute | None:
        """A live route with this spec's name, the same spec and the same v3-only settings, read fresh: after
        a create whose answer was lost, this tells whether the create landed."""
        declared = with_v3(spec, v3_settings)
        for entry in self.list_routes():
            if entry.get("name") == spec.get("name"):
                live = self.read_route(str(entry["id"]))
                if live is not None and same_spec(declared, live.route(spec)):
                    return live
        return None

    def create_route(self, payload: JsonDict) -> JsonDict:
        return self._alert_route("POST", ROUTES, payload)

    def update_route(self, route_id: str, payload: JsonDict, version: int) -> JsonDict:
        return self._alert_route("PUT", _item(ROUTES, route_id), {**payload, "version": version})

    # Alert routes through v3 (an org on the new alert grouping engine only: see org_mode)
    def find_route_v3(self, route_id: str) -> JsonDict | None:
        return self._found(_item(ROUTES_V3, route_id))

    def create_route_v3(self, payload: JsonDict) -> JsonDict:
        return self._alert_route("POST", ROUTES_V3, payload)

    def update_route_v3(self, route_id: str, payload: JsonDict, version: int) -> JsonDict:
        """v2 and v3 writes share one version: `version` is the current one plus one, whichever wrote last."""
        return self._alert_route("PUT", _item(ROUTES_V3, route_id), {**payload, "version": version})

    def delete_route(self, route_id: str) -> bool:
        """Delete a route; False when it was already gone."""
        try:
            self.client.request("DELETE", _item(ROUTES, route_id))
        except NotFoundError:
            return False
        return True

    def claim_route(self, route_id: str, annotations: dict[str, str]) -> JsonDict:
        """Record the route as managed outside the dashboard (POST /v2/managed_resources), with
        `claim_annotations`."""
        payload = {"resource_type": "alert_route", "resource_id": route_id, "annotations": annotations}
        body: JsonDict = self.client.request("POST", MANAGED_RESOURCES, json=payload)["managed_resource"]
        return body

    # Alert sources
    def list_sources(self) -> Iterator[JsonDict]:
        # Unlike routes, the sources list is not paginated: one answer holds them all.
        for source in self.client.get(SOURCES).get("alert_sources") or []:
            self.client.redact.add(source.get("secret_token"))
            yield source

    def get_source(self, source_id: str) -> JsonDict:
        source: JsonDict = self.client.get(_item(SOURCES, source_id))["alert_source"]
        self.client.redact.add(source.get("secret_token"))
        return source

    # What names resolve against
    def list_alert_attributes(self) -> list[JsonDict]:
        # Not paginated: one answer holds them all (alert_attributes_v2 list in the SDK).
        attributes: list[JsonDict] = self.client.get(ATTRIBUTES).get("alert_attributes") or []
        return attributes

    def list_escalation_paths(self) -> Iterator[JsonDict]:
        return self.client.paginate(ESCALATION_PATHS, "escalation_paths", page_size=25)

    def identity(self) -> JsonDict:
        body: JsonDict = self.client.get(IDENTITY)["identity"]
        return body
