"""Routes outside the stack config: moving a stack's routes and routing tests into routes/<stack>.yaml changes
no resource, keeps them out of the config Pulumi hands the program (one environment variable, capped at
128 KiB by Linux), and a mistake in the routes file is reported with its file and line."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.harness import PROJECT, ROOT, Workspace


def move_routes_out(workspace: Workspace, stack: str) -> subprocess.CompletedProcess[str]:
    """contrib/move-routes-out.sh, as a user runs it, on the workspace's project."""
    return subprocess.run(  # noqa: S603 - our own script
        [str(ROOT / "contrib" / "move-routes-out.sh"), "--stack", stack, "--project-dir", str(workspace.project)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={"PATH": f"{sys.prefix}/bin:/usr/bin:/bin"},
    )


def test_moving_the_routes_out_changes_nothing_and_keeps_them_out_of_the_program_config(
    todays_org: Workspace,
) -> None:
    workspace = todays_org
    workspace.up("production")  # the routes in the stack file, as today

    moved = move_routes_out(workspace, "production")
    assert "moved routes, routingTests" in moved.stdout
    preview = workspace.pulumi("preview", "--expect-no-changes", "--diff", stack="production")

    assert "unchanged" in preview.output
    # The config the language host hands the program (PULUMI_CONFIG) is the stack's config: no routes in it.
    config = workspace.pulumi("config", "--json", stack="production").json()
    assert f"{PROJECT}:environment" in config
    assert not {f"{PROJECT}:routes", f"{PROJECT}:routingTests"} & set(config)

    # A mistake in the routes file stops the preview, naming the file and the line.
    path = workspace.project / "routes" / "production.yaml"
    lines = path.read_text().splitlines()
    line = next(number for number, text in enumerate(lines, 1) if "- source: sev0_email" in text)
    lines[line - 1] = lines[line - 1].replace("sev0_email", "sev0_mail")
    path.write_text("\n".join(lines) + "\n")
    refused = workspace.pulumi("preview", stack="production", expect=None)
    assert refused.returncode != 0
    assert (
        f"routes/production.yaml:{line}: routes[0] (Production Alerts).sources[2].source: unknown source 'sev0_mail'"
        in refused.text
    )
