"""The token's way to the cluster and the claims, through the real CLI: a rotated token moves the AWS secret
version, the ExternalSecret's force-sync stamp and the Alertmanager restart in one `up`, and shows nowhere;
a claim incident.io refuses is a warning, not a failure."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.conftest import CANARY_TOKEN_PREFIX
from tests.e2e.conftest import emulator_state, leaked_credentials
from tests.e2e.harness import (
    ALERTMANAGER_PATCH_TYPE,
    EXTERNAL_SECRET_TYPE,
    ROUTE_TYPE,
    SECRET_VERSION_TYPE,
    Workspace,
    changes,
)
from tests.emulator import Fault

STAGING_ALERTMANAGER = "01KH7FNXWPMH6KPCQTYJJY947G"
STAGING_CHECKLY = "01KKZJERF1HQFJRE3XWFZ0NV19"
RESTART_ANNOTATION = "unkey.dev/incident-io-token-version"  # docs/operations.md, "Token rotation, end to end"


def fingerprint(token: str) -> str:
    """docs/operations.md: the token's version is a 16-hex-digit SHA-256 fingerprint."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def applied(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Create/Update/Delete calls of the stand-in plugins that were not previews, in order."""
    return [e for e in entries if e["method"] in ("Create", "Update", "Delete") and not e.get("preview")]


def writes(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(entry["method"], entry["type"]) for entry in applied(entries)]


def test_a_rotated_token_reaches_aws_and_restarts_alertmanager_in_one_up_and_shows_nowhere(
    empty_org: Workspace,
) -> None:
    workspace = empty_org
    state = emulator_state(workspace)
    workspace.up("staging", "--skip-preview")
    (created,) = [e for e in applied(workspace.stand_in_log()) if e["type"] == SECRET_VERSION_TYPE]

    rotated = f"{CANARY_TOKEN_PREFIX}-rotated-0001"
    state.sources[STAGING_ALERTMANAGER]["secret_token"] = rotated
    before = workspace.mark()
    workspace.up("staging")
    entries = workspace.stand_in_log(before)
    assert writes(entries) == [
        ("Update", SECRET_VERSION_TYPE),
        ("Update", EXTERNAL_SECRET_TYPE),
        ("Update", ALERTMANAGER_PATCH_TYPE),
    ], "the three, in the order docs/operations.md gives, and nothing else"
    (version, external_secret, patch) = applied(entries)
    assert version["secret_fingerprints"]["secretString"] != created["secret_fingerprints"]["secretString"]
    assert version["inputs"]["secretString"] == "[secret]", "sent to AWS as a secret"
    assert external_secret["inputs"]["metadata"]["annotations"]["force-sync"] == fingerprint(rotated)
    assert patch["inputs"]["spec"]["podMetadata"]["annotations"][RESTART_ANNOTATION] == fingerprint(rotated)
    assert workspace.route_writes_since(before) == [], "routes do not move with the token"

    outputs = workspace.outputs("staging")
    assert outputs["tokenVersion"] == fingerprint(rotated)
    assert outputs["alertSourceUrls"] == {
        "alertmanager": state.sources[STAGING_ALERTMANAGER]["alert_events_url"],
        "checkly": state.sources[STAGING_CHECKLY]["alert_events_url"],
    }
    workspace.pulumi("stack", "export", stack="staging")
    # The CLI output of every command above, `stack export`, `stack output --json`, the state backend's
    # files (stack, backups, history), the stack files and the stand-ins' log: no key, no token.
    assert list(workspace.state_files()), "the state backend has files to search"
    assert leaked_credentials(workspace) == []


def test_refused_claims_are_warnings_and_the_next_up_claims_again(empty_org: Workspace) -> None:
    workspace = empty_org
    assert workspace.emulator is not None
    state = emulator_state(workspace)
    names = [route["name"] for route in workspace.routes("production")]
    # Every claim of the first `up` answered with a 500 (a POST is not retried on a 5xx).
    workspace.emulator.inject(Fault("POST", "/v2/managed_resources", times=len(names), status=500))

    up = workspace.pulumi("up", "--yes", stack="production")
    live = {str(route.payload["name"]): route_id for route_id, route in state.routes.items()}
    assert sorted(live) == sorted(names), "every route was written"
    for name in names:
        assert (
            f"alert route {name!r} ({live[name]}) was written but could not be marked as managed by this "
            "repository in incident.io" in up.text
        )
    assert "the next `pulumi up` tries again" in up.text
    assert state.managed_resources == {}

    # docs/provider.md: the next preview shows each route as changing, and the next `up` claims it, writing no route.
    pending = changes(workspace.preview("production"), ROUTE_TYPE)
    assert list(pending.values()) == [["update"]] * len(names)
    before = workspace.mark()
    workspace.up("production")
    assert len(workspace.claims_since(before)) == len(names)
    assert workspace.route_writes_since(before) == []
    assert sorted(route_id for _, route_id in state.managed_resources) == sorted(live.values())
