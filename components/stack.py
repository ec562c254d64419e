"""One environment's alert routing: settings in, resources and stack outputs out."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pulumi

from components.alert_routing import AlertRouting, AlertRoutingArgs
from components.alert_source_secret import AlertSourceSecret, AlertSourceSecretArgs, alertmanager_receiver
from components.names import Resolved, needed, resolve
from components.ownership import declared_elsewhere
from components.pulumi_sdk import quiet_engine_shutdown
from components.route_compiler import compile_v3_settings
from components.routes_file import PROJECT_DIR, RoutesFileError, read_routes_file, with_routes_file
from components.routing_tests import compiled_routes, verify
from components.settings import ConfigProblemsError, SettingsError, StackSettings, parse_settings
from providers.api import API_NOT_YET_AVAILABLE, ROUTES_V3, IncidentIoApi
from providers.directory import ApiKeyError, check_api_key, fetch_directory, open_api, source_info
from providers.http import Credentials, IncidentIoError

TEXT_KEYS = ("environment", "alertmanagerSource", "checklySource")
OBJECT_KEYS = (
    "alertSources",
    "references",
    "escalationPaths",
    "slackChannels",
    "routes",
    "routingTests",
    "routingCoverage",
    "aws",
    "externalSecret",
    "alertmanager",
)


def read_settings() -> StackSettings:
    config = pulumi.Config()
    raw: dict[str, Any] = {}
    for key in TEXT_KEYS + OBJECT_KEYS:
        value = config.get(key) if key in TEXT_KEYS else config.get_object(key)
        if value is not None:
            raw[key] = value
    return settings_of(pulumi.get_stack(), raw)


def settings_of(stack: str, raw: dict[str, Any], project_dir: Path = PROJECT_DIR) -> StackSettings:
    """The stack config (keys without the project prefix), with the keys of the stack's routes file
    (routes/<stack>.yaml) when it has one, checked."""
    try:
        declared = with_routes_file(stack, raw, read_routes_file(stack, project_dir))
    except RoutesFileError as error:
        raise SettingsError(stack, [str(error)]) from None
    files = f"Pulumi.{stack}.yaml" + (f" and {declared.routes_file.name}" if declared.routes_file else "")
    settings = parse_settings(stack, declared.values, declared.locate, files)
    return dataclasses.replace(
        settings,
        routes_file=declared.file_of("routes", stack),
        routing_tests_file=declared.file_of("routingTests", stack),
    )


def incident_io_credentials() -> Credentials:
    # The program checks the key and looks names up while it runs (preview included), with the same
    # key the provider uses: stack config first, then the environment.
    config = pulumi.Config("incidentio")
    return Credentials.resolve(config.get("apiKey"), config.get("apiUrl"))


class NotMigratedError(ConfigProblemsError):
    """Route options that need incident.io's new alert grouping engine, in an org not on it yet."""

    def __init__(self, stack: str, problems: list[str]) -> None:
        super().__init__(
            f"stack {stack!r}: Pulumi.{stack}.yaml declares route options that only an incident.io org on the new "
            f"alert grouping engine has, and this org is not on it (GET {ROUTES_V3} answered 403 "
            f"{API_NOT_YET_AVAILABLE}); take them out until incident.io moves the org (docs/grouping.md)",
            problems,
        )


def refuse_new_engine_options(settings: StackSettings, api: IncidentIoApi) -> None:
    """Stop before any resource when a route declares what only an org on the new grouping engine has, and
    the org is not on it. The org is asked only when some route declares such an option."""
    declared = [
        (index, route, option) for index, route in enumerate(settings.routes) for option in route.new_engine_options()
    ]
    if declared and not api.migrated():
        raise NotMigratedError(
            settings.stack,
            [f"routes[{index}] ({route.name}).{option}" for index, route, option in declared],
        )


def resolve_names(settings: StackSettings) -> Resolved:
    """Check the key, then resolve every name in the config: one list per kind, before any resource."""
    try:
        # Retries are announced: a program waiting on an unreachable API says so instead of hanging.
        api = open_api(incident_io_credentials(), on_retry=pulumi.log.warn)
    except IncidentIoError as error:
        raise pulumi.RunError(f"stack {settings.stack!r}: {error}") from None
    try:
        check_api_key(api)
        kinds = needed(settings.names)
        directory = fetch_directory(
            api, sources=kinds.sources, attributes=kinds.attributes, escalation_paths=kinds.escalation_paths
        )
        resolved = resolve(settings.names, directory)
        refuse_new_engine_options(settings, api)
        return resolved
    except (ApiKeyError, IncidentIoError) as error:
        # A clear stop, without a stack trace: the message says what to fix.
        raise pulumi.RunError(f"stack {settings.stack!r}: {error}") from None
    finally:
        api.client.close()


def build_stack(settings: StackSettings) -> None:
    quiet_engine_shutdown()
    # What the other stacks declare, from their files in this commit: before any API call, since a route
    # two stacks declare is a mistake in the change itself.
    elsewhere = declared_elsewhere(
        settings.stack, pulumi.get_project(), settings.routes, own_file=settings.file_of_routes()
    )
    resolved = resolve_names(settings)
    routes = compiled_routes(settings.routes, resolved.vocabulary, resolved.source_ids)
    # The routing tests run on the payloads `up` writes, before any resource exists: a failing test
    # stops the run with nothing changed.
    routing_matrix = verify(
        settings.stack,
        routes,
        settings.routing_tests,
        settings.routing_coverage,
        warn=pulumi.log.warn,
        tests_file=settings.file_of_routing_tests(),
    )
    alertmanager = source_info(resolved.sources[settings.alertmanager_source])
    checkly = source_info(resolved.sources[settings.checkly_source])

    routing = AlertRouting(
        settings.environment,
        AlertRoutingArgs(
            routes=settings.routes,
            payloads=routes.payloads,
            project=pulumi.get_project(),
            stack=settings.stack,
            declared_elsewhere=tuple(elsewhere),
            v3_settings=tuple(compile_v3_settings(route, resolved.vocabulary) for route in settings.routes),
        ),
    )
    secret = AlertSourceSecret(
        settings.environment,
        AlertSourceSecretArgs(
            settings=settings, token=alertmanager.secret_token, source_url=alertmanager.alert_events_url
        ),
    )

    pulumi.export(
        "alertSourceUrls", {"alertmanager": alertmanager.alert_events_url, "checkly": checkly.alert_events_url}
    )
    pulumi.export("routeIds", routing.route_ids)
    pulumi.export("routingMatrix", routing_matrix)
    pulumi.export("awsSecretArn", secret.secret_arn)
    pulumi.export(
        "externalSecret", {"name": settings.external_secret_name, "namespace": settings.external_secret_namespace}
    )
    pulumi.export("alertmanagerReceiver", alertmanager_receiver(settings))
    pulumi.export("tokenVersion", secret.token_version)
