"""The alert routes of one stack, as AlertRoute resources under one component."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.route_compiler import compile_route
from components.settings import StackSettings
from providers.incident_io import AlertRoute


@dataclass(frozen=True)
class AlertRoutingArgs:
    settings: StackSettings
    source_ids: dict[str, str]


class AlertRouting(pulumi.ComponentResource):
    route_ids: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: AlertRoutingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("unkey:incidentio:AlertRouting", name, None, opts)
        self.routes: dict[str, AlertRoute] = {}
        for route in args.settings.routes:
            self.routes[route.name] = AlertRoute(
                route.key,
                compile_route(route, args.settings.vocabulary, args.source_ids),
                # Adopt the live route on the first `up` instead of creating a duplicate.
                pulumi.ResourceOptions(parent=self, import_=route.id),
            )
        self.route_ids = pulumi.Output.all(**{name: resource.id for name, resource in self.routes.items()}).apply(
            lambda ids: dict(sorted(ids.items()))
        )
        self.register_outputs({"route_ids": self.route_ids})
