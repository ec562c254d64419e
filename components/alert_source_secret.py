"""An alert source token's way into Alertmanager: AWS Secrets Manager, then ExternalSecret, then a restart.

When the token changes, one `pulumi up` writes a new secret version, stamps the ExternalSecret so
External Secrets re-syncs at once (the runbook's `force-sync`), and stamps the Alertmanager pod
template so prometheus-operator rolls the pods, which read the token file only at start.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.settings import StackSettings

SECRETS_MOUNT = "/etc/alertmanager/secrets"
TOKEN_KEY = "token"  # noqa: S105 - a key name in the Kubernetes Secret, not a token
URL_KEY = "url"
TOKEN_PROPERTY = "alert_source_token"  # noqa: S105 - a JSON property name, not a token
URL_PROPERTY = "alert_source_url"
FORCE_SYNC_ANNOTATION = "force-sync"
RESTART_ANNOTATION = "unkey.dev/incident-io-token-version"


def token_version(token: str) -> str:
    """A short, non-reversible fingerprint of the token: changes when the token does."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AlertSourceSecretArgs:
    settings: StackSettings
    token: str
    source_url: str


class AlertSourceSecret(pulumi.ComponentResource):
    secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlertSourceSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("unkey:incidentio:AlertSourceSecret", name, None, opts)
        settings = args.settings
        version = token_version(args.token)
        self.token_version = version

        # An explicit provider pins the region and refuses to touch any account but this stack's.
        self.aws_provider = aws.Provider(
            "aws",
            region=settings.aws_region,
            allowed_account_ids=[settings.aws_account_id],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.secret = aws.secretsmanager.Secret(
            "alert-source-token",
            name=settings.aws_secret_name,
            description=f"incident.io alert source token for Alertmanager ({settings.environment}); managed by Pulumi",
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.aws_provider, import_=settings.aws_secret_import_arn, protect=True
            ),
        )
        self.secret_version = aws.secretsmanager.SecretVersion(
            "alert-source-token",
            secret_id=self.secret.id,
            secret_string=pulumi.Output.secret(
                json.dumps({TOKEN_PROPERTY: args.token, URL_PROPERTY: args.source_url}, sort_keys=True)
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=self.aws_provider),
        )

        def remote(secret_key: str, prop: str) -> dict[str, object]:
            return {"secretKey": secret_key, "remoteRef": {"key": settings.aws_secret_name, "property": prop}}

        self.external_secret = k8s.apiextensions.CustomResource(
            "alertmanager-incidentio",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata={
                "name": settings.external_secret_name,
                "namespace": settings.external_secret_namespace,
                "annotations": {FORCE_SYNC_ANNOTATION: version},
            },
            spec={
                "refreshInterval": settings.refresh_interval,
                "secretStoreRef": {"name": settings.secret_store_name, "kind": settings.secret_store_kind},
                "target": {"name": settings.external_secret_name, "creationPolicy": "Owner"},
                "data": [remote(TOKEN_KEY, TOKEN_PROPERTY), remote(URL_KEY, URL_PROPERTY)],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.secret_version]),
        )

        self.alertmanager_restart: k8s.apiextensions.CustomResourcePatch | None = None
        if settings.restart_alertmanager_on_token_change:
            self.alertmanager_restart = k8s.apiextensions.CustomResourcePatch(
                "alertmanager-token-restart",
                api_version="monitoring.coreos.com/v1",
                kind="Alertmanager",
                metadata={
                    "name": settings.alertmanager_name,
                    "namespace": settings.alertmanager_namespace,
                    "annotations": {"pulumi.com/patchForce": "true"},
                },
                spec={"podMetadata": {"annotations": {RESTART_ANNOTATION: version}}},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.external_secret]),
            )

        self.secret_arn = self.secret.arn
        self.register_outputs({"secret_arn": self.secret_arn, "token_version": version})


def alertmanager_receiver(settings: StackSettings) -> dict[str, object]:
    """The Alertmanager receiver: the same text in every environment, since the URL travels with the token."""
    directory = f"{SECRETS_MOUNT}/{settings.external_secret_name}"
    return {
        "name": "incident-io",
        "incidentio_configs": [
            {
                "url_file": f"{directory}/{URL_KEY}",
                "alert_source_token_file": f"{directory}/{TOKEN_KEY}",
                "send_resolved": True,
            }
        ],
    }
