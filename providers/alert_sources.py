"""Alert sources looked up by name (and, where known, id) for a Pulumi program."""

from __future__ import annotations

from dataclasses import dataclass, field

from providers.api import IncidentIoApi
from providers.http import ApiClient, Credentials


@dataclass(frozen=True)
class AlertSourceInfo:
    id: str
    name: str
    alert_events_url: str
    secret_token: str = field(repr=False)


class AlertSourceLookupError(LookupError):
    pass


def find_alert_sources(
    credentials: Credentials, wanted: dict[str, tuple[str, str | None]]
) -> dict[str, AlertSourceInfo]:
    """`wanted` maps a logical name to (alert source name, expected id or None). One API call."""
    client = ApiClient(credentials)
    try:
        live = list(IncidentIoApi(client).list_sources())
    finally:
        client.close()
    by_name: dict[str, list[dict[str, str]]] = {}
    for source in live:
        by_name.setdefault(source["name"], []).append(source)
    found: dict[str, AlertSourceInfo] = {}
    problems: list[str] = []
    for key, (name, expected_id) in wanted.items():
        matches = by_name.get(name, [])
        if expected_id is not None:
            matches = [source for source in matches if source["id"] == expected_id]
        if len(matches) != 1:
            what = "no" if not matches else f"{len(matches)}"
            hint = f" with id {expected_id}" if expected_id else ""
            known = ", ".join(sorted(by_name)) or "none"
            problems.append(
                f"alertSources.{key}: {what} alert source named {name!r}{hint} in incident.io"
                + (" (add its id to tell them apart)" if len(matches) > 1 else f" (sources there: {known})")
            )
            continue
        source = matches[0]
        found[key] = AlertSourceInfo(
            id=source["id"],
            name=source["name"],
            alert_events_url=source.get("alert_events_url", ""),
            secret_token=source.get("secret_token", ""),
        )
    if problems:
        raise AlertSourceLookupError("; ".join(problems))
    return found
