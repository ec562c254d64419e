"""The alert routes of one stack, as AlertRoute resources under one component."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pulumi

from components.route_compiler import compile_route
from components.settings import RouteDecl, RouteVocabulary
from providers.incident_io import AlertRoute


@dataclass(frozen=True)
class AlertRoutingArgs:
    routes: tuple[RouteDecl, ...]
    vocabulary: RouteVocabulary
    source_ids: dict[str, str]


def _warn(route: AlertRoute, message: str | None) -> None:
    # The provider cannot warn from its own process; the program can, once the route is written.
    if message:
        pulumi.log.warn(message, resource=route)


class AlertRouting(pulumi.ComponentResource):
    route_ids: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: AlertRoutingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("unkey:incidentio:AlertRouting", name, None, opts)
        self.routes: dict[str, AlertRoute] = {}
        for route in args.routes:
            resource = AlertRoute(
                route.key,
                compile_route(route, args.vocabulary, args.source_ids),
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
