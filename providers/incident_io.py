"""The incident.io alert route as a Pulumi dynamic resource.

This module's path (`providers.incident_io`) and the class name `AlertRouteProvider` are recorded
in the state of every stack that uses them: the engine re-imports them by name to refresh and
delete old resources. Do not move or rename them.
"""

from __future__ import annotations

import threading
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime import rpc

from providers.alert_route_spec import changed_fields, from_live, normalize, same_spec, validation_errors
from providers.api import IncidentIoApi, JsonDict, is_version_conflict
from providers.http import (
    ApiClient,
    Credentials,
    IncidentIoError,
    NotFoundError,
    ResponseLostError,
)

CONFIG_API_KEY = "incidentio:apiKey"
CONFIG_API_URL = "incidentio:apiUrl"
INPUT_KEYS = frozenset({"spec"})


class AlertRouteError(Exception):
    """A route operation that cannot go on; the message says why and what to do."""


class ConcurrentEditError(AlertRouteError):
    pass


class AlertRouteProvider(ResourceProvider):
    """CRUD for incident.io alert routes (API v2).

    Credentials come from `configure()` (stack config `incidentio:apiKey`, `incidentio:apiUrl`) or,
    failing that, from INCIDENT_IO_TOKEN / INCIDENT_IO_API_URL. They are never serialized.
    """

    # The serialized provider is a module reference and captures no secret, so marking it secret
    # would only cost encryption time per resource (pulumi/pulumi#15538).
    serialize_as_secret_always = False

    def __init__(self) -> None:
        super().__init__()
        self._configured: dict[str, str | None] = {}
        self._api: IncidentIoApi | None = None
        self._routes_by_name: dict[str, list[str]] | None = None
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[type, tuple[()]]:
        # Pickle by reference with no instance state: nothing configured (credentials, sessions)
        # can reach the state file, and the blob stays a few dozen bytes.
        return (AlertRouteProvider, ())

    # Configuration
    def configure(self, req: ConfigureRequest) -> None:
        self._configured = {
            "api_key": req.config.get(CONFIG_API_KEY),
            "api_url": req.config.get(CONFIG_API_URL),
        }
        self._api = None

    @property
    def api(self) -> IncidentIoApi:
        with self._lock:
            if self._api is None:
                credentials = Credentials.resolve(self._configured.get("api_key"), self._configured.get("api_url"))
                self._api = IncidentIoApi(ApiClient(credentials))
            return self._api

    # Lifecycle
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        for key in sorted(set(news) - INPUT_KEYS - {"__provider"}):
            failures.append(CheckFailure(key, f"unknown input {key!r}; an AlertRoute takes only 'spec'"))
        if "spec" not in news:
            failures.append(CheckFailure("spec", "missing: the alert route spec (v2 create payload) is required"))
            return CheckResult(news, failures)
        spec = news["spec"]
        # rpc.UNKNOWN stands for values not known until apply (only in preview).
        if spec == rpc.UNKNOWN:
            return CheckResult(news, failures)
        for path, reason in validation_errors(spec, skip_value=rpc.UNKNOWN):
            failures.append(CheckFailure(path, reason))
        if failures:
            return CheckResult(news, failures)
        return CheckResult({"spec": normalize(spec)}, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = "spec" not in olds or not same_spec(news.get("spec"), olds["spec"])
        return DiffResult(changes=changes, replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        spec: JsonDict = normalize(props["spec"])
        adopted = self._adopt_identical(spec)
        if adopted is not None:
            return CreateResult(adopted["id"], _outputs(adopted))
        try:
            live = self.api.create_route(spec)
        except ResponseLostError as lost:
            live = self._recover_lost_create(spec, lost)
        with self._lock:
            if self._routes_by_name is not None:
                self._routes_by_name.setdefault(spec["name"], []).append(live["id"])
        return CreateResult(live["id"], _outputs(live))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        live = self.api.find_route(id_)
        if live is None:
            # Deleted outside Pulumi: an empty id tells the engine the resource is gone.
            return ReadResult("", {})
        return ReadResult(live["id"], _outputs(live), {"spec": from_live(live)})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        spec: JsonDict = normalize(news["spec"])
        name = spec.get("name", id_)
        try:
            live = self.api.get_route(id_)
        except NotFoundError:
            raise AlertRouteError(
                f"alert route {name!r} ({id_}) no longer exists in incident.io; it was deleted outside "
                "Pulumi. Run `pulumi refresh` to drop it from the state, then `pulumi up` to create it again."
            ) from None
        if same_spec(spec, from_live(live)):
            return UpdateResult(_outputs(live))
        self._refuse_unseen_edit(id_, name, olds, live)
        try:
            updated = self.api.update_route(id_, spec, int(live["version"]) + 1)
        except IncidentIoError as error:
            if not is_version_conflict(error):
                raise
            current = self.api.get_route(id_)
            if same_spec(spec, from_live(current)):
                # Our own earlier attempt went through; its answer was lost.
                return UpdateResult(_outputs(current))
            raise ConcurrentEditError(
                f"alert route {name!r} ({id_}) was edited by someone else while Pulumi was updating it "
                f"(version {live['version']} became {current.get('version')}; changed fields: "
                f"{', '.join(changed_fields(from_live(live), from_live(current))) or 'none visible'}). "
                "Nothing was overwritten. Run `pulumi refresh` to see their change, then `pulumi up`."
            ) from None
        return UpdateResult(_outputs(updated))

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        self.api.delete_route(id_)

    # Helpers
    def _refuse_unseen_edit(self, id_: str, name: str, olds: dict[str, Any], live: JsonDict) -> None:
        """Stop rather than overwrite a change made in incident.io since Pulumi last looked."""
        known_version = olds.get("version")
        if known_version is None or "spec" not in olds:
            return
        if int(known_version) == int(live["version"]) or same_spec(olds["spec"], from_live(live)):
            return
        raise ConcurrentEditError(
            f"alert route {name!r} ({id_}) was changed in incident.io since Pulumi last read it "
            f"(version {int(known_version)} in state, {live['version']} live; changed fields: "
            f"{', '.join(changed_fields(olds['spec'], from_live(live)))}). Nothing was overwritten. "
            "Run `pulumi refresh` (or `pulumi up --refresh`) to review the change, then `pulumi up`."
        )

    def _route_ids_named(self, name: str) -> list[str]:
        if self._routes_by_name is None:
            index: dict[str, list[str]] = {}
            for route in self.api.list_routes():
                index.setdefault(route.get("name", ""), []).append(route["id"])
            with self._lock:
                self._routes_by_name = index
        with self._lock:
            assert self._routes_by_name is not None
            return list(self._routes_by_name.get(name, []))

    def _adopt_identical(self, spec: JsonDict) -> JsonDict | None:
        """An existing route with this name: adopt it when identical, refuse to duplicate it otherwise."""
        different: list[tuple[str, list[str]]] = []
        for route_id in self._route_ids_named(spec["name"]):
            live = self.api.find_route(route_id)
            if live is None:
                continue
            if same_spec(spec, from_live(live)):
                return live
            different.append((route_id, changed_fields(spec, from_live(live))))
        if different:
            described = "; ".join(f"{route_id} (differs in {', '.join(fields)})" for route_id, fields in different)
            raise AlertRouteError(
                f"an alert route named {spec['name']!r} already exists in incident.io: {described}. "
                "Creating another would page twice. To manage the existing route, set its id in the stack "
                "config (`id:`, adopted with import on the next `up`); or give this route another name."
            )
        return None

    def _recover_lost_create(self, spec: JsonDict, lost: ResponseLostError) -> JsonDict:
        """The POST may have created the route although no answer came back: find it, or create once more."""
        landed = self.api.find_route_like(spec)
        if landed is not None:
            return landed
        try:
            return self.api.create_route(spec)
        except ResponseLostError as again:
            raise AlertRouteError(
                f"creating alert route {spec['name']!r}: no answer from incident.io twice ({lost}; then {again}). "
                "No route with this name and spec exists; run `pulumi up` again."
            ) from None


def _outputs(live: JsonDict) -> dict[str, Any]:
    return {"spec": from_live(live), "version": int(live["version"])}


class AlertRoute(Resource, module="incidentio", name="AlertRoute"):
    """An incident.io alert route. `spec` is the v2 create payload; outputs: `spec`, `version`."""

    spec: pulumi.Output[dict[str, Any]]
    version: pulumi.Output[int]

    def __init__(self, name: str, spec: pulumi.Input[dict[str, Any]], opts: pulumi.ResourceOptions | None = None):
        super().__init__(AlertRouteProvider(), name, {"spec": spec, "version": None}, opts)
