"""A stack's settings: read from its config, checked, and explained when wrong.

Every value that is specific to the incident.io org or the cluster lives in the stack file. A value
the committed file cannot know is written as `SET-ME: <how to find it>`; the program refuses to run
until each is set, and lists them all at once.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    """The stack config is wrong; the message lists every problem with its config key."""

    def __init__(self, stack: str, problems: list[str]) -> None:
        super().__init__(f"stack {stack!r}: the stack config (Pulumi.{stack}.yaml) needs fixing", problems)


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

    @property
    def label(self) -> str:
        return f"routingTests[{self.index}] ({self.alert.describe()})"


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
    name = raw["routes"][index].get("name") if isinstance(raw.get("routes"), list) else None
    return f"routes[{index}] ({name})" if name else f"routes[{index}]"


def _schema_problems(raw: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    problems = []
    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(raw), key=lambda e: list(map(str, e.absolute_path))):
        parts = list(error.absolute_path)
        where = _path(parts) or "(top level)"
        if len(parts) >= 2 and parts[0] == "routes" and isinstance(parts[1], int):
            where = _route_label(raw, parts[1]) + _suffix(parts[2:])
        problems.append(f"{where}: {error.message}")
    return problems


def _conditions(raw: list[dict[str, Any]] | None) -> tuple[Condition, ...]:
    return tuple(Condition(item["reference"], item["operation"], tuple(item.get("values") or ())) for item in raw or [])


def _reference_problems(raw: dict[str, Any]) -> list[str]:
    """Names used by routes must be declared: a typo fails the preview, not a page."""
    problems: list[str] = []
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

    def check_operation(condition: dict[str, Any], where: str) -> None:
        if condition["operation"] not in OPERATIONS:
            problems.append(f"{where}.operation: {operation_problem(condition['operation'])}")

    def check(kind: str, name: str | None, where: str) -> None:
        if name is not None and name not in known[kind]:
            choices = ", ".join(sorted(known[kind])) or "none declared"
            problems.append(f"{where}: unknown {kind} {name!r}; declare it under {config_key[kind]} (known: {choices})")

    for key in ("alertmanagerSource", "checklySource"):
        if key in raw:
            check("source", raw[key], key)
    for index, route in enumerate(raw["routes"]):
        label = _route_label(raw, index)
        check("escalation", route.get("escalation"), f"{label}.escalation")
        check("slack", route.get("slack"), f"{label}.slack")
        for position, key in enumerate((route.get("grouping") or {}).get("keys") or []):
            check("reference", key, f"{label}.grouping.keys[{position}]")
        problems += _grouping_problems(route, label)
        for position, condition in enumerate(route.get("when") or []):
            check("reference", condition["reference"], f"{label}.when[{position}].reference")
            check_operation(condition, f"{label}.when[{position}]")
        for source_index, match in enumerate(route["sources"]):
            check("source", match["source"], f"{label}.sources[{source_index}].source")
            for position, condition in enumerate(match.get("when") or []):
                where = f"{label}.sources[{source_index}].when[{position}]"
                check("reference", condition["reference"], f"{where}.reference")
                check_operation(condition, where)
    names = [route["name"] for route in raw["routes"]]
    for duplicate in sorted({name for name in names if names.count(name) > 1}):
        problems.append(f"routes: the name {duplicate!r} is used twice; route names must be unique in a stack")
    keys = [route.get("key") or resource_key(route["name"]) for route in raw["routes"]]
    for index, key in enumerate(keys):
        if not key:
            problems.append(
                f"{_route_label(raw, index)}: its name has no letter or digit to make its resource key from; give it "
                "a `key` (lower-case letters, digits and -)"
            )
    for duplicate in sorted({key for key in keys if keys.count(key) > 1}):
        problems.append(f"routes: two routes share the resource key {duplicate!r}; give one of them another `key`")
    for index, route in enumerate(raw["routes"]):
        for previous in route.get("previousKeys") or []:
            if previous in keys:
                problems.append(
                    f"{_route_label(raw, index)}.previousKeys: {previous!r} is the key of a route in this stack; "
                    "a previous key must be one no route uses any more"
                )
    previous_keys = [previous for route in raw["routes"] for previous in route.get("previousKeys") or []]
    for duplicate in sorted({key for key in previous_keys if previous_keys.count(key) > 1}):
        problems.append(f"routes: the previous key {duplicate!r} is claimed by two routes; one route can continue it")
    ids = [route["id"] for route in raw["routes"] if route.get("id")]
    for duplicate in sorted({id_ for id_ in ids if ids.count(id_) > 1}):
        problems.append(f"routes: two routes adopt the id {duplicate}; each live route can be declared once")
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


def route_config_problems(raw: dict[str, Any]) -> list[str]:
    """Problems in the route-declaring part of a stack config alone (see ROUTE_CONFIG_KEYS)."""
    return _schema_problems(raw, ROUTE_CONFIG_SCHEMA) or _reference_problems(raw)


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


def routing_test_problems(raw: dict[str, Any]) -> list[str]:
    """Problems in routingTests and routingCoverage: their shape, then every name the tests use. The
    route-declaring keys must be valid already (route_config_problems)."""
    problems = _schema_problems({key: raw[key] for key in ROUTING_TEST_KEYS if key in raw}, _ROUTING_TEST_KEYS_SCHEMA)
    if problems:
        return problems
    known = {
        "routes": ("route", [route["name"] for route in raw.get("routes") or []], "the names of routes"),
        "pages": ("escalation path", list(raw.get("escalationPaths") or {}), "the keys of escalationPaths"),
        "slack": ("Slack channel", list(raw.get("slackChannels") or {}), "the keys of slackChannels"),
    }
    for index, test in enumerate(raw.get("routingTests") or []):
        where = f"routingTests[{index}]"
        alert = test["alert"]
        problems += [
            f"{where}.alert.{path}: {problem}"
            for path, problem in alert_problems(alert["source"], alert.get("attributes") or {}, raw)
        ]
        for member, (kind, names, which) in known.items():
            problems += [
                f"{where}.expect.{member}: unknown {kind} {name!r}; known: {_known(names)} ({which})"
                for name in test["expect"].get(member) or []
                if name not in names
            ]
    return problems


def routing_tests(raw: dict[str, Any]) -> tuple[RoutingTest, ...]:
    def expectation(expect: dict[str, Any]) -> Expectation:
        given = {member: frozenset(names) for member, names in expect.items()}
        return Expectation(given.get("routes"), given.get("pages"), given.get("slack"))

    return tuple(
        RoutingTest(
            index,
            StackAlert.of(test["alert"]["source"], test["alert"].get("attributes")),
            expectation(test["expect"]),
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


def parse_settings(stack: str, raw: dict[str, Any]) -> StackSettings:
    """Check a stack's config (keys without the project prefix) and turn it into settings."""
    problems = _schema_problems(raw, SETTINGS_SCHEMA)
    if problems:
        raise SettingsError(stack, problems)
    problems = _reference_problems(raw) + routing_test_problems(raw) + _placeholders(raw, "config")
    if problems:
        raise SettingsError(stack, problems)
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
        routing_tests=routing_tests(raw),
        routing_coverage=routing_coverage(raw),
    )
