"""The alert routes of one stack, as AlertRoute resources under one component."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pulumi

from components.settings import RouteDecl
from providers.incident_io import AlertRoute
from providers.ownership import Declaration, RouteOwnership


@dataclass(frozen=True)
class AlertRoutingArgs:
    routes: tuple[RouteDecl, ...]
    # Each route's v2 payload (components.route_compiler), in the order of `routes`: the payloads the
    # routing tests ran on, so that what is written is what was tested.
    payloads: tuple[dict[str, Any], ...]
    # The project and stack, recorded with each route's claim in incident.io (who manages it).
    project: str
    stack: str
    # The routes the org's other stacks declare (components.ownership): never adopted, handed over when dropped.
    declared_elsewhere: tuple[Declaration, ...] = ()
    # Each route's settings only the v3 API can say (components.route_compiler.compile_v3_settings), in the
    # order of `routes`; none (or {}) for a route that says none of them.
    v3_settings: tuple[dict[str, Any], ...] = ()


def _warn(route: AlertRoute, message: str | None) -> None:
    # The provider cannot warn from its own process; the program can, once the route is written.
    if message:
        pulumi.log.warn(message, resource=route)


class AlertRouting(pulumi.ComponentResource):
    route_ids: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: AlertRoutingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("unkey:incidentio:AlertRouting", name, None, opts)
        self.routes: dict[str, AlertRoute] = {}
        # Checked before any route (they depend on it), so that the provider knows what the other stacks
        # declare before it adopts or deletes anything.
        ownership = RouteOwnership(
            "routes-declared-elsewhere", args.declared_elsewhere, pulumi.ResourceOptions(parent=self)
        )
        v3_settings = args.v3_settings or tuple({} for _ in args.routes)
        for route, payload, v3 in zip(args.routes, args.payloads, v3_settings, strict=True):
            resource = AlertRoute(
                route.key,
                payload,
                # A key the route had before names the same resource: an update in place, not a new
                # route plus the deletion of the old one.
                pulumi.ResourceOptions(
                    parent=self,
                    aliases=[pulumi.Alias(name=previous) for previous in route.previous_keys],
                    depends_on=[ownership],
                ),
                # Take over the live route on the first `up` instead of creating a duplicate. (Not
                # Pulumi's `import`: the engine cannot import dynamic resources, pulumi/pulumi#16175.)
                adopt_id=route.id,
                owner={"project": args.project, "stack": args.stack, "key": route.key},
                v3=v3 or None,
            )
            resource.claim_error.apply(functools.partial(_warn, resource))
            resource.answer_differs.apply(functools.partial(_warn, resource))
            self.routes[route.name] = resource
        # Output.all() of no outputs is a list, not a dict: a stack that declares no route is a stack too.
        self.route_ids = (
            pulumi.Output.all(**{name: resource.id for name, resource in self.routes.items()}).apply(
                lambda ids: dict(sorted(ids.items()))
            )
            if self.routes
            else pulumi.Output.from_input({})
        )
        self.register_outputs({"route_ids": self.route_ids})
