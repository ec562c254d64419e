"""A stack's settings: read from its config, checked, and explained when wrong.

Every value that is specific to the incident.io org or the cluster lives in the stack file. A value
the committed file cannot know is written as `SET-ME: <how to find it>`; the program refuses to run
until each is set, and lists them all at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pulumi

from providers.alert_route_spec import OPERATIONS, operation_problem

PLACEHOLDER = "SET-ME"

_NAME = {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"}
_NONEMPTY = {"type": "string", "minLength": 1}
_ID = {"type": "string", "pattern": r"^[0-9A-Z]{26}$"}
_RESOURCE_KEY = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*$"}
# Something in incident.io, found by its name, its id, or both (an id tells apart equal names).
_LOOKUP = {
    "type": "object",
    "properties": {"name": _NONEMPTY, "id": _ID},
    "minProperties": 1,
    "additionalProperties": False,
}
# A condition subject: an alert attribute by name or id, or any other subject written out.
_REFERENCE = {
    "type": "object",
    "properties": {"attribute": _NONEMPTY, "id": _ID, "subject": _NONEMPTY},
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
}

CONDITION_SCHEMA = {
    "type": "object",
    "properties": {
        "reference": _NAME,
        "operation": _NONEMPTY,
        "values": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["reference", "operation"],
    "additionalProperties": False,
}

# Alert grouping and what follows it, route by route (docs/grouping.md). Keys, window and when an alert
# joining a group escalates again are what incident.io's v2 alert route has too (incident_config); the
# window type and summary messages only its v3 one. The ranges are the v3 API's (SDK GroupingSettingsV3,
# AlertRouteWhenAlertJoinsGroupPayloadV3); the values are incident.io's own, as `operation` values are.
WINDOW_TYPES = ("rolling", "fixed")
ESCALATION_MODES = ("on_each_new_alert", "on_priority_increase")
_GROUPING = {
    "type": "object",
    "properties": {
        "keys": {"type": "array", "items": _NAME, "minItems": 1, "uniqueItems": True},
        "windowSeconds": {"type": "integer", "minimum": 60, "maximum": 172800},
        "windowType": {"enum": list(WINDOW_TYPES)},
    },
    "minProperties": 1,
    "additionalProperties": False,
}
_WHEN_ALERT_JOINS_GROUP = {
    "type": "object",
    "properties": {
        "mode": {"enum": list(ESCALATION_MODES)},
        "gracePeriodSeconds": {"type": "integer", "minimum": 0, "maximum": 3600},
    },
    "required": ["mode"],
    "additionalProperties": False,
}

ROUTE_SCHEMA = {
    "type": "object",
    "properties": {
        "name": _NONEMPTY,
        "key": _RESOURCE_KEY,
        "previousKeys": {"type": "array", "items": _RESOURCE_KEY, "uniqueItems": True},
        "id": _ID,
        "enabled": {"type": "boolean"},
        "sources": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {"source": _NAME, "when": {"type": "array", "items": CONDITION_SCHEMA}},
                "required": ["source"],
                "additionalProperties": False,
            },
        },
        "when": {"type": "array", "items": CONDITION_SCHEMA},
        "escalation": {"anyOf": [_NAME, {"type": "null"}]},
        "slack": _NAME,
        "grouping": _GROUPING,
        "whenAlertJoinsGroup": _WHEN_ALERT_JOINS_GROUP,
        "slackGroupAlertsSummary": {"type": "boolean"},
        "raw": {"type": "object"},
    },
    "required": ["name", "sources"],
    "additionalProperties": False,
}

# An alert a routing test sends through the routes, in the stack's names: a key of alertSources, and
# attribute values by key of references (a list for an array attribute; an attribute left out is unset).
_TEST_ALERT = {
    "type": "object",
    "properties": {
        "source": _NAME,
        "attributes": {
            "type": "object",
            "propertyNames": _NAME,
            "additionalProperties": {"anyOf": [_NONEMPTY, {"type": "array", "items": _NONEMPTY, "minItems": 1}]},
        },
    },
    "required": ["source"],
    "additionalProperties": False,
}
_NAME_SET = {"type": "array", "items": _NONEMPTY, "uniqueItems": True}
ROUTING_TEST_SCHEMA = {
    "type": "object",
    "properties": {
        "alert": _TEST_ALERT,
        # Only what is given is checked; `routes: []` says the alert goes nowhere.
        "expect": {
            "type": "object",
            "properties": {"routes": _NAME_SET, "pages": _NAME_SET, "slack": _NAME_SET},
            "minProperties": 1,
            "additionalProperties": False,
        },
    },
    "required": ["alert", "expect"],
    "additionalProperties": False,
}
# What routing coverage reports (components/routing_tests.py); `failOn` makes those kinds errors.
COVERAGE_KINDS = ("dropped", "twice", "unreached")
ROUTING_COVERAGE_SCHEMA = {
    "type": "object",
    "properties": {"failOn": {"type": "array", "items": {"enum": list(COVERAGE_KINDS)}, "uniqueItems": True}},
    "additionalProperties": False,
}

_SETTINGS_PROPERTIES: dict[str, Any] = {
    "environment": {"enum": ["production", "staging"]},
    "alertSources": {
        "type": "object",
        "minProperties": 1,
        "propertyNames": _NAME,
        "additionalProperties": _LOOKUP,
    },
    "alertmanagerSource": _NAME,
    "checklySource": _NAME,
    "references": {"type": "object", "propertyNames": _NAME, "additionalProperties": _REFERENCE},
    "escalationPaths": {"type": "object", "propertyNames": _NAME, "additionalProperties": _LOOKUP},
    "slackChannels": {
        "type": "object",
        "propertyNames": _NAME,
        "additionalProperties": {
            "anyOf": [
                _NONEMPTY,
                {"type": "object", "properties": {"id": _NONEMPTY}, "required": ["id"], "additionalProperties": False},
            ]
        },
    },
    "routes": {"type": "array", "items": ROUTE_SCHEMA},
    "routingTests": {"type": "array", "items": ROUTING_TEST_SCHEMA},
    "routingCoverage": ROUTING_COVERAGE_SCHEMA,
    "aws": {
        "type": "object",
        "properties": {
            "accountId": {"type": "string", "pattern": r"^([0-9]{12}|SET-ME.*)$"},
            "region": _NONEMPTY,
            "secretName": _NONEMPTY,
            "secretImportArn": {"type": "string", "pattern": "^arn:aws"},
        },
        "required": ["accountId", "secretName"],
        "additionalProperties": False,
    },
    "externalSecret": {
        "type": "object",
        "properties": {
            "name": _NONEMPTY,
            "namespace": _NONEMPTY,
            "storeName": _NONEMPTY,
            "storeKind": {"enum": ["SecretStore", "ClusterSecretStore"]},
            "refreshInterval": _NONEMPTY,
        },
        "required": ["storeName"],
        "additionalProperties": False,
    },
    "alertmanager": {
        "type": "object",
        "properties": {
            "name": _NONEMPTY,
            "namespace": _NONEMPTY,
            "restartOnTokenChange": {"type": "boolean"},
        },
        "required": ["name"],
        "additionalProperties": False,
    },
}

SETTINGS_SCHEMA = {
    "type": "object",
    "properties": _SETTINGS_PROPERTIES,
    "required": [
        "environment",
        "alertSources",
        "alertmanagerSource",
        "checklySource",
        "routes",
        "aws",
        "externalSecret",
        "alertmanager",
    ],
    "additionalProperties": False,
}


# The part of a stack's config that declares routes: what `export-incident-io.sh` writes.
ROUTE_CONFIG_KEYS = ("alertSources", "references", "escalationPaths", "slackChannels", "routes")
ROUTE_CONFIG_SCHEMA = {
    "type": "object",
    "properties": {key: _SETTINGS_PROPERTIES[key] for key in ROUTE_CONFIG_KEYS},
    "required": ["alertSources", "routes"],
    "additionalProperties": False,
}
# The routing tests and coverage options, checked against the route-declaring keys (route-test.sh).
ROUTING_TEST_KEYS = ("routingTests", "routingCoverage")
_ROUTING_TEST_KEYS_SCHEMA = {
    "type": "object",
    "properties": {key: _SETTINGS_PROPERTIES[key] for key in ROUTING_TEST_KEYS},
}


class ConfigProblemsError(pulumi.RunError, ValueError):
    """Problems in the stack config, each on its own line. A RunError: Pulumi shows the message without a
    stack trace (followed by the engine's own "program exited with non-zero exit code: 1")."""

    def __init__(self, heading: str, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n  - ".join(problems)
        super().__init__(f"{heading}:\n  - {listed}")


class SettingsError(ConfigProblemsError):
    """The stack config is wrong; the message lists every problem with its config key (and, in a routes
    file, its file and line)."""

    def __init__(self, stack: str, problems: list[str], files: str = "") -> None:
        files = files or f"Pulumi.{stack}.yaml"
        super().__init__(f"stack {stack!r}: the stack config ({files}) needs fixing", problems)


@dataclass(frozen=True)
class Condition:
    reference: str
    operation: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceMatch:
    source: str
    when: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class WhenAlertJoinsGroup:
    """When an alert that joins an open group escalates again: `on_each_new_alert` (after the grace period)
    or `on_priority_increase`."""

    mode: str
    grace_period_seconds: int | None = None


@dataclass(frozen=True)
class RouteDecl:
    name: str
    key: str
    sources: tuple[SourceMatch, ...]
    when: tuple[Condition, ...] = ()
    escalation: str | None = None
    slack: str | None = None
    enabled: bool = True
    id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    # Resource keys this route had before: the same route, updated in place rather than replaced.
    previous_keys: tuple[str, ...] = ()
    # Alert grouping: keys of references, the window, its type, and what an alert joining a group does.
    grouping_keys: tuple[str, ...] = ()
    grouping_window_seconds: int | None = None
    grouping_window_type: str | None = None
    when_alert_joins_group: WhenAlertJoinsGroup | None = None
    slack_group_alerts_summary: bool = False

    def new_engine_options(self) -> list[str]:
        """The options this route declares that only an org on incident.io's new alert grouping engine has."""
        return [
            option
            for option, declared in (
                ("grouping.windowType", self.grouping_window_type is not None),
                ("whenAlertJoinsGroup", self.when_alert_joins_group is not None),
                ("slackGroupAlertsSummary", self.slack_group_alerts_summary),
            )
            if declared
        ]


@dataclass(frozen=True)
class Lookup:
    """Something in incident.io named by the stack config: by name, by id, or both."""

    name: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class ReferenceDecl:
    """A condition subject: an alert attribute by name or by id, or a subject written out."""

    attribute: str | None = None
    id: str | None = None
    subject: str | None = None


@dataclass(frozen=True)
class NameTables:
    """The stack config's names for incident.io things, as declared (resolved by components.names)."""

    alert_sources: dict[str, Lookup]
    references: dict[str, ReferenceDecl] = field(default_factory=dict)
    escalation_paths: dict[str, Lookup] = field(default_factory=dict)
    slack_channels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reference:
    """A resolved condition subject, with its engine type when incident.io told it."""

    subject: str
    type: str = ""


@dataclass(frozen=True)
class RouteVocabulary:
    """The names route declarations use, each mapped to the value incident.io knows."""

    references: dict[str, Reference]
    escalation_paths: dict[str, str]
    slack_channels: dict[str, str]


AttributeValue = str | tuple[str, ...]


@dataclass(frozen=True)
class StackAlert:
    """An alert in the stack's names: the key of its source in alertSources, and its attribute values
    by key of references (sorted; an attribute not given is unset)."""

    source: str
    attributes: tuple[tuple[str, AttributeValue], ...] = ()

    @classmethod
    def of(cls, source: str, attributes: dict[str, Any] | None = None) -> StackAlert:
        values = {name: value if isinstance(value, str) else tuple(value) for name, value in (attributes or {}).items()}
        return cls(source, tuple(sorted(values.items())))

    def written(self, separator: str = "=") -> list[str]:
        """Each attribute as `name=value`, an array as `[a, b]` (what route-test.sh reads back)."""
        return [
            f"{name}{separator}{value if isinstance(value, str) else '[' + ', '.join(value) + ']'}"
            for name, value in self.attributes
        ]

    def describe(self) -> str:
        """`source=alertmanager severity=critical`, as route-test.sh takes it."""
        return " ".join([f"source={self.source}", *self.written()])

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "attributes": {name: value if isinstance(value, str) else list(value) for name, value in self.attributes},
        }


@dataclass(frozen=True)
class Expectation:
    """What a routing test checks, in the stack's names; None: not checked. Sets: order means nothing."""

    routes: frozenset[str] | None = None
    pages: frozenset[str] | None = None
    slack: frozenset[str] | None = None


@dataclass(frozen=True)
class RoutingTest:
    index: int
    alert: StackAlert
    expect: Expectation
    # `routes/production.yaml:57` when the test is in a routes file; "" in the stack file.
    place: str = ""

    @property
    def label(self) -> str:
        said = f"routingTests[{self.index}] ({self.alert.describe()})"
        return f"{self.place}: {said}" if self.place else said


@dataclass(frozen=True)
class RoutingCoverage:
    """Which kinds of routing coverage findings stop the run instead of warning (COVERAGE_KINDS)."""

    fail_on: frozenset[str] = frozenset()


@dataclass(frozen=True)
class StackSettings:
    stack: str
    environment: str
    names: NameTables
    alertmanager_source: str
    checkly_source: str
    routes: tuple[RouteDecl, ...]
    aws_account_id: str
    aws_region: str
    aws_secret_name: str
    aws_secret_import_arn: str | None
    external_secret_name: str
    external_secret_namespace: str
    secret_store_name: str
    secret_store_kind: str
    refresh_interval: str
    alertmanager_name: str
    alertmanager_namespace: str
    restart_alertmanager_on_token_change: bool
    routing_tests: tuple[RoutingTest, ...] = ()
    routing_coverage: RoutingCoverage = RoutingCoverage()
    # The files that declare the routes and the routing tests (components/routes_file.py): the stack file,
    # or the stack's routes file.
    routes_file: str = ""
    routing_tests_file: str = ""

    def file_of_routes(self) -> str:
        return self.routes_file or f"Pulumi.{self.stack}.yaml"

    def file_of_routing_tests(self) -> str:
        return self.routing_tests_file or f"Pulumi.{self.stack}.yaml"


def _suffix(parts: Any) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)


def _path(parts: Any) -> str:
    return _suffix(parts).removeprefix(".")


def _placeholders(value: Any, path: str) -> list[str]:
    if isinstance(value, str) and value.startswith(PLACEHOLDER):
        return [f"{path}: not set yet ({value})"]
    if isinstance(value, dict):
        return [problem for key, item in value.items() for problem in _placeholders(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [problem for index, item in enumerate(value) for problem in _placeholders(item, f"{path}[{index}]")]
    return []


def _route_label(raw: dict[str, Any], index: int) -> str:
    routes = raw.get("routes")
    route = routes[index] if isinstance(routes, list) and index < len(routes) else None
    name = route.get("name") if isinstance(route, dict) else None
    return f"routes[{index}] ({name})" if name else f"routes[{index}]"


# Where a value of the config is written, by its path (`("routes", 3, "sources", 0)`): `routes/production.yaml:42`
# for a value of a routes file, None for one of the stack file (components/routes_file.py).
Locate = Callable[[tuple[str | int, ...]], "str | None"]


def _nowhere(_parts: tuple[str | int, ...]) -> str | None:
    return None


@dataclass(frozen=True)
class _Where:
    """How problems name a value: its path, a route with its name, and its file and line when known."""

    raw: dict[str, Any]
    locate: Locate = _nowhere

    def __call__(self, *parts: str | int) -> str:
        return self.at(parts, self.label(*parts))

    def label(self, *parts: str | int) -> str:
        if len(parts) >= 2 and parts[0] == "routes" and isinstance(parts[1], int):
            return _route_label(self.raw, parts[1]) + _suffix(parts[2:])
        return _path(parts) or "(top level)"

    def at(self, parts: tuple[str | int, ...], text: str) -> str:
        """`text`, after the file and line of the value at `parts` where it has one."""
        place = self.locate(parts)
        return f"{place}: {text}" if place else text


def _schema_problems(raw: dict[str, Any], schema: dict[str, Any], locate: Locate = _nowhere) -> list[str]:
    problems = []
    where = _Where(raw, locate)
    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(raw), key=lambda e: list(map(str, e.absolute_path))):
        problems.append(f"{where(*error.absolute_path)}: {error.message}")
    return problems


def _conditions(raw: list[dict[str, Any]] | None) -> tuple[Condition, ...]:
    return tuple(Condition(item["reference"], item["operation"], tuple(item.get("values") or ())) for item in raw or [])


def _reference_problems(raw: dict[str, Any], locate: Locate = _nowhere) -> list[str]:
    """Names used by routes must be declared: a typo fails the preview, not a page."""
    problems: list[str] = []
    where = _Where(raw, locate)
    known = {
        "source": set(raw["alertSources"]),
        "escalation": set(raw.get("escalationPaths") or {}),
        "slack": set(raw.get("slackChannels") or {}),
        "reference": set(raw.get("references") or {}),
    }
    config_key = {
        "source": "alertSources",
        "escalation": "escalationPaths",
        "slack": "slackChannels",
        "reference": "references",
    }

    def check_operation(condition: dict[str, Any], *parts: str | int) -> None:
        if condition["operation"] not in OPERATIONS:
            problems.append(f"{where(*parts, 'operation')}: {operation_problem(condition['operation'])}")

    def check(kind: str, name: str | None, *parts: str | int) -> None:
        if name is not None and name not in known[kind]:
            choices = ", ".join(sorted(known[kind])) or "none declared"
            problems.append(
                f"{where(*parts)}: unknown {kind} {name!r}; declare it under {config_key[kind]} (known: {choices})"
            )

    def check_conditions(conditions: list[dict[str, Any]] | None, *parts: str | int) -> None:
        for position, condition in enumerate(conditions or []):
            check("reference", condition["reference"], *parts, position, "reference")
            check_operation(condition, *parts, position)

    for key in ("alertmanagerSource", "checklySource"):
        if key in raw:
            check("source", raw[key], key)
    routes = raw["routes"]
    for index, route in enumerate(routes):
        check("escalation", route.get("escalation"), "routes", index, "escalation")
        check("slack", route.get("slack"), "routes", index, "slack")
        check_conditions(route.get("when"), "routes", index, "when")
        for position, key in enumerate((route.get("grouping") or {}).get("keys") or []):
            check("reference", key, "routes", index, "grouping", "keys", position)
        problems += [
            where.at(("routes", index), problem) for problem in _grouping_problems(route, where.label("routes", index))
        ]
        for source_index, match in enumerate(route["sources"]):
            check("source", match["source"], "routes", index, "sources", source_index, "source")
            check_conditions(match.get("when"), "routes", index, "sources", source_index, "when")

    def repeated(values: list[Any]) -> list[tuple[Any, int]]:
        """Each value used more than once, with the index of its second use (where a problem points)."""
        seen: set[Any] = set()
        found: dict[Any, int] = {}
        for index, value in enumerate(values):
            if value in seen:
                found.setdefault(value, index)
            seen.add(value)
        return sorted(found.items(), key=lambda item: str(item[0]))

    names = [route["name"] for route in routes]
    for duplicate, index in repeated(names):
        problems.append(
            where.at(
                ("routes", index),
                f"routes: the name {duplicate!r} is used twice; route names must be unique in a stack",
            )
        )
    keys = [route.get("key") or resource_key(route["name"]) for route in routes]
    for index, key in enumerate(keys):
        if not key:
            problems.append(
                f"{where('routes', index)}: its name has no letter or digit to make its resource key from; give it "
                "a `key` (lower-case letters, digits and -)"
            )
    for duplicate, index in repeated(keys):
        problems.append(
            where.at(
                ("routes", index),
                f"routes: two routes share the resource key {duplicate!r}; give one of them another `key`",
            )
        )
    used_keys = set(keys)
    for index, route in enumerate(routes):
        for position, previous in enumerate(route.get("previousKeys") or []):
            if previous in used_keys:
                problems.append(
                    where.at(
                        ("routes", index, "previousKeys", position),
                        f"{where.label('routes', index, 'previousKeys')}: {previous!r} is the key of a route in this "
                        "stack; a previous key must be one no route uses any more",
                    )
                )
    previous_keys = [
        (previous, index) for index, route in enumerate(routes) for previous in route.get("previousKeys") or []
    ]
    for duplicate, position in repeated([previous for previous, _ in previous_keys]):
        problems.append(
            where.at(
                ("routes", previous_keys[position][1]),
                f"routes: the previous key {duplicate!r} is claimed by two routes; one route can continue it",
            )
        )
    ids = [(route["id"], index) for index, route in enumerate(routes) if route.get("id")]
    for duplicate, position in repeated([id_ for id_, _ in ids]):
        problems.append(
            where.at(
                ("routes", ids[position][1]),
                f"routes: two routes adopt the id {duplicate}; each live route can be declared once",
            )
        )
    return problems


def _grouping_problems(route: dict[str, Any], label: str) -> list[str]:
    """What incident.io refuses of the grouping options: a window type or an escalation mode on a route that
    does not group (SDK GroupingSettingsV3, "Only set when grouping is enabled"), a grace period with
    `on_priority_increase`, and a summary where the route posts nowhere."""
    problems: list[str] = []
    grouping = route.get("grouping") or {}
    raw_incident = (route.get("raw") or {}).get("incident_config") or {}
    groups = bool(
        grouping.get("keys")
        or grouping.get("windowSeconds")
        or raw_incident.get("grouping_keys")
        or raw_incident.get("grouping_window_seconds")
    )
    said = [("grouping.windowType", "windowType" in grouping), ("whenAlertJoinsGroup", "whenAlertJoinsGroup" in route)]
    for option, declared in said:
        if declared and not groups:
            problems.append(
                f"{label}.{option}: only for a route that groups alerts; set grouping.keys (and grouping.windowSeconds)"
            )
    when = route.get("whenAlertJoinsGroup") or {}
    if when.get("mode") == "on_priority_increase" and "gracePeriodSeconds" in when:
        problems.append(
            f"{label}.whenAlertJoinsGroup.gracePeriodSeconds: only with mode on_each_new_alert (incident.io "
            "refuses a grace period with on_priority_increase)"
        )
    if route.get("slackGroupAlertsSummary") and not route.get("slack"):
        problems.append(f"{label}.slackGroupAlertsSummary: the route has no `slack` channel to post a summary in")
    return problems


def resource_key(route_name: str) -> str:
    """The Pulumi resource name of a route: its name, lower-cased and hyphenated."""
    return "-".join("".join(ch if ch.isalnum() else " " for ch in route_name.lower()).split())


def route_config_problems(raw: dict[str, Any], locate: Locate = _nowhere) -> list[str]:
    """Problems in the route-declaring part of a stack config alone (see ROUTE_CONFIG_KEYS)."""
    return _schema_problems(raw, ROUTE_CONFIG_SCHEMA, locate) or _reference_problems(raw, locate)


def _known(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none declared"


def alert_problems(source: str, attributes: Iterable[str], raw: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, problem) for each name an alert uses that the stack does not declare."""
    problems: list[tuple[str, str]] = []
    sources = raw.get("alertSources") or {}
    if source not in sources:
        problems.append(("source", f"unknown source {source!r}; known: {_known(sources)} (the keys of alertSources)"))
    references = raw.get("references") or {}
    for name in attributes:
        if name not in references:
            problem = f"unknown attribute {name!r}; known: {_known(references)} (the keys of references)"
            problems.append((f"attributes.{name}", problem))
    return problems


def routing_test_problems(raw: dict[str, Any], locate: Locate = _nowhere) -> list[str]:
    """Problems in routingTests and routingCoverage: their shape, then every name the tests use. The
    route-declaring keys must be valid already (route_config_problems)."""
    tests_part = {key: raw[key] for key in ROUTING_TEST_KEYS if key in raw}
    problems = _schema_problems(tests_part, _ROUTING_TEST_KEYS_SCHEMA, locate)
    if problems:
        return problems
    where = _Where(raw, locate)
    known = {
        "routes": ("route", [route["name"] for route in raw.get("routes") or []], "the names of routes"),
        "pages": ("escalation path", list(raw.get("escalationPaths") or {}), "the keys of escalationPaths"),
        "slack": ("Slack channel", list(raw.get("slackChannels") or {}), "the keys of slackChannels"),
    }
    for index, test in enumerate(raw.get("routingTests") or []):
        alert = test["alert"]
        problems += [
            f"{where('routingTests', index, 'alert', *path.split('.'))}: {problem}"
            for path, problem in alert_problems(alert["source"], alert.get("attributes") or {}, raw)
        ]
        for member, (kind, names, which) in known.items():
            declared = set(names)
            problems += [
                f"{where('routingTests', index, 'expect', member)}: unknown {kind} {name!r}; known: "
                f"{_known(names)} ({which})"
                for name in test["expect"].get(member) or []
                if name not in declared
            ]
    return problems


def routing_tests(raw: dict[str, Any], locate: Locate = _nowhere) -> tuple[RoutingTest, ...]:
    def expectation(expect: dict[str, Any]) -> Expectation:
        given = {member: frozenset(names) for member, names in expect.items()}
        return Expectation(given.get("routes"), given.get("pages"), given.get("slack"))

    return tuple(
        RoutingTest(
            index,
            StackAlert.of(test["alert"]["source"], test["alert"].get("attributes")),
            expectation(test["expect"]),
            place=locate(("routingTests", index)) or "",
        )
        for index, test in enumerate(raw.get("routingTests") or [])
    )


def routing_coverage(raw: dict[str, Any]) -> RoutingCoverage:
    return RoutingCoverage(frozenset((raw.get("routingCoverage") or {}).get("failOn") or ()))


def name_tables(raw: dict[str, Any]) -> NameTables:
    def lookup(entry: dict[str, Any]) -> Lookup:
        return Lookup(entry.get("name"), entry.get("id"))

    return NameTables(
        alert_sources={key: lookup(entry) for key, entry in (raw.get("alertSources") or {}).items()},
        references={
            key: ReferenceDecl(entry.get("attribute"), entry.get("id"), entry.get("subject"))
            for key, entry in (raw.get("references") or {}).items()
        },
        escalation_paths={key: lookup(entry) for key, entry in (raw.get("escalationPaths") or {}).items()},
        slack_channels={
            key: entry["id"] if isinstance(entry, dict) else entry
            for key, entry in (raw.get("slackChannels") or {}).items()
        },
    )


def route_declarations(raw: dict[str, Any]) -> tuple[RouteDecl, ...]:
    return tuple(
        RouteDecl(
            name=route["name"],
            key=route.get("key") or resource_key(route["name"]),
            sources=tuple(SourceMatch(m["source"], _conditions(m.get("when"))) for m in route["sources"]),
            when=_conditions(route.get("when")),
            escalation=route.get("escalation"),
            slack=route.get("slack"),
            enabled=route.get("enabled", True),
            id=route.get("id"),
            raw=route.get("raw") or {},
            previous_keys=tuple(route.get("previousKeys") or ()),
            grouping_keys=tuple((route.get("grouping") or {}).get("keys") or ()),
            grouping_window_seconds=(route.get("grouping") or {}).get("windowSeconds"),
            grouping_window_type=(route.get("grouping") or {}).get("windowType"),
            when_alert_joins_group=_when_alert_joins_group(route.get("whenAlertJoinsGroup")),
            slack_group_alerts_summary=bool(route.get("slackGroupAlertsSummary")),
        )
        for route in raw["routes"]
    )


def _when_alert_joins_group(raw: dict[str, Any] | None) -> WhenAlertJoinsGroup | None:
    return None if raw is None else WhenAlertJoinsGroup(raw["mode"], raw.get("gracePeriodSeconds"))


def parse_settings(stack: str, raw: dict[str, Any], locate: Locate = _nowhere, files: str = "") -> StackSettings:
    """Check a stack's config (keys without the project prefix) and turn it into settings. `locate` names the
    file and line of a value that a routes file declares, `files` the files problems are in (the stack file
    alone by default)."""
    problems = _schema_problems(raw, SETTINGS_SCHEMA, locate)
    if problems:
        raise SettingsError(stack, problems, files)
    problems = _reference_problems(raw, locate) + routing_test_problems(raw, locate) + _placeholders(raw, "config")
    if problems:
        raise SettingsError(stack, problems, files)
    external = raw["externalSecret"]
    alertmanager = raw["alertmanager"]
    return StackSettings(
        stack=stack,
        environment=raw["environment"],
        names=name_tables(raw),
        alertmanager_source=raw["alertmanagerSource"],
        checkly_source=raw["checklySource"],
        routes=route_declarations(raw),
        aws_account_id=raw["aws"]["accountId"],
        aws_region=raw["aws"].get("region", "us-east-1"),
        aws_secret_name=raw["aws"]["secretName"],
        aws_secret_import_arn=raw["aws"].get("secretImportArn"),
        external_secret_name=external.get("name", "alertmanager-incidentio"),
        external_secret_namespace=external.get("namespace", "monitoring"),
        secret_store_name=external["storeName"],
        secret_store_kind=external.get("storeKind", "ClusterSecretStore"),
        refresh_interval=external.get("refreshInterval", "1h"),
        alertmanager_name=alertmanager["name"],
        alertmanager_namespace=alertmanager.get("namespace", "monitoring"),
        restart_alertmanager_on_token_change=alertmanager.get("restartOnTokenChange", True),
        routing_tests=routing_tests(raw, locate),
        routing_coverage=routing_coverage(raw),
    )
