"""A preview shows the change and nothing else: an added route changes only the routing matrix rows of the
alerts it reaches, and a refresh of unchanged, adopted routes shows nothing."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.harness import Workspace, changes

# `pulumi preview --diff` marks a changed output's key (or a changed member of it) with + - ~.
MARKED = re.compile(r"^(\s*)([+~-]) (\S[^:]*?)\s*:")


def changed_outputs(output: str) -> dict[str, set[str]]:
    """Top-level output -> the keys of it marked as added, removed or changed, from `preview --diff`."""
    marked: dict[str, set[str]] = {}
    section = False
    top_indent: int | None = None
    current = ""
    for line in output.splitlines():
        if line.strip() in ("--outputs:--", "Outputs:"):
            section = True
            continue
        if section and line.startswith("Resources:"):
            break
        found = MARKED.match(line) if section else None
        if not found:
            continue
        indent, key = len(found.group(1)), found.group(3)
        if top_indent is None or indent <= top_indent:
            top_indent, current = indent, key
            marked.setdefault(current, set())
        elif indent <= top_indent + 4:
            marked[current].add(key)
    return marked


def test_an_added_route_changes_only_the_matrix_rows_of_the_alerts_it_reaches(todays_org: Workspace) -> None:
    workspace = todays_org
    workspace.up("production", "--skip-preview")

    def add(config: dict[str, Any]) -> None:
        config["alertSources"]["alertmanager_staging"] = {"name": "Alertmanager (Staging)"}
        critical = {"reference": "severity", "operation": "one_of", "values": ["critical"]}
        config["routes"].append(
            {"name": "Extra", "sources": [{"source": "alertmanager_staging", "when": [critical]}], "slack": "alerts"}
        )

    workspace.edit_config("production", add)
    preview = workspace.pulumi("preview", "--diff", stack="production")
    assert changed_outputs(preview.output) == {
        "routingMatrix": {"source=alertmanager_staging", "source=alertmanager_staging severity=critical"}
    }


def test_a_refresh_of_adopted_unchanged_routes_shows_nothing(todays_org: Workspace) -> None:
    workspace = todays_org
    workspace.up("staging", "--skip-preview")  # adopts the live route by its name
    workspace.up("staging")  # and an `up` after it, with the stack file unchanged
    for _ in range(2):
        refreshed = workspace.pulumi("up", "--yes", "--refresh", stack="staging")
        assert "adopt_id" not in refreshed.output and "[diff:" not in refreshed.output
    assert changes(workspace.preview("staging", "--refresh")) == {}
