"""The alert routes of one stack, as AlertRoute resources under one component."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pulumi

from components.settings import RouteDecl
from providers.incident_io import AlertRoute


@dataclass(frozen=True)
class AlertRoutingArgs:
    routes: tuple[RouteDecl, ...]
    # Each route's v2 payload (components.route_compiler), in the order of `routes`: the payloads the
    # routing tests ran on, so that what is written is what was tested.
    payloads: tuple[dict[str, Any], ...]


def _warn(route: AlertRoute, message: str | None) -> None:
    # The provider cannot warn from its own process; the program can, once the route is written.
    if message:
        pulumi.log.warn(message, resource=route)


class AlertRouting(pulumi.ComponentResource):
    route_ids: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: AlertRoutingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("unkey:incidentio:AlertRouting", name, None, opts)
        self.routes: dict[str, AlertRoute] = {}
        for route, payload in zip(args.routes, args.payloads, strict=True):
            resource = AlertRoute(
                route.key,
                payload,
                # A key the route had before names the same resource: an update in place, not a new
                # route plus the deletion of the old one.
                pulumi.ResourceOptions(
                    parent=self, aliases=[pulumi.Alias(name=previous) for previous in route.previous_keys]
                ),
                # Take over the live route on the first `up` instead of creating a duplicate. (Not
                # Pulumi's `import`: the engine cannot import dynamic resources, pulumi/pulumi#16175.)
                adopt_id=route.id,
            )
            resource.claim_error.apply(functools.partial(_warn, resource))
            resource.answer_differs.apply(functools.partial(_warn, resource))
            self.routes[route.name] = resource
        self.route_ids = pulumi.Output.all(**{name: resource.id for name, resource in self.routes.items()}).apply(
            lambda ids: dict(sorted(ids.items()))
        )
        self.register_outputs({"route_ids": self.route_ids})
