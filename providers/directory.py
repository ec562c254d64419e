"""What names in a stack config resolve against: the org's alert sources, alert attributes and
escalation paths, each listed once (all pages), and the API key's own identity."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from providers.api import IncidentIoApi
from providers.http import ApiClient, Credentials, IncidentIoError

JsonDict = dict[str, Any]

# The runbook's scopes ("Creating an API key") as GET /v1/identity names them. `viewer` is described
# by the API as "can view data, like public incidents and organization settings"; on_call_editor
# is the role for "Create and manage on-call resources".
REQUIRED_ROLES = {
    "viewer": "View data, like public incidents and organization settings",
    "on_call_editor": "Create and manage on-call resources",
}


class ApiKeyError(Exception):
    """The API key cannot do what the program needs; the message says what is missing and where to fix it."""


@dataclass(frozen=True)
class AlertSourceInfo:
    id: str
    name: str
    alert_events_url: str
    secret_token: str = field(repr=False)


@dataclass
class Directory:
    """The org's objects that stack config names refer to. None: that kind was not needed, so not listed."""

    sources: list[JsonDict] | None = None
    attributes: list[JsonDict] | None = None
    escalation_paths: list[JsonDict] | None = None


def open_api(credentials: Credentials, on_retry: Callable[[str], None] | None = None) -> IncidentIoApi:
    return IncidentIoApi(ApiClient(credentials, on_retry=on_retry))


def check_api_key(api: IncidentIoApi, required: dict[str, str] | None = None) -> JsonDict:
    """The key's identity, once it is known to be valid and to hold the roles named in `required`."""
    required = REQUIRED_ROLES if required is None else required
    try:
        identity = api.identity()
    except IncidentIoError as error:
        if error.status == 401:
            raise ApiKeyError(
                "the incident.io API key was refused (HTTP 401): it is wrong, revoked or expired. Create one with "
                f"the scopes {_scopes(required.values())} in the incident.io dashboard (Settings, API keys: "
                "https://app.incident.io/<your org>/settings/api-keys/create) and set it in "
                f"{api.client.credentials_setting}"
            ) from None
        raise
    roles = set(identity.get("roles") or [])
    missing = {role: scope for role, scope in required.items() if role not in roles}
    if missing:
        dashboard = str(identity.get("dashboard_url") or "https://app.incident.io").rstrip("/")
        raise ApiKeyError(
            f"the incident.io API key {identity.get('name')!r} lacks the scope(s) {_scopes(missing.values())} "
            f"(its roles: {', '.join(sorted(roles)) or 'none'}). Edit the key, or create one with "
            f"{_scopes(required.values())}, at {dashboard}/settings/api-keys"
        )
    return identity


def _scopes(scopes: Iterable[str]) -> str:
    return " and ".join(f'"{scope}"' for scope in scopes)


def fetch_directory(api: IncidentIoApi, *, sources: bool, attributes: bool, escalation_paths: bool) -> Directory:
    """One list per kind asked for, whatever the number of routes that use it."""
    return Directory(
        sources=list(api.list_sources()) if sources else None,
        attributes=api.list_alert_attributes() if attributes else None,
        escalation_paths=list(api.list_escalation_paths()) if escalation_paths else None,
    )


def source_info(source: JsonDict) -> AlertSourceInfo:
    return AlertSourceInfo(
        id=str(source["id"]),
        name=str(source["name"]),
        alert_events_url=str(source.get("alert_events_url", "")),
        secret_token=str(source.get("secret_token", "")),
    )
