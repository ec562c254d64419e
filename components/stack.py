"""One environment's alert routing: settings in, resources and stack outputs out."""

from __future__ import annotations

from typing import Any

import pulumi

from components.alert_routing import AlertRouting, AlertRoutingArgs
from components.alert_source_secret import AlertSourceSecret, AlertSourceSecretArgs, alertmanager_receiver
from components.settings import StackSettings, parse_settings
from providers.alert_sources import find_alert_sources
from providers.http import Credentials

TEXT_KEYS = ("environment", "alertmanagerSource", "checklySource")
OBJECT_KEYS = (
    "alertSources",
    "references",
    "escalationPaths",
    "slackChannels",
    "routes",
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
    return parse_settings(pulumi.get_stack(), raw)


def incident_io_credentials() -> Credentials:
    # The program reads alert sources while it runs (preview included), with the same key the
    # provider uses: stack config first, then the environment.
    config = pulumi.Config("incidentio")
    return Credentials.resolve(config.get("apiKey"), config.get("apiUrl"))


def build_stack(settings: StackSettings) -> None:
    sources = find_alert_sources(
        incident_io_credentials(), {key: (ref.name, ref.id) for key, ref in settings.alert_sources.items()}
    )
    alertmanager = sources[settings.alertmanager_source]
    checkly = sources[settings.checkly_source]

    routing = AlertRouting(
        settings.environment,
        AlertRoutingArgs(settings=settings, source_ids={key: source.id for key, source in sources.items()}),
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
    pulumi.export("awsSecretArn", secret.secret_arn)
    pulumi.export(
        "externalSecret", {"name": settings.external_secret_name, "namespace": settings.external_secret_namespace}
    )
    pulumi.export("alertmanagerReceiver", alertmanager_receiver(settings))
    pulumi.export("tokenVersion", secret.token_version)
