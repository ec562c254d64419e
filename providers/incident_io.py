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

from providers.alert_route_spec import from_live, normalize, validation_errors
from providers.api import IncidentIoApi, JsonDict, is_version_conflict
from providers.http import (
    CONFIG_API_KEY,
    CONFIG_API_URL,
    ApiClient,
    Credentials,
    IncidentIoError,
    NotFoundError,
    ResponseLostError,
)
from providers.route_compare import changed_fields, fingerprint, fingerprint_changes, reconcile, same_spec

CONFIG_CLAIM_ROUTES = "incidentio:claimRoutes"
CONFIG_SOURCE_URL = "incidentio:sourceUrl"
INPUT_KEYS = frozenset({"spec", "adopt_id"})
OUTPUT_KEYS = ("version", "fingerprint", "claimed", "claim_error", "answer_differs")


class AlertRouteError(Exception):
    """A route operation that cannot go on; the message says why and what to do."""


class ConcurrentEditError(AlertRouteError):
    pass


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("false", "0", "no", "off")


def _has_unknowns(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_unknowns(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_unknowns(item) for item in value)
    return bool(value == rpc.UNKNOWN)


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
        self._configured: dict[str, Any] = {}
        self._api: IncidentIoApi | None = None
        self._routes_by_name: dict[str, list[str]] | None = None
        # Routes that resources the program still declares manage: made or taken over by a create of
        # this run, or adopted earlier (the `adopt_id` a declared resource's check sees; the engine
        # checks every declared resource before it deletes the ones the program dropped). A dropped
        # resource whose route is among them lost it to another resource (a changed `key:`, possibly
        # in an earlier run that failed before its delete): deleting it would leave nothing routing
        # those alerts. Not filled by diff: a refresh diffs dropped resources too.
        self._declared_ids: set[str] = set()
        self._lock = threading.Lock()
        self._index_lock = threading.Lock()

    def __reduce__(self) -> tuple[type, tuple[()]]:
        # Pickle by reference with no instance state: nothing configured (credentials, sessions)
        # can reach the state file, and the blob stays a few dozen bytes.
        return (AlertRouteProvider, ())

    # Configuration
    def configure(self, req: ConfigureRequest) -> None:
        self._configured = {
            "api_key": req.config.get(CONFIG_API_KEY),
            "api_url": req.config.get(CONFIG_API_URL),
            "claim_routes": req.config.get(CONFIG_CLAIM_ROUTES),
            "source_url": req.config.get(CONFIG_SOURCE_URL),
        }
        self._api = None

    @property
    def api(self) -> IncidentIoApi:
        with self._lock:
            if self._api is None:
                credentials = Credentials.resolve(self._configured.get("api_key"), self._configured.get("api_url"))
                self._api = IncidentIoApi(ApiClient(credentials))
            return self._api

    @property
    def claims_routes(self) -> bool:
        return _flag(self._configured.get("claim_routes"), default=True)

    # Lifecycle
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        for key in sorted(set(news) - INPUT_KEYS - {"__provider"}):
            failures.append(CheckFailure(key, f"unknown input {key!r}; an AlertRoute takes 'spec' and 'adopt_id'"))
        adopt_id = news.get("adopt_id")
        if adopt_id is not None and adopt_id != rpc.UNKNOWN and not (isinstance(adopt_id, str) and adopt_id):
            failures.append(CheckFailure("adopt_id", "must be the id of a live route (a string) or absent"))
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
        checked = {"spec": normalize(spec)}
        adopted = olds.get("adopt_id")
        if "spec" in olds and adopted and adopt_id in (None, adopted):
            with self._lock:
                self._declared_ids.add(str(adopted))
        if "spec" not in olds and adopt_id != rpc.UNKNOWN and not _has_unknowns(checked["spec"]):
            # A route this stack does not manage yet: say at preview which live route `up` will take
            # over, or why it cannot, rather than find out halfway through `up`.
            try:
                adopt_id = self._adoption(checked["spec"], adopt_id)
            except AlertRouteError as error:
                return CheckResult(news, [CheckFailure("adopt_id" if adopt_id else "spec", str(error))])
            except IncidentIoError as error:
                reason = f"could not look for an existing route named {checked['spec']['name']!r}: {error}"
                return CheckResult(news, [CheckFailure("spec", reason)])
        if adopt_id is not None:
            checked["adopt_id"] = adopt_id
        return CheckResult(checked, [])

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = "spec" not in olds or not same_spec(news.get("spec"), olds["spec"])
        adopt_id = news.get("adopt_id")
        if adopt_id and adopt_id != rpc.UNKNOWN and adopt_id != id_:
            # The stack now says this route is another live route: take that one over and delete the
            # one managed so far, which the preview shows as a replacement. Checked here, so that a
            # route that says something else stops the preview rather than `up` halfway.
            spec = news.get("spec")
            if isinstance(spec, dict) and not _has_unknowns(spec):
                self._adopt_by_id(str(adopt_id), normalize(spec))
            return DiffResult(changes=True, replaces=["adopt_id"], delete_before_replace=False)
        # An `adopt_id` equal to the managed route's id, or none, is not a change.
        return DiffResult(changes=changes or self._claim_pending(olds), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        spec: JsonDict = normalize(props["spec"])
        adopt_id = props.get("adopt_id")
        live = self._adopt_by_id(adopt_id, spec) if adopt_id else self._adopt_identical(spec)
        written = None
        if live is None:
            written = spec
            try:
                live = self.api.create_route(spec)
            except ResponseLostError as lost:
                live = self._recover_lost_create(spec, lost)
        with self._lock:
            self._declared_ids.add(str(live["id"]))
            if self._routes_by_name is not None and live["id"] not in self._routes_by_name.get(spec["name"], []):
                self._routes_by_name.setdefault(spec["name"], []).append(live["id"])
        return CreateResult(live["id"], self._outputs(live, spec, props, claim=True, written=written))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        live = self.api.find_route(id_)
        if live is None:
            # Deleted outside Pulumi: an empty id tells the engine the resource is gone.
            return ReadResult("", {})
        # A refresh: the live route in the form the state had, so that only what changed in
        # incident.io shows as a change. Claims are never made here (refresh and preview read too).
        outs = self._outputs(live, props.get("spec"), props, claim=False)
        inputs = {"spec": outs["spec"], **({"adopt_id": props["adopt_id"]} if props.get("adopt_id") else {})}
        return ReadResult(live["id"], outs, inputs)

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
            return UpdateResult(self._outputs(live, spec, news, claim=True))
        self._refuse_unseen_edit(id_, name, olds, live)
        try:
            updated = self.api.update_route(id_, spec, int(live["version"]) + 1)
        except IncidentIoError as error:
            if not is_version_conflict(error):
                raise
            current = self.api.get_route(id_)
            if same_spec(spec, from_live(current)):
                # Our own earlier attempt went through; its answer was lost.
                return UpdateResult(self._outputs(current, spec, news, claim=True))
            changed = changed_fields(from_live(live), from_live(current))
            raise ConcurrentEditError(
                f"alert route {name!r} ({id_}) was edited by someone else while Pulumi was updating it "
                f"(version {live['version']} became {current.get('version')}; changed fields: "
                f"{', '.join(changed) or 'none visible'}). "
                "Nothing was overwritten. Run `pulumi refresh` to see their change, then `pulumi up`."
            ) from None
        return UpdateResult(self._outputs(updated, spec, news, claim=True, written=spec))

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        with self._lock:
            if id_ in self._declared_ids:
                # Another resource of this run manages the route (its key changed without
                # `previousKeys`): drop this resource from the state and leave the route alone.
                return
        self.api.delete_route(id_)

    # Helpers
    def _claim_pending(self, olds: dict[str, Any]) -> bool:
        return self.claims_routes and "spec" in olds and olds.get("claimed") is not True

    def _outputs(
        self, live: JsonDict, declared: Any, props: dict[str, Any], *, claim: bool, written: JsonDict | None = None
    ) -> dict[str, Any]:
        """The resource's outputs for this reading of the live route. `written`: the payload just sent,
        when `live` is the API's answer to it."""
        payload = from_live(live)
        outs: dict[str, Any] = {
            "spec": payload if declared is None else reconcile(payload, normalize(declared)),
            "version": int(live["version"]),
            "fingerprint": fingerprint(payload),
            "claimed": bool(props.get("claimed")),
            "claim_error": str(props.get("claim_error") or ""),
            "answer_differs": str(props.get("answer_differs") or ""),
        }
        if written is not None:
            outs["answer_differs"] = self._answer_differs(str(live["id"]), written, payload)
        if props.get("adopt_id"):
            outs["adopt_id"] = props["adopt_id"]
        if claim and self.claims_routes:
            outs["claimed"], outs["claim_error"] = self._claim(str(live["id"]), str(payload.get("name", "")))
        return outs

    @staticmethod
    def _answer_differs(route_id: str, written: JsonDict, answer: JsonDict) -> str:
        """Why the API's answer to a write means something else than what was written: a default or
        echo not in docs/api-behaviour.md, which would show as a change on every preview. "" if none."""
        fields = changed_fields(written, answer)
        if not fields:
            return ""
        return (
            f"incident.io answered the write of alert route {written.get('name')!r} ({route_id}) with "
            f"{', '.join(fields)} not as sent, so every preview will show them changing. If incident.io fills "
            "these in by itself, they belong in API_DEFAULTS (providers/route_compare.py, docs/api-behaviour.md)."
        )

    def _claim(self, route_id: str, name: str) -> tuple[bool, str]:
        """Mark the route as managed outside the dashboard. A failure is reported, never fatal."""
        try:
            self.api.claim_route(route_id, self._configured.get("source_url") or None)
        except IncidentIoError as error:
            return False, (
                f"alert route {name!r} ({route_id}) was written but could not be marked as managed by this "
                f"repository in incident.io ({error}); the next `pulumi up` tries again. "
                "Set `incidentio:claimRoutes: false` to stop claiming routes."
            )
        return True, ""

    def _refuse_unseen_edit(self, id_: str, name: str, olds: dict[str, Any], live: JsonDict) -> None:
        """Stop rather than overwrite a change made in incident.io since Pulumi last looked.

        The version says whether anyone wrote the route; the fingerprint whether they changed it
        (a save that changed nothing moves the version too).
        """
        known_version = olds.get("version")
        if known_version is None or int(known_version) == int(live["version"]):
            return
        known = olds.get("fingerprint")
        if isinstance(known, dict) and known:
            changed = fingerprint_changes(known, fingerprint(from_live(live)))
        elif "spec" in olds:
            changed = changed_fields(olds["spec"], from_live(live))
        else:
            return
        if not changed:
            return
        raise ConcurrentEditError(
            f"alert route {name!r} ({id_}) was changed in incident.io since Pulumi last read it "
            f"(version {int(known_version)} in state, {live['version']} live; changed fields: "
            f"{', '.join(changed)}). Nothing was overwritten. "
            "Run `pulumi refresh` (or `pulumi up --refresh`) to review the change, then `pulumi up`."
        )

    def _route_ids_named(self, name: str) -> list[str]:
        # Under the lock: the host answers 4 calls at once, and the list is read once per run.
        with self._index_lock:
            if self._routes_by_name is None:
                index: dict[str, list[str]] = {}
                for route in self.api.list_routes():
                    index.setdefault(route.get("name", ""), []).append(route["id"])
                with self._lock:
                    self._routes_by_name = index
        with self._lock:
            assert self._routes_by_name is not None
            return list(self._routes_by_name.get(name, []))

    def _adoption(self, spec: JsonDict, adopt_id: str | None) -> str | None:
        """The id of the live route a create of this spec will take over, or None when it will create one."""
        live = self._adopt_by_id(adopt_id, spec) if adopt_id else self._adopt_identical(spec)
        return None if live is None else str(live["id"])

    def _adopt_by_id(self, route_id: str, spec: JsonDict) -> JsonDict:
        """The live route the stack config names with `id:`, when it already is what the config says."""
        live = self.api.find_route(route_id)
        if live is None:
            raise AlertRouteError(
                f"alert route {spec['name']!r}: the stack config adopts id {route_id}, but incident.io has no route "
                "with that id. Remove `id:` to create the route, or export the live routes again "
                "(contrib/export-incident-io.sh) to get their ids."
            )
        fields = changed_fields(spec, from_live(live))
        if fields:
            raise AlertRouteError(
                f"alert route {spec['name']!r}: adopting {route_id} would change it (differs in {', '.join(fields)}). "
                "Adoption only takes over a route as it is: make the stack config say what the live route says "
                "(contrib/export-incident-io.sh prints it), run `pulumi up`, then change it."
            )
        return live

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
                "Creating another would page twice. If this stack already manages it under another resource key "
                "(its `key:` or name changed), list the old key in `previousKeys:`; to take over a route made "
                "elsewhere, make the declaration say what it says and set `id:`; or give this route another name."
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


class AlertRoute(Resource, module="incidentio", name="AlertRoute"):
    """An incident.io alert route. Inputs: `spec` (the v2 create payload) and `adopt_id` (a live
    route to take over on create). Outputs: `spec`, `version`, `fingerprint`, `claimed`, `claim_error`,
    `answer_differs` (a message when the API answered a write with something else than was sent)."""

    spec: pulumi.Output[dict[str, Any]]
    version: pulumi.Output[int]
    fingerprint: pulumi.Output[dict[str, str]]
    claimed: pulumi.Output[bool]
    claim_error: pulumi.Output[str]
    answer_differs: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        spec: pulumi.Input[dict[str, Any]],
        opts: pulumi.ResourceOptions | None = None,
        *,
        adopt_id: str | None = None,
    ) -> None:
        props: dict[str, Any] = {"spec": spec, **dict.fromkeys(OUTPUT_KEYS)}
        if adopt_id:
            props["adopt_id"] = adopt_id
        super().__init__(AlertRouteProvider(), name, props, opts)
