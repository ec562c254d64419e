"""`./scripts/sandbox.sh dashboard ACTION ...`: what a person does in incident.io's dashboard, done to the sandbox.

Each action goes through the API, in the API's own shapes, the way a save in the dashboard changes a route: the
route is read (GET /v2/alert_routes/{id}), its answer turned into the update payload that means the same route
(providers.alert_route_spec.from_live), the one field changed, and the whole route written back with the detail
version + 1 (PUT). So the provider meets exactly what it meets after a real edit: a new version, a changed
field, the rest as the API answers it. A copy is a create (POST) of the route's payload under a new name, a
delete is a DELETE. Rotating a source's token has no public API call: the emulator's own
POST /_emulator/alert_sources/{id}/rotate_token does what the dashboard's "rotate token" does.

Routes and sources are named by their name (as the dashboard shows it) or their id.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from typing import Any

from providers.alert_route_spec import from_live
from providers.api import IncidentIoApi, JsonDict
from providers.http import ApiClient, Credentials, IncidentIoError
from tests.sandbox.sandbox import API_KEY, Sandbox, SandboxError, say


def connect(sandbox: Sandbox) -> IncidentIoApi:
    url = sandbox.url()
    if url is None:
        raise SandboxError(f"the sandbox is down ({sandbox.shown()}): start it with ./scripts/sandbox.sh up")
    return IncidentIoApi(ApiClient(Credentials(api_key=API_KEY, api_url=url), max_retries=1))


def find_route(api: IncidentIoApi, wanted: str) -> JsonDict:
    """The route with this id, or with this name (exactly one), read from the detail endpoint."""
    listed = list(api.list_routes())
    matches = [entry for entry in listed if entry["id"] == wanted] or [
        entry for entry in listed if entry["name"] == wanted
    ]
    if len(matches) != 1:
        known = ", ".join(f"{entry['name']!r} ({entry['id']})" for entry in listed) or "none"
        problem = "several routes are" if matches else "no route is"
        raise SandboxError(f"{problem} named {wanted!r}; name one by its id. Routes: {known}")
    return api.get_route(str(matches[0]["id"]))


def find_source(api: IncidentIoApi, wanted: str) -> JsonDict:
    sources = list(api.list_sources())
    matches = [source for source in sources if wanted in (source["id"], source["name"])]
    if len(matches) != 1:
        known = ", ".join(f"{source['name']!r}" for source in sources)
        raise SandboxError(f"no single alert source is named {wanted!r}. Sources: {known}")
    return matches[0]


def _label(route: JsonDict) -> str:
    return f"{route['name']} ({route['id']})"


def save(api: IncidentIoApi, route: JsonDict, change: Callable[[JsonDict], str]) -> None:
    """A dashboard save: the route as read, with `change` applied (it says what it changed), written back with
    version + 1."""
    payload = from_live(route)
    what = change(payload)
    saved = api.update_route(str(route["id"]), payload, int(route["version"]) + 1)
    say(f"{_label(route)}: {what}; version {route['version']} -> {saved['version']}")


def _conditions(value: Any) -> Iterator[JsonDict]:
    """Every condition of a payload, wherever it sits (per source, the route's, channels', incident's)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "conditions" and isinstance(item, list):
                yield from (condition for condition in item if isinstance(condition, dict))
            else:
                yield from _conditions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _conditions(item)


# -- the actions ------------------------------------------------------------------------------------------------


def list_routes(api: IncidentIoApi, args: argparse.Namespace) -> None:
    for entry in api.list_routes():
        route = api.get_route(str(entry["id"]))
        state = "enabled" if route["enabled"] else "disabled"
        say(f"{route['id']}  {route['name']}  ({state}, version {route['version']})")


def show(api: IncidentIoApi, args: argparse.Namespace) -> None:
    say(json.dumps(find_route(api, args.route), indent=2, sort_keys=True))


def set_enabled(enabled: bool) -> Callable[[IncidentIoApi, argparse.Namespace], None]:
    def action(api: IncidentIoApi, args: argparse.Namespace) -> None:
        route = find_route(api, args.route)

        def change(payload: JsonDict) -> str:
            before = payload["enabled"]
            payload["enabled"] = enabled
            return f"enabled {json.dumps(before)} -> {json.dumps(enabled)}"

        save(api, route, change)

    return action


def rename(api: IncidentIoApi, args: argparse.Namespace) -> None:
    route = find_route(api, args.route)

    def change(payload: JsonDict) -> str:
        before = payload["name"]
        payload["name"] = args.new_name
        return f"name {before!r} -> {args.new_name!r}"

    save(api, route, change)


def condition(api: IncidentIoApi, args: argparse.Namespace) -> None:
    route = find_route(api, args.route)
    attributes = {attribute["name"]: attribute["id"] for attribute in api.list_alert_attributes()}
    if args.attribute not in attributes:
        raise SandboxError(f"no alert attribute named {args.attribute!r}; attributes: {', '.join(sorted(attributes))}")
    subject = f"alert.attributes.{attributes[args.attribute]}"
    values = [value for value in args.values.split(",") if value]

    def change(payload: JsonDict) -> str:
        found = [item for item in _conditions(payload) if item.get("subject") == subject]
        if not found:
            raise SandboxError(f"{_label(route)} has no condition on {args.attribute!r}")
        shown = []
        for item in found:
            bindings = item.get("param_bindings") or []
            before = [entry.get("literal") for binding in bindings for entry in binding.get("array_value") or []]
            item["param_bindings"] = [{"array_value": [{"literal": value} for value in values]}]
            shown.append(f"{args.attribute} {item['operation']} {before} -> {values}")
        return "; ".join(shown)

    save(api, route, change)


def delete(api: IncidentIoApi, args: argparse.Namespace) -> None:
    route = find_route(api, args.route)
    api.delete_route(str(route["id"]))
    say(f"{_label(route)}: deleted")


def copy_route(api: IncidentIoApi, args: argparse.Namespace) -> None:
    route = find_route(api, args.route)
    payload = from_live(route)
    payload["name"] = args.new_name or f"{route['name']} (copy)"
    created = api.create_route(payload)
    say(f"{_label(route)}: copied as {_label(created)}")


def rotate_token(api: IncidentIoApi, args: argparse.Namespace) -> None:
    source = find_source(api, args.source)
    api.client.request("POST", f"/_emulator/alert_sources/{source['id']}/rotate_token")
    say(
        f"{source['name']} ({source['id']}): token rotated (the new one is not shown). "
        "The stack of its environment writes the new one to AWS on its next `up`."
    )


Action = Callable[[IncidentIoApi, argparse.Namespace], None]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="act as someone in incident.io's dashboard (disable, rename, edit, delete, copy a route; rotate a token)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, run: Action, help_text: str, *arguments: tuple[str, str]) -> None:
        sub = actions.add_parser(name, help=help_text, description=help_text)
        for argument, argument_help in arguments:
            optional = argument.startswith("[")
            sub.add_argument(argument.strip("[]"), nargs="?" if optional else None, help=argument_help)
        sub.set_defaults(run=run)

    route = ("route", "the route's name as the dashboard shows it, or its id")
    action("list", list_routes, "the routes: id, name, enabled, version")
    action("show", show, "a route as the API answers it (GET /v2/alert_routes/{id})", route)
    action("disable", set_enabled(False), "turn a route off", route)
    action("enable", set_enabled(True), "turn a route on", route)
    action("rename", rename, "give a route a new name", route, ("new_name", "the new name"))
    action(
        "condition",
        condition,
        "set the values a route's conditions on an alert attribute test, e.g. "
        '`condition "Production Warnings" severity warning,error`',
        route,
        ("attribute", "the alert attribute's name (GET /v2/alert_attributes), e.g. severity"),
        ("values", "the new values, comma-separated"),
    )
    action("delete", delete, "delete a route", route)
    new_name = ("[new_name]", "default: NAME (copy)")
    action("copy", copy_route, "copy a route (a new route, same settings)", route, new_name)
    action(
        "rotate-token",
        rotate_token,
        "rotate an alert source's token, as its settings page does",
        ("source", "the alert source's name, e.g. 'Alertmanager (Production)', or its id"),
    )


def run(sandbox: Sandbox, args: argparse.Namespace) -> int:
    api = connect(sandbox)
    try:
        args.run(api, args)
    except IncidentIoError as error:
        raise SandboxError(f"the API refused: {error}") from None
    finally:
        api.client.close()
    return 0
