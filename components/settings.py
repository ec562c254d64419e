"""A stack's settings: read from its config, checked, and explained when wrong.

Every value that is specific to the incident.io org or the cluster lives in the stack file. A value
the committed file cannot know is written as `SET-ME: <how to find it>`; the program refuses to run
until each is set, and lists them all at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jsonschema

PLACEHOLDER = "SET-ME"

_NAME = {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"}
_NONEMPTY = {"type": "string", "minLength": 1}

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

ROUTE_SCHEMA = {
    "type": "object",
    "properties": {
        "name": _NONEMPTY,
        "key": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*$"},
        "id": {"type": "string", "pattern": r"^[0-9A-Z]{26}$"},
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
        "raw": {"type": "object"},
    },
    "required": ["name", "sources"],
    "additionalProperties": False,
}

_SETTINGS_PROPERTIES: dict[str, Any] = {
    "environment": {"enum": ["production", "staging"]},
    "alertSources": {
        "type": "object",
        "minProperties": 1,
        "propertyNames": _NAME,
        "additionalProperties": {
            "type": "object",
            "properties": {"name": _NONEMPTY, "id": {"type": "string", "pattern": r"^[0-9A-Z]{26}$"}},
            "required": ["name"],
            "additionalProperties": False,
        },
    },
    "alertmanagerSource": _NAME,
    "checklySource": _NAME,
    "references": {"type": "object", "propertyNames": _NAME, "additionalProperties": _NONEMPTY},
    "escalationPaths": {"type": "object", "propertyNames": _NAME, "additionalProperties": _NONEMPTY},
    "slackChannels": {"type": "object", "propertyNames": _NAME, "additionalProperties": _NONEMPTY},
    "routes": {"type": "array", "items": ROUTE_SCHEMA},
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


class SettingsError(ValueError):
    """The stack config is wrong; the message lists every problem with its config key."""

    def __init__(self, stack: str, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n  - ".join(problems)
        super().__init__(f"stack {stack!r}: the stack config (Pulumi.{stack}.yaml) needs fixing:\n  - {listed}")


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


@dataclass(frozen=True)
class RouteVocabulary:
    """The names route declarations use, each mapped to the value incident.io knows."""

    references: dict[str, str]
    escalation_paths: dict[str, str]
    slack_channels: dict[str, str]


@dataclass(frozen=True)
class SourceRef:
    name: str
    id: str | None = None


@dataclass(frozen=True)
class StackSettings:
    stack: str
    environment: str
    alert_sources: dict[str, SourceRef]
    alertmanager_source: str
    checkly_source: str
    vocabulary: RouteVocabulary
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
        for position, condition in enumerate(route.get("when") or []):
            check("reference", condition["reference"], f"{label}.when[{position}].reference")
        for source_index, match in enumerate(route["sources"]):
            check("source", match["source"], f"{label}.sources[{source_index}].source")
            for position, condition in enumerate(match.get("when") or []):
                check(
                    "reference", condition["reference"], f"{label}.sources[{source_index}].when[{position}].reference"
                )
    names = [route["name"] for route in raw["routes"]]
    for duplicate in sorted({name for name in names if names.count(name) > 1}):
        problems.append(f"routes: the name {duplicate!r} is used twice; route names must be unique in a stack")
    keys = [route.get("key") or resource_key(route["name"]) for route in raw["routes"]]
    for duplicate in sorted({key for key in keys if keys.count(key) > 1}):
        problems.append(f"routes: two routes share the resource key {duplicate!r}; give one of them another `key`")
    return problems


def resource_key(route_name: str) -> str:
    """The Pulumi resource name of a route: its name, lower-cased and hyphenated."""
    return "-".join("".join(ch if ch.isalnum() else " " for ch in route_name.lower()).split())


def route_config_problems(raw: dict[str, Any]) -> list[str]:
    """Problems in the route-declaring part of a stack config alone (see ROUTE_CONFIG_KEYS)."""
    return _schema_problems(raw, ROUTE_CONFIG_SCHEMA) or _reference_problems(raw)


def route_vocabulary(raw: dict[str, Any]) -> RouteVocabulary:
    return RouteVocabulary(
        references=dict(raw.get("references") or {}),
        escalation_paths=dict(raw.get("escalationPaths") or {}),
        slack_channels=dict(raw.get("slackChannels") or {}),
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
        )
        for route in raw["routes"]
    )


def parse_settings(stack: str, raw: dict[str, Any]) -> StackSettings:
    """Check a stack's config (keys without the project prefix) and turn it into settings."""
    problems = _schema_problems(raw, SETTINGS_SCHEMA)
    if problems:
        raise SettingsError(stack, problems)
    problems = _reference_problems(raw) + _placeholders(raw, "config")
    if problems:
        raise SettingsError(stack, problems)
    external = raw["externalSecret"]
    alertmanager = raw["alertmanager"]
    return StackSettings(
        stack=stack,
        environment=raw["environment"],
        alert_sources={key: SourceRef(value["name"], value.get("id")) for key, value in raw["alertSources"].items()},
        alertmanager_source=raw["alertmanagerSource"],
        checkly_source=raw["checklySource"],
        vocabulary=route_vocabulary(raw),
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
    )
