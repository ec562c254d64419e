"""incident.io v2 endpoints we use: alert routes and alert sources. HTTP itself is in providers.http."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from providers.alert_route_spec import from_live
from providers.http import ApiClient, IncidentIoError, NotFoundError
from providers.route_compare import same_spec

JsonDict = dict[str, Any]

ROUTES = "/v2/alert_routes"
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


def is_version_conflict(error: IncidentIoError) -> bool:
    """The API refused a write because `version` was not the current version plus one.

    Which status the API uses for this is not documented; 409, or a 400/422 naming the field
    `version`, all mean it.
    """
    return error.status == 409 or (error.status in (400, 422) and error.field == "version")


def _item(path: str, id_: str) -> str:
    if not id_:
        raise ValueError(f"an id is required for {path}/{{id}}")
    return f"{path}/{quote(id_, safe='')}"


class IncidentIoApi:
    def __init__(self, client: ApiClient) -> None:
        self.client = client

    # Alert routes
    def list_routes(self) -> Iterator[JsonDict]:
        """Slim entries (id, name, enabled, and a version that may be stale)."""
        return self.client.paginate(ROUTES, "alert_routes")

    def get_route(self, route_id: str) -> JsonDict:
        body: JsonDict = self.client.get(_item(ROUTES, route_id))["alert_route"]
        return body

    def find_route(self, route_id: str) -> JsonDict | None:
        try:
            return self.get_route(route_id)
        except NotFoundError:
            return None

    def find_route_like(self, spec: JsonDict) -> JsonDict | None:
        """A live route with this spec's name and the same spec, read fresh: after a create whose
        answer was lost, this tells whether the create landed."""
        for entry in self.list_routes():
            if entry.get("name") == spec.get("name"):
                live = self.find_route(str(entry["id"]))
                if live is not None and same_spec(spec, from_live(live)):
                    return live
        return None

    def create_route(self, payload: JsonDict) -> JsonDict:
        body: JsonDict = self.client.request("POST", ROUTES, json=payload)["alert_route"]
        return body

    def update_route(self, route_id: str, payload: JsonDict, version: int) -> JsonDict:
        body: JsonDict = self.client.request("PUT", _item(ROUTES, route_id), json={**payload, "version": version})[
            "alert_route"
        ]
        return body

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
