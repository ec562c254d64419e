"""The incident.io alert route as a Pulumi dynamic resource.

This module's path (`providers.incident_io`) and the class name `AlertRouteProvider` are recorded
in the state of every stack that uses them: the engine re-imports them by name to refresh and
delete old resources. Do not move or rename them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

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
from providers.alert_route_v3 import (
    V3_KEY,
    meaningful,
    settings_errors,
    settings_said,
    unsayable_in_v3,
    v3_only_settings,
    v3_payload,
    with_v3,
    without_v3,
)
from providers.api import IncidentIoApi, JsonDict, LiveRoute, claim_annotations, is_version_conflict
from providers.http import (
    CONFIG_API_KEY,
    CONFIG_API_URL,
    ApiClient,
    Credentials,
    IncidentIoError,
    ResponseLostError,
)
from providers.ownership import DECLARED_ELSEWHERE, Declaration
from providers.route_compare import changed_fields, fingerprint, fingerprint_changes, reconcile, same_spec

CONFIG_CLAIM_ROUTES = "incidentio:claimRoutes"
CONFIG_SOURCE_URL = "incidentio:sourceUrl"
INPUT_KEYS = frozenset({"spec", V3_KEY, "adopt_id", "owner"})
# Who declares the route (the program's project, stack and resource key), recorded with each claim.
OWNER_KEYS = ("project", "stack", "key")
OUTPUT_KEYS = ("version", "fingerprint", "claimed", "claimed_for", "claim_error", "answer_differs")
# Where a stack file says the v3-only settings (components/settings.py), for messages.
V3_OPTIONS = "grouping.windowType, slackGroupAlertsSummary"
# Frames of an unexpected error's traceback kept in its message (the host prints no traceback of its own).
_BUG_TRACEBACK_FRAMES = 30


class AlertRouteError(Exception):
    """A route operation that cannot go on; the message says why and what to do."""


class ConcurrentEditError(AlertRouteError):
    pass


class ProviderBugError(Exception):
    """An error nobody raised on purpose: its message carries the traceback, for a bug report."""


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _no_traceback_on_purpose(method: _Method) -> _Method:
    """Errors raised on purpose (a refusal, an API failure) say all there is to say; anything else is a
    bug, and keeps its traceback inside its message.

    The dynamic provider host reports an error with `traceback.format_exc()`, which honours
    `sys.tracebacklimit`: the host runs with it at 0 (`configure`), so the CLI shows the message alone."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (AlertRouteError, IncidentIoError):
            raise
        except Exception as bug:
            frames = "".join(traceback.format_exception(bug, limit=_BUG_TRACEBACK_FRAMES))
            raise ProviderBugError(f"unexpected error in the alert route provider (a bug):\n{frames}") from None

    return wrapper  # type: ignore[return-value]  # same signature as `method`


@contextlib.contextmanager
def _doing(what: str) -> Iterator[None]:
    """An API failure said as what it stopped: `reading alert route 'X' (01K...): GET ... failed: ...`."""
    try:
        yield
    except IncidentIoError as error:
        raise AlertRouteError(f"{what}: {error}") from None


def _running_in_the_dynamic_provider_host() -> bool:
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", None) == "pulumi.dynamic.__main__"


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
    """CRUD for incident.io alert routes: through the v2 API, and in an org on incident.io's new alert
    grouping engine through v3 for a route that says (or has) what v2 cannot (docs/api-behaviour.md,
    "Which version this project uses").

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
        if _running_in_the_dynamic_provider_host():
            # See _no_traceback_on_purpose: our errors reach the CLI as their message alone.
            sys.tracebacklimit = 0
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
    @_no_traceback_on_purpose
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        for key in sorted(set(news) - INPUT_KEYS - {"__provider"}):
            failures.append(
                CheckFailure(key, f"unknown input {key!r}; an AlertRoute takes {', '.join(sorted(INPUT_KEYS))}")
            )
        adopt_id = news.get("adopt_id")
        if adopt_id is not None and adopt_id != rpc.UNKNOWN and not (isinstance(adopt_id, str) and adopt_id):
            failures.append(CheckFailure("adopt_id", "must be the id of a live route (a string) or absent"))
        owner = news.get("owner")
        if owner is not None and owner != rpc.UNKNOWN and not _is_owner(owner):
            failures.append(CheckFailure("owner", f"must be an object of strings {', '.join(OWNER_KEYS)} or absent"))
        if "spec" not in news:
            failures.append(CheckFailure("spec", "missing: the alert route spec (v2 create payload) is required"))
            return CheckResult(news, failures)
        spec = news["spec"]
        # rpc.UNKNOWN stands for values not known until apply (only in preview).
        if spec == rpc.UNKNOWN:
            return CheckResult(news, failures)
        # A spec equal to the one this route's state holds was validated when it was accepted; equal dicts
        # are the same route, and the test is cheap beside the schema check (docs/benchmark.md).
        unchanged = "spec" in olds and spec == olds["spec"]
        for path, reason in [] if unchanged else validation_errors(spec, skip_value=rpc.UNKNOWN):
            failures.append(CheckFailure(path, reason))
        settings = news.get(V3_KEY)
        if settings is not None and settings != rpc.UNKNOWN:
            settings = normalize(settings)
            failures += [
                CheckFailure(path, reason) for path, reason in settings_errors(settings, spec, skip_value=rpc.UNKNOWN)
            ]
        if failures:
            return CheckResult(news, failures)
        checked: dict[str, Any] = {"spec": normalize(spec)}
        if settings is not None:
            checked[V3_KEY] = settings
            if settings != rpc.UNKNOWN and not _has_unknowns(settings) and meaningful(settings):
                failures = self._v3_failures(checked["spec"], settings)
                if failures:
                    return CheckResult(news, failures)
        if owner is not None:
            checked["owner"] = owner
        managed = "spec" in olds
        taken_over = olds.get("adopt_id") if managed else None
        if taken_over and adopt_id is None:
            # The live route this resource took over stays recorded in its inputs, run after run, although
            # the stack file names it by name only: it is how every later run knows that this resource,
            # and not the one it took the route from, manages it (see `delete`).
            adopt_id = taken_over
        if taken_over and adopt_id == taken_over:
            with self._lock:
                self._declared_ids.add(str(taken_over))
        if adopt_id != rpc.UNKNOWN and not _has_unknowns(checked["spec"]) and not _has_unknowns(settings):
            try:
                if not managed:
                    # A route this stack does not manage yet: say at preview which live route `up` will take
                    # over, or why it cannot, rather than find out halfway through `up`.
                    adopt_id = self._adoption(checked["spec"], _settings(checked), adopt_id)
                elif news.get("adopt_id") is None:
                    self._refuse_a_name_two_routes_carry(checked["spec"]["name"])
            except AlertRouteError as error:
                # Not "spec": the engine prints the failing property's value beside the message.
                return CheckResult(news, [CheckFailure("adopt_id" if adopt_id else "", str(error))])
            except IncidentIoError as error:
                reason = f"could not look for an existing route named {checked['spec']['name']!r}: {error}"
                return CheckResult(news, [CheckFailure("", reason)])
        if adopt_id is not None:
            checked["adopt_id"] = adopt_id
        return CheckResult(checked, [])

    @_no_traceback_on_purpose
    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        with _doing(f"comparing alert route {_described(news.get('spec'), id_, olds.get('spec'))}"):
            return self._diff(id_, olds, news)

    def _diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = "spec" not in olds or not same_spec(_declared(news), _declared(olds))
        adopt_id = news.get("adopt_id")
        if adopt_id and adopt_id != rpc.UNKNOWN and adopt_id != id_:
            # The stack now says this route is another live route: take that one over and delete the
            # one managed so far, which the preview shows as a replacement. Checked here, so that a
            # route that says something else stops the preview rather than `up` halfway.
            spec = news.get("spec")
            if isinstance(spec, dict) and not _has_unknowns(spec) and not _has_unknowns(news.get(V3_KEY)):
                self._adopt_by_id(str(adopt_id), normalize(spec), _settings(news))
            return DiffResult(changes=True, replaces=["adopt_id"], delete_before_replace=False)
        # An `adopt_id` equal to the managed route's id, or none, is not a change.
        return DiffResult(changes=changes or self._claim_pending(olds, news), replaces=[], delete_before_replace=False)

    @_no_traceback_on_purpose
    def create(self, props: dict[str, Any]) -> CreateResult:
        with _doing(f"creating alert route {_described(props.get('spec'), '')}"):
            return self._create(props)

    def _create(self, props: dict[str, Any]) -> CreateResult:
        spec: JsonDict = normalize(props["spec"])
        settings = _settings(props)
        adopt_id = props.get("adopt_id")
        live = self._adopted(spec, settings, adopt_id)
        written = None
        if live is None:
            written = with_v3(spec, settings)
            try:
                live = self._create_v3(spec, settings) if settings else self._create_v2(spec)
            except ResponseLostError as lost:
                live = self._recover_lost_create(spec, settings, lost)
        with self._lock:
            self._declared_ids.add(live.id)
            if self._routes_by_name is not None and live.id not in self._routes_by_name.get(spec["name"], []):
                self._routes_by_name.setdefault(spec["name"], []).append(live.id)
        return CreateResult(live.id, self._outputs(live, spec, props, claim=True, written=written))

    def _create_v2(self, spec: JsonDict) -> LiveRoute:
        answer = self.api.create_route(spec)
        # Written through v2, the route has v3's defaults for what v2 cannot say (a rolling window, no
        # summaries), and its v2 answer says the rest: nothing more to read or to take from the
        # declaration (`migrated=False`), in either org mode.
        return LiveRoute(answer, {}, migrated=False)

    def _create_v3(self, spec: JsonDict, settings: JsonDict) -> LiveRoute:
        """One v3 create of the whole route; then its v2 reading, which is what the state holds as `spec`."""
        self._require_v3(spec, settings)
        created = self.api.create_route_v3(v3_payload(spec, settings))
        return self._read_after_v3_write(str(created["id"]), created)

    @_no_traceback_on_purpose
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with _doing(f"reading alert route {_described(props.get('spec'), id_)}"):
            return self._read(id_, props)

    def _read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        live = self.api.read_route(id_)
        if live is None:
            # Deleted outside Pulumi: an empty id tells the engine the resource is gone.
            return ReadResult("", {})
        # A refresh: the live route in the form the state had, so that only what changed in
        # incident.io shows as a change. Claims are never made here (refresh and preview read too).
        outs = self._outputs(live, props.get("spec"), props, claim=False)
        inputs = {key: outs[key] for key in ("spec", V3_KEY) if key in outs}
        inputs.update({key: props[key] for key in ("adopt_id", "owner") if props.get(key)})
        return ReadResult(live.id, outs, inputs)

    @_no_traceback_on_purpose
    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        with _doing(f"updating alert route {_described(news.get('spec'), id_, olds.get('spec'))}"):
            return self._update(id_, olds, news)

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        spec: JsonDict = normalize(news["spec"])
        settings = _settings(news)
        declared = with_v3(spec, settings)
        live = self.api.read_route(id_)
        if live is None:
            raise AlertRouteError(
                f"alert route {_described(spec, id_, olds.get('spec'))} no longer exists in incident.io; it was "
                "deleted outside Pulumi. Run `pulumi refresh` to drop it from the state, then `pulumi up` to create "
                "it again."
            )
        if same_spec(declared, live.route(spec)):
            return UpdateResult(self._outputs(live, spec, news, claim=True))
        described = _described(spec, id_, from_live(live.answer))
        self._refuse_unseen_edit(id_, described, olds, live)
        self._refuse_unseen_v3_settings(described, olds, settings, live)
        # Through v3 when the route says, or has, what v2 cannot: one write, which says all of it. Through
        # v2 otherwise, as a route that says nothing more was always written (and keeps what v2 has alone).
        through_v3 = bool(settings or live.v3_settings)
        try:
            if through_v3:
                self._require_v3(spec, settings, live)
                answer = self.api.update_route_v3(id_, v3_payload(spec, settings), live.version + 1)
                updated = self._read_after_v3_write(id_, answer)
            else:
                updated = LiveRoute(self.api.update_route(id_, spec, live.version + 1), {}, live.migrated)
        except IncidentIoError as error:
            if not is_version_conflict(error):
                raise
            current = self.api.read_route(id_)
            if current is not None and same_spec(declared, current.route(spec)):
                # Our own earlier attempt went through; its answer was lost.
                return UpdateResult(self._outputs(current, spec, news, claim=True))
            changed = changed_fields(live.route(spec), current.route(spec)) if current is not None else ["(deleted)"]
            raise ConcurrentEditError(
                f"alert route {described} was edited by someone else while Pulumi was updating it "
                f"(version {live.version} became {current.version if current else 'deleted'}; changed fields: "
                f"{', '.join(changed) or 'none visible'}). "
                "Nothing was overwritten. Run `pulumi refresh` to see their change, then `pulumi up`."
            ) from None
        return UpdateResult(self._outputs(updated, spec, news, claim=True, written=declared))

    def _read_after_v3_write(self, route_id: str, answer_v3: JsonDict) -> LiveRoute:
        """The route after a v3 write: its v2 reading (one GET: the state's `spec` is in v2 terms) and the
        v3-only settings of the write's answer."""
        return LiveRoute(self.api.get_route(route_id), v3_only_settings(answer_v3), migrated=True)

    def _require_v3(self, spec: JsonDict, settings: JsonDict, live: LiveRoute | None = None) -> None:
        """A write through v3 must be possible (the org is migrated) and lose nothing the route says in v2."""
        what = f"alert route {_described(spec, live.id if live else '')}"
        if not self.api.migrated():
            raise AlertRouteError(f"{what}: {_not_migrated(settings)}")
        lost = unsayable_in_v3(spec)
        if lost:
            whose, v3_only = ("declares", settings) if settings else ("has", live.v3_settings if live else {})
            raise AlertRouteError(
                f"{what} {whose} settings only incident.io's v3 API can say ({'; '.join(settings_said(v3_only))}), "
                f"so it is written through v3, which has no field for {_said(lost)}: a v3 write would drop them. "
                "Nothing was written. Take those out of the declaration, or take the v3-only settings out of the "
                "stack file (or the dashboard)."
            )

    def _v3_failures(self, spec: JsonDict, settings: JsonDict) -> list[CheckFailure]:
        """At preview: a route that declares v3-only settings is written through v3, which must be there and
        must not drop anything else the route says."""
        failures = [
            CheckFailure(
                f"spec.{path}",
                f"the route declares settings only incident.io's v3 API can say "
                f"({'; '.join(settings_said(settings))}), so it is written through v3, which has no field for "
                f"this ({json.dumps(value, sort_keys=True)}): take it out, or the v3-only settings",
            )
            for path, value in unsayable_in_v3(spec)
        ]
        if not failures:
            try:
                if not self.api.migrated():
                    failures.append(CheckFailure(V3_KEY, _not_migrated(settings)))
            except IncidentIoError as error:
                failures.append(CheckFailure(V3_KEY, str(error)))
        return failures

    @_no_traceback_on_purpose
    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with _doing(f"deleting alert route {_described(props.get('spec'), id_)}"):
            self._delete(id_, props)

    def _delete(self, id_: str, props: dict[str, Any]) -> None:
        with self._lock:
            if id_ in self._declared_ids:
                # Another resource of this stack manages the route (its key changed without
                # `previousKeys`, possibly in an earlier run that failed before this delete): drop this
                # resource from the state and leave the route alone.
                return
        if self._declared_elsewhere(id_, props) is not None:
            # Another owner declares it (a route moved to the other stack): hand it over, never delete it.
            return
        self.api.delete_route(id_)

    # Helpers
    def _claim_annotations(self, props: dict[str, Any]) -> dict[str, str]:
        owner = props.get("owner")
        return claim_annotations(
            self._configured.get("source_url") or None, owner if isinstance(owner, dict) and _is_owner(owner) else {}
        )

    def _claim_pending(self, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        """Whether the route is to be claimed (again): never yet, or for another owner than it declares now."""
        if not self.claims_routes or "spec" not in olds:
            return False
        if olds.get("claimed") is not True:
            return True
        owner = news.get("owner")
        if owner == rpc.UNKNOWN or _has_unknowns(owner):
            return False
        return olds.get("claimed_for") != self._claim_annotations(news)

    def _outputs(
        self, live: LiveRoute, declared: Any, props: dict[str, Any], *, claim: bool, written: JsonDict | None = None
    ) -> dict[str, Any]:
        """The resource's outputs for this reading of the live route. `declared`: the spec it is compared
        with (its v3-only settings are `props`' own); `written`: the route just sent (spec and v3-only
        settings, `with_v3`), when `live` is the API's answer to it."""
        spec_declared = None if declared is None else normalize(declared)
        payload = live.route(spec_declared)
        reconciled = payload if spec_declared is None else reconcile(payload, with_v3(spec_declared, _settings(props)))
        spec, settings = without_v3(reconciled)
        outs: dict[str, Any] = {
            "spec": spec,
            "version": live.version,
            "fingerprint": fingerprint(payload),
            "claimed": bool(props.get("claimed")),
            "claimed_for": props.get("claimed_for") or {},
            "claim_error": str(props.get("claim_error") or ""),
            "answer_differs": str(props.get("answer_differs") or ""),
        }
        if settings:
            # Only for a route that has v3-only settings: every other route's outputs stay as they were.
            outs[V3_KEY] = settings
        if written is not None:
            outs["answer_differs"] = self._answer_differs(live.id, written, payload)
        for key in ("adopt_id", "owner"):
            if props.get(key):
                outs[key] = props[key]
        if claim and self.claims_routes:
            annotations = self._claim_annotations(props)
            name = str(payload.get("name", ""))
            outs["claimed"], outs["claim_error"] = self._claim(live.id, name, annotations)
            outs["claimed_for"] = annotations if outs["claimed"] else {}
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

    def _claim(self, route_id: str, name: str, annotations: dict[str, str]) -> tuple[bool, str]:
        """Mark the route as managed outside the dashboard, and by whom. A failure is reported, never fatal."""
        try:
            self.api.claim_route(route_id, annotations)
        except IncidentIoError as error:
            return False, (
                f"alert route {name!r} ({route_id}) was written but could not be marked as managed by this "
                f"repository in incident.io ({error}); the next `pulumi up` tries again. "
                "Set `incidentio:claimRoutes: false` to stop claiming routes."
            )
        return True, ""

    def _refuse_unseen_edit(self, id_: str, described: str, olds: dict[str, Any], live: LiveRoute) -> None:
        """Stop rather than overwrite a change made in incident.io since Pulumi last looked.

        The version says whether anyone wrote the route; the fingerprint whether they changed it
        (a save that changed nothing moves the version too).
        """
        known_version = olds.get("version")
        if known_version is None or int(known_version) == live.version:
            return
        known = olds.get("fingerprint")
        current = live.route(olds.get("spec"))
        if isinstance(known, dict) and known:
            changed = fingerprint_changes(known, fingerprint(current))
        elif "spec" in olds:
            changed = changed_fields(_declared(olds), current)
        else:
            return
        if not changed:
            return
        if V3_KEY in changed:
            # Said in full: a setting only v3 can say is not in any field a person would look for.
            now = "; ".join(settings_said(live.v3_settings)) or "none of them now"
            changed = [
                f"the settings only the v3 API can say ({now})" if field == V3_KEY else field for field in changed
            ]
        raise ConcurrentEditError(
            f"alert route {described} was changed in incident.io since Pulumi last read it "
            f"(version {int(known_version)} in state, {live.version} live; changed fields: "
            f"{', '.join(changed)}). Nothing was overwritten. "
            "Run `pulumi refresh` (or `pulumi up --refresh`) to review the change, then `pulumi up`."
        )

    def _refuse_unseen_v3_settings(
        self, described: str, olds: dict[str, Any], settings: JsonDict, live: LiveRoute
    ) -> None:
        """Stop rather than drop settings only the v3 API can say that the state has never recorded (a state
        last refreshed before they were set, or before this provider read v3) and the declaration does not
        say: no preview has shown them going."""
        if not live.v3_settings or same_spec(with_v3({}, live.v3_settings), with_v3({}, settings)):
            return
        if same_spec(with_v3({}, live.v3_settings), with_v3({}, _settings(olds))):
            return  # the refreshed state has them: the preview showed them going
        raise ConcurrentEditError(
            f"alert route {described} has settings only incident.io's v3 API can say, which Pulumi's state has "
            f"not recorded: {'; '.join(settings_said(live.v3_settings))}. Writing the declaration would drop "
            "them, so nothing was written. To keep them, declare them on the route in the stack file "
            f"({V3_OPTIONS}; export-incident-io.sh prints them); to drop them, run `pulumi refresh` (the preview "
            "then shows them going) and `pulumi up`."
        )

    def _route_ids_named(self, name: str, *, fresh: bool = False) -> list[str]:
        """The ids of the live routes of this name. The list is read once per run (under a lock: the host
        answers 4 calls at once), or again when `fresh`."""
        with self._index_lock:
            if self._routes_by_name is None or fresh:
                index: dict[str, list[str]] = {}
                for route in self.api.list_routes():
                    index.setdefault(route.get("name", ""), []).append(route["id"])
                with self._lock:
                    self._routes_by_name = index
        with self._lock:
            assert self._routes_by_name is not None
            return list(self._routes_by_name.get(name, []))

    def _adoption(self, spec: JsonDict, settings: JsonDict, adopt_id: str | None) -> str | None:
        """The id of the live route a create of this spec will take over, or None when it will create one."""
        live = self._adopted(spec, settings, adopt_id)
        return None if live is None else live.id

    def _adopted(self, spec: JsonDict, settings: JsonDict, adopt_id: str | None) -> LiveRoute | None:
        """The live route a create takes over (by `id:`, else the one route of its name, when identical), or
        None when there is none to take over; refused when it is ambiguous or declared by another owner."""
        live = self._adopt_by_id(adopt_id, spec, settings) if adopt_id else self._adopt_identical(spec, settings)
        if live is not None:
            self._refuse_if_declared_elsewhere(spec, live.answer)
        return live

    def _adopt_by_id(self, route_id: str, spec: JsonDict, settings: JsonDict) -> LiveRoute:
        """The live route the stack config names with `id:`, when it already is what the config says."""
        live = self.api.read_route(route_id)
        if live is None:
            raise AlertRouteError(
                f"alert route {spec['name']!r}: the stack config adopts id {route_id}, but incident.io has no route "
                "with that id. Remove `id:` to create the route, or export the live routes again "
                "(contrib/export-incident-io.sh) to get their ids."
            )
        fields = _differing(with_v3(spec, settings), live.route(spec))
        if fields:
            raise AlertRouteError(
                f"alert route {_described(spec, route_id, from_live(live.answer))}: adopting {route_id} would change "
                f"it (differs in {fields}). Adoption only takes over a route as it is: make the stack config "
                "say what the live route says (contrib/export-incident-io.sh prints it), run `pulumi up`, then "
                "change it."
            )
        return live

    def _adopt_identical(self, spec: JsonDict, settings: JsonDict) -> LiveRoute | None:
        """The one existing route with this name, when identical; refused when it differs (creating another
        would page twice) or when several carry the name (which one is meant is for the stack file to say)."""
        named = [live for live in map(self.api.read_route, self._route_ids_named(spec["name"])) if live is not None]
        if len(named) > 1:
            raise AlertRouteError(
                _ambiguous(spec["name"], [live.answer for live in named]) + " Nothing was adopted or created."
            )
        if not named:
            return None
        (live,) = named
        fields = _differing(with_v3(spec, settings), live.route(spec))
        if not fields:
            return live
        raise AlertRouteError(
            f"an alert route named {spec['name']!r} already exists in incident.io: {live.id} (differs in "
            f"{fields}). Creating another would page twice. If this stack "
            "already manages it under another resource key (its `key:` or name changed), list the old key in "
            "`previousKeys:`; to take over a route made elsewhere, make the declaration say what it says and set "
            "`id:`; or give this route another name."
        )

    def _refuse_a_name_two_routes_carry(self, name: str) -> None:
        """A managed route declared by name only, while another live route carries that name too (a copy made
        in the dashboard, say): both route alerts, and which one the declaration means is for `id:` to say."""
        ids = self._route_ids_named(name)
        if len(ids) > 1:
            named = [live for live in map(self.api.find_route, ids) if live is not None]
            if len(named) > 1:
                raise AlertRouteError(_ambiguous(name, named))

    def _refuse_if_declared_elsewhere(self, spec: JsonDict, live: JsonDict) -> None:
        route_id, live_name = str(live["id"]), str(live.get("name", ""))
        declared = DECLARED_ELSEWHERE.by_id(route_id) or next(iter(DECLARED_ELSEWHERE.by_name(live_name)), None)
        if declared is not None:
            raise AlertRouteError(
                f"alert route {_described(spec, route_id, from_live(live))} is declared by {declared.owner}, which "
                "manages it: a live route has one owner, so this one neither adopts nor changes it. To move it here, "
                f"take it out of {declared.owner} in the same change; otherwise take it out of this stack's file."
            )

    def _declared_elsewhere(self, route_id: str, props: dict[str, Any]) -> Declaration | None:
        """The other owner's declaration of this route, if any: pinned by its id, or by its name (as this state
        last had it, or as it is live) when that name is the live route's alone. Refused when another live route
        carries the name too: which one the other owner means is then for its file to say with `id:`."""
        declared = DECLARED_ELSEWHERE.by_id(route_id)
        if declared is not None:
            return declared
        if not DECLARED_ELSEWHERE.names_any_route():
            return None
        live = self.api.find_route(route_id)
        if live is None:
            return None
        last_known = props.get("spec")
        names = {str(live.get("name", "")), str(last_known.get("name", "") if isinstance(last_known, dict) else "")}
        for name in sorted(names):
            for declared in DECLARED_ELSEWHERE.by_name(name):
                others = [other for other in self._route_ids_named(name, fresh=True) if other != route_id]
                if others:
                    named = [route for route in map(self.api.find_route, [route_id, *others]) if route is not None]
                    raise AlertRouteError(
                        f"{_ambiguous(name, named)} {declared.owner} declares one of them by name, so this stack "
                        f"neither deletes {route_id} (the route it stops declaring) nor hands it over. Set `id:` in "
                        f"{declared.owner} to the route it manages, then run `pulumi up` here again."
                    )
                return declared
        return None

    def _recover_lost_create(self, spec: JsonDict, settings: JsonDict, lost: ResponseLostError) -> LiveRoute:
        """The POST may have created the route although no answer came back: find it, or create once more."""
        landed = self.api.find_route_like(spec, settings)
        if landed is not None:
            return landed
        try:
            return self._create_v3(spec, settings) if settings else self._create_v2(spec)
        except ResponseLostError as again:
            raise AlertRouteError(
                f"creating alert route {spec['name']!r}: no answer from incident.io twice ({lost}; then {again}). "
                "No route with this name and spec exists; run `pulumi up` again."
            ) from None


def _settings(props: dict[str, Any]) -> JsonDict:
    """The v3-only settings that inputs or outputs give, less v3's defaults ({} for none)."""
    return meaningful(normalize(props.get(V3_KEY)))


def _declared(props: dict[str, Any]) -> Any:
    """What inputs or outputs say the route is: the spec and its v3-only settings, for `same_spec`."""
    return with_v3(props.get("spec"), _settings(props))


def _said(settings: list[tuple[str, Any]]) -> str:
    return "; ".join(f"{path}={json.dumps(value, sort_keys=True)}" for path, value in settings)


def _differing(declared: JsonDict, live: JsonDict) -> str:
    """The fields in which a live route differs from a declaration; its v3-only settings said in full."""
    fields = changed_fields(declared, live)
    said = [field for field in fields if field != V3_KEY]
    if V3_KEY in fields:
        _, live_settings = without_v3(live)
        _, declared_settings = without_v3(declared)
        said.append(
            f"the settings only the v3 API can say: live {'; '.join(settings_said(live_settings)) or 'none'}, "
            f"declared {'; '.join(settings_said(declared_settings)) or 'none'}"
        )
    return ", ".join(said)


def _not_migrated(settings: JsonDict) -> str:
    return (
        f"it declares settings only incident.io's v3 API can say ({'; '.join(settings_said(settings))}), and this org "
        "is not on incident.io's new alert grouping engine: GET /v3/alert_routes answered 403 "
        "api_not_yet_available. Take them out of the declaration until the org has moved."
    )


def _is_owner(value: Any) -> bool:
    return isinstance(value, dict) and set(value) <= set(OWNER_KEYS) and all(isinstance(v, str) for v in value.values())


def _described(declared: Any, route_id: str, live: Any = None) -> str:
    """A route as a message names it: its declared name, its live (or last known) name where that differs,
    and its id."""
    name = str(declared.get("name") or "") if isinstance(declared, dict) else ""
    live_name = str(live.get("name") or "") if isinstance(live, dict) else ""
    if not name:
        name, live_name = live_name, ""
    if not name:
        return route_id or "(unnamed)"
    said = [f"live name {live_name!r}"] if live_name and live_name != name else []
    said += [route_id] if route_id else []
    return f"{name!r} ({', '.join(said)})" if said else repr(name)


def _ambiguous(name: str, routes: list[JsonDict]) -> str:
    """What differs between live routes that share a name, each named by id."""
    first = from_live(routes[0])
    differences = []
    for other in routes[1:]:
        fields = changed_fields(first, from_live(other))
        said = f"differs from it in {', '.join(fields)}" if fields else "is identical to it"
        differences.append(f"{other['id']} {said}")
    return (
        f"{len(routes)} live alert routes are named {name!r}: {', '.join(str(route['id']) for route in routes)} "
        f"(compared with {routes[0]['id']}: {'; '.join(differences)}); "
        "each of them routes alerts. Set `id:` on the declaration to the one it "
        "means (contrib/export-incident-io.sh prints the ids) and delete the other(s) in the dashboard, or give "
        "the declaration another name."
    )


class AlertRoute(Resource, module="incidentio", name="AlertRoute"):
    """An incident.io alert route. Inputs: `spec` (the v2 create payload), `v3` (the settings only the v3
    API can say, in their v3 places, for a route that has any: providers/alert_route_v3.py), `adopt_id` (a
    live route to take over on create; kept once taken over) and `owner` (project, stack and key, recorded
    with the claim). Outputs: `spec`, `v3` (only for a route that has v3-only settings), `version`,
    `fingerprint`, `claimed`, `claimed_for` (the claim's annotations), `claim_error`, `answer_differs` (a
    message when the API answered a write with something else than was sent)."""

    spec: pulumi.Output[dict[str, Any]]
    v3: pulumi.Output[dict[str, Any] | None]
    version: pulumi.Output[int]
    fingerprint: pulumi.Output[dict[str, str]]
    claimed: pulumi.Output[bool]
    claimed_for: pulumi.Output[dict[str, str]]
    claim_error: pulumi.Output[str]
    answer_differs: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        spec: pulumi.Input[dict[str, Any]],
        opts: pulumi.ResourceOptions | None = None,
        *,
        adopt_id: str | None = None,
        owner: dict[str, str] | None = None,
        v3: dict[str, Any] | None = None,
    ) -> None:
        props: dict[str, Any] = {"spec": spec, **dict.fromkeys(OUTPUT_KEYS)}
        # Only for a route that declares v3-only settings: every other route's inputs stay as they were.
        props[V3_KEY] = v3 or None
        if adopt_id:
            props["adopt_id"] = adopt_id
        if owner:
            props["owner"] = owner
        super().__init__(AlertRouteProvider(), name, props, opts)
