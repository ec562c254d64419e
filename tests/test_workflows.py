"""The delivery rules docs/delivery.md promises, checked on the workflow files themselves.

actionlint and zizmor (run by scripts/test.sh) check syntax and security patterns; these tests check
the project's own rules: what runs where, in which order, and never twice at once on one stack.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops.route_test import MARKER

GITHUB = Path(__file__).resolve().parent.parent / ".github"
STACKS = ("staging", "production")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((GITHUB / "workflows" / f"{name}.yml").read_text())
    return loaded


def triggers(document: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean True.
    on: dict[str, Any] = document["on"] if "on" in document else document[True]
    return on


def every_use() -> list[str]:
    files = [*GITHUB.glob("workflows/*.yml"), *GITHUB.glob("actions/*/action.yml")]
    return [
        match.group(1)
        for path in files
        for match in re.finditer(r"^\s*(?:-\s+)?uses:\s*(\S+)", path.read_text(), re.MULTILINE)
    ]


def test_every_action_is_pinned_to_a_commit_or_is_our_own() -> None:
    uses = every_use()
    assert uses
    assert [use for use in uses if not (PINNED.match(use) or use.startswith("$/"))] == []


@pytest.mark.parametrize("name", ["checks", "preview", "deploy"])
def test_workflows_grant_nothing_by_default_and_each_job_says_what_it_needs(name: str) -> None:
    document = workflow(name)
    assert document["permissions"] == {}
    for job in document["jobs"].values():
        assert "permissions" in job and "write-all" not in str(job["permissions"])


def test_preview_runs_for_both_stacks_on_changes_to_the_program_or_its_config() -> None:
    document = workflow("preview")
    paths = triggers(document)["pull_request"]["paths"]
    assert {"__main__.py", "Pulumi.*.yaml", "providers/**", "components/**", "requirements.txt"} <= set(paths)
    job = document["jobs"]["preview"]
    assert sorted(job["strategy"]["matrix"]["stack"]) == sorted(STACKS)
    assert job["permissions"]["pull-requests"] == "write" and job["permissions"]["id-token"] == "write"
    (pulumi,) = [step for step in job["steps"] if str(step.get("uses", "")).startswith("pulumi/actions@")]
    assert pulumi["with"]["command"] == "preview" and pulumi["with"]["comment-on-pr"] is True
    assert "continue-on-error" not in pulumi  # a failing preview fails the check


def test_deploy_goes_to_staging_then_to_production_behind_its_environment_one_run_per_stack() -> None:
    document = workflow("deploy")
    assert triggers(document)["push"]["branches"] == ["main"]
    jobs = document["jobs"]
    assert jobs["production"]["needs"] == "staging"
    groups = set()
    for stack in STACKS:
        job = jobs[stack]
        assert job["environment"] == stack
        assert job["concurrency"]["cancel-in-progress"] is False
        groups.add(job["concurrency"]["group"])
        (pulumi,) = [step for step in job["steps"] if str(step.get("uses", "")).startswith("pulumi/actions@")]
        assert (pulumi["with"]["command"], pulumi["with"]["stack-name"]) == ("up", stack)
        assert pulumi["env"]["INCIDENT_IO_TOKEN"] == "${{ secrets.INCIDENT_IO_TOKEN }}"
    assert len(groups) == len(STACKS)


def test_checks_run_the_same_command_as_ci() -> None:
    ci = (GITHUB.parent / ".ci" / "run").read_text()
    steps = workflow("checks")["jobs"]["test"]["steps"]
    assert "./scripts/test.sh" in ci and any(step.get("run") == "./scripts/test.sh" for step in steps)
    # scripts/pulumi-cli.sh's build (tests/test_pulumi_cli_build.py) needs Go, before the tests run.
    uses = [str(step.get("uses", "")) for step in steps]
    go = next(index for index, used in enumerate(uses) if used.startswith("actions/setup-go@"))
    assert steps[go]["with"]["go-version-file"] == "tools/pulumi/go.mod"
    assert go < next(index for index, step in enumerate(steps) if step.get("run") == "./scripts/test.sh")


def test_checks_run_the_end_to_end_tests_with_the_released_cli_at_the_sdk_version() -> None:
    steps = workflow("checks")["jobs"]["test"]["steps"]
    (tests,) = [index for index, step in enumerate(steps) if step.get("run") == "./scripts/test.sh"]
    (install,) = [index for index, step in enumerate(steps) if str(step.get("uses", "")).startswith("pulumi/actions@")]
    assert install < tests
    # Install only (no command), pinned to the version of the SDK the program runs with.
    assert "command" not in steps[install]["with"]
    requirements = (GITHUB.parent / "requirements.txt").read_text()
    sdk = re.search(r"^pulumi==(\S+)$", requirements, re.MULTILINE)
    assert sdk is not None and steps[install]["with"]["pulumi-version"] == sdk.group(1)
    # ... and the end-to-end tests run it, not the CLI built from the Go modules (which has no language host).
    assert steps[tests]["env"] == {"E2E_PULUMI_CLI": "pulumi"}


def test_each_pull_request_preview_comments_where_alerts_go_before_and_after() -> None:
    job = workflow("preview")["jobs"]["preview"]
    steps = job["steps"]
    (matrix,) = [step for step in steps if "contrib/route-test.sh" in str(step.get("run", ""))]
    (preview,) = [step for step in steps if str(step.get("uses", "")).startswith("pulumi/actions@")]
    script = matrix["run"]
    # before = the live routes, after = this pull request's stack file of the job's stack, as markdown
    assert '--stack-file "Pulumi.$STACK.yaml" --compare-live --markdown' in script
    assert matrix["env"]["STACK"] == "${{ matrix.stack }}"
    assert matrix["env"]["INCIDENT_IO_TOKEN"] == "${{ secrets.INCIDENT_IO_TOKEN }}"
    # posted as the stack's own comment, found again by the marker the command writes first, and updated
    assert MARKER.format(stack="$STACK") in script
    assert "gh pr comment" in script and "--method PATCH" in script
    assert matrix["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert job["permissions"]["pull-requests"] == "write"
    # values reach the script through the environment, never as template expressions (injection)
    assert "${{" not in script
    # after the preview, even when it failed (a failing routing test belongs in the comment), and it
    # never turns a failure into a success
    assert steps.index(matrix) > steps.index(preview)
    assert matrix["if"] == "${{ !cancelled() && steps.preview.outcome != 'skipped' }}" and preview["id"] == "preview"
    assert "continue-on-error" not in matrix
    paths = triggers(workflow("preview"))["pull_request"]["paths"]
    assert {"ops/**", "contrib/route-test.sh"} <= set(paths)
