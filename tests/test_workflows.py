"""The delivery rules docs/delivery.md promises, checked on the workflow files themselves.

actionlint and zizmor (run by scripts/test.sh) check syntax and security patterns; these tests check
the project's own rules: what runs where, in which order, with which rights, and never twice at once on
one stack. tests/e2e/test_delivery.py runs the workflows' `pulumi` command lines through the real CLI.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from ops.route_test import MARKER
from tests.workflows import GITHUB, pulumi_command, step, triggers, workflow

STACKS = ("staging", "production")
WORKFLOWS = ("checks", "preview", "deploy", "drift")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# GitHub's self-repository syntax: an action of this repository, at the workflow's own commit.
LOCAL = re.compile(r"^\$/\.github/actions/[\w-]+$")
ROOT = GITHUB.parent


def every_use() -> list[str]:
    files = [*GITHUB.glob("workflows/*.yml"), *GITHUB.glob("actions/*/action.yml")]
    return [
        match.group(1)
        for path in files
        for match in re.finditer(r"^\s*(?:-\s+)?uses:\s*(\S+)", path.read_text(), re.MULTILINE)
    ]


def every_run_step() -> list[dict[str, Any]]:
    return [
        candidate
        for name in WORKFLOWS
        for job in workflow(name)["jobs"].values()
        for candidate in job["steps"]
        if "run" in candidate
    ]


def test_every_action_is_pinned_to_a_commit_or_is_one_of_ours_that_exists() -> None:
    uses = every_use()
    assert uses
    assert [use for use in uses if not (PINNED.match(use) or LOCAL.match(use))] == []
    for local in (use for use in uses if LOCAL.match(use)):
        assert (ROOT / local.removeprefix("$/") / "action.yml").is_file(), local


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflows_grant_nothing_by_default_and_each_job_says_what_it_needs(name: str) -> None:
    document = workflow(name)
    assert document["permissions"] == {}
    for job in document["jobs"].values():
        assert "permissions" in job and "write-all" not in str(job["permissions"])


def test_values_reach_scripts_through_the_environment_never_as_template_expressions() -> None:
    # A template expression in `run:` is pasted into the script before bash reads it (script injection).
    steps = every_run_step()
    assert steps
    assert [candidate["run"] for candidate in steps if "${{" in candidate["run"]] == []


@pytest.mark.parametrize("name", ["preview", "deploy", "drift"])
def test_a_failing_pulumi_fails_its_step_whatever_follows_it_in_a_pipe(name: str) -> None:
    # GitHub runs `bash -e` unless the shell is named; `shell: bash` adds `-o pipefail`.
    assert workflow(name)["defaults"]["run"]["shell"] == "bash"


def test_the_cli_the_workflows_run_is_installed_once_at_the_sdk_version() -> None:
    action = yaml.safe_load((GITHUB / "actions" / "prepare" / "action.yml").read_text())
    steps = action["runs"]["steps"]
    (install,) = [found for found in steps if str(found.get("uses", "")).startswith("pulumi/actions@")]
    # Without `command`, pulumi/actions only installs the CLI.
    assert set(install["with"]) == {"pulumi-version"}
    requirements = (ROOT / "requirements.txt").read_text()
    assert f"pulumi=={install['with']['pulumi-version']}\n" in requirements
    for name in ("preview", "deploy", "drift"):
        for job in workflow(name)["jobs"].values():
            assert "$/.github/actions/prepare" in [found.get("uses") for found in job["steps"]]
            assert not [found for found in job["steps"] if str(found.get("uses", "")).startswith("pulumi/actions@")]


def pulumi_step_of(name: str, job: str, step_name: str, stack: str) -> tuple[dict[str, Any], list[str]]:
    found = step(workflow(name)["jobs"][job], step_name)
    return found, pulumi_command(found, {"STACK": stack})


def test_the_deploy_reads_live_state_the_way_the_pull_request_preview_does() -> None:
    # One drift rule: both refresh first, so a revert the preview shows is one the deploy makes.
    for stack in STACKS:
        _, preview = pulumi_step_of("preview", "preview", "pulumi preview", stack)
        _, deploy = pulumi_step_of("deploy", stack, "pulumi up", stack)
        assert preview[:2] == ["pulumi", "preview"] and deploy[:2] == ["pulumi", "up"]
        for command in (preview, deploy):
            assert {"--refresh", "--diff"} <= set(command)
            assert command[command.index("--stack") + 1] == stack
        # Nothing else that could make them read or plan differently (targets, skipped refresh...).
        assert set(deploy) - set(preview) == {"up", "--yes"} and set(preview) - set(deploy) == {"preview"}


def test_pulumi_steps_get_the_backend_and_credentials_from_settings() -> None:
    expected = {
        "PULUMI_BACKEND_URL": "${{ vars.PULUMI_BACKEND_URL }}",
        "INCIDENT_IO_TOKEN": "${{ secrets.INCIDENT_IO_TOKEN }}",
        "PULUMI_CONFIG_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
    }
    steps = [
        step(workflow("preview")["jobs"]["preview"], "pulumi preview"),
        step(workflow("drift")["jobs"]["drift"], "pulumi preview"),
        *(step(workflow("deploy")["jobs"][stack], "pulumi up") for stack in STACKS),
    ]
    for found in steps:
        assert {key: found["env"][key] for key in expected} == expected


def test_preview_runs_for_both_stacks_on_changes_to_the_program_or_its_config() -> None:
    document = workflow("preview")
    paths = triggers(document)["pull_request"]["paths"]
    assert {"__main__.py", "Pulumi.*.yaml", "providers/**", "components/**", "requirements.txt"} <= set(paths)
    assert "scripts/github-report.sh" in paths
    job = document["jobs"]["preview"]
    assert sorted(job["strategy"]["matrix"]["stack"]) == sorted(STACKS)
    assert job["environment"] == "${{ matrix.stack }}-preview"
    assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    preview = step(job, "pulumi preview")
    assert preview["id"] == "preview" and preview["env"]["STACK"] == "${{ matrix.stack }}"
    assert "continue-on-error" not in preview  # a failing preview fails the check


def test_each_pull_request_preview_is_posted_as_the_stacks_one_comment_also_when_it_failed() -> None:
    job = workflow("preview")["jobs"]["preview"]
    steps = job["steps"]
    preview = step(job, "pulumi preview")
    posted = step(job, "post the preview on the pull request")
    # The preview's whole output, to a file the next step posts.
    assert '| tee "$RUNNER_TEMP/preview.txt"' in preview["run"] and "2>&1" in preview["run"]
    script = posted["run"]
    assert './scripts/github-report.sh preview-comment "$STACK" "$OUTCOME" "$RUNNER_TEMP/preview.txt"' in script
    assert './scripts/github-report.sh comment "$PR_NUMBER"' in script
    assert posted["env"]["OUTCOME"] == "${{ steps.preview.outcome }}"
    assert posted["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert posted["if"] == "${{ !cancelled() && steps.preview.outcome != 'skipped' }}"
    assert steps.index(posted) > steps.index(preview) and "continue-on-error" not in posted


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
        up, command = pulumi_step_of("deploy", stack, "pulumi up", stack)
        assert up["env"]["STACK"] == stack and command[:2] == ["pulumi", "up"] and "--yes" in command
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert len(groups) == len(STACKS)


def test_drift_is_checked_daily_per_stack_with_the_previews_command_and_rights_plus_issues() -> None:
    document = workflow("drift")
    on = triggers(document)
    assert [entry["cron"] for entry in on["schedule"]] and "workflow_dispatch" in on
    job = document["jobs"]["drift"]
    assert job["if"] == "github.ref == 'refs/heads/main'"
    assert sorted(job["strategy"]["matrix"]["stack"]) == sorted(STACKS)
    assert job["strategy"]["fail-fast"] is False
    # Read-only, like the pull request preview; issues is the one right it adds.
    assert job["environment"] == workflow("preview")["jobs"]["preview"]["environment"]
    assert job["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}
    # Never in a deploy's group: a waiting check would replace a waiting deploy there.
    deploy_groups = {deploy["concurrency"]["group"] for deploy in workflow("deploy")["jobs"].values()}
    assert job["concurrency"]["group"] == "drift-${{ matrix.stack }}"
    assert not {job["concurrency"]["group"].replace("${{ matrix.stack }}", stack) for stack in STACKS} & deploy_groups
    for stack in STACKS:
        _, check = pulumi_step_of("drift", "drift", "pulumi preview", stack)
        _, preview = pulumi_step_of("preview", "preview", "pulumi preview", stack)
        assert check == [*preview, "--expect-no-changes"]


def test_the_drift_check_reports_drift_in_the_stacks_issue_and_fails_only_when_it_could_not_check() -> None:
    job = workflow("drift")["jobs"]["drift"]
    preview = step(job, "pulumi preview")
    report = step(job, "open, update or close the drift issue")
    # Drift ends the preview with an error; the report step, which tells drift from failure, decides the job.
    assert preview["continue-on-error"] is True and preview["id"] == "preview"
    assert '| tee "$RUNNER_TEMP/preview.txt"' in preview["run"] and "2>&1" in preview["run"]
    assert report["run"].strip() == (
        './scripts/github-report.sh drift-issue "$STACK" "$OUTCOME" "$RUNNER_TEMP/preview.txt"'
    )
    assert report["env"] == {
        "GH_TOKEN": "${{ github.token }}",
        "STACK": "${{ matrix.stack }}",
        "OUTCOME": "${{ steps.preview.outcome }}",
    }
    assert report["if"] == "${{ !cancelled() && steps.preview.outcome != 'skipped' }}"
    assert "continue-on-error" not in report
    assert job["steps"].index(report) > job["steps"].index(preview)


def test_checks_run_the_same_command_as_ci() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    steps = workflow("checks")["jobs"]["test"]["steps"]
    assert "./scripts/test.sh" in ci and any(found.get("run") == "./scripts/test.sh" for found in steps)
    # scripts/pulumi-cli.sh's build (tests/test_pulumi_cli_build.py) needs Go, before the tests run.
    uses = [str(found.get("uses", "")) for found in steps]
    go = next(index for index, used in enumerate(uses) if used.startswith("actions/setup-go@"))
    assert steps[go]["with"]["go-version-file"] == "tools/pulumi/go.mod"
    assert go < next(index for index, found in enumerate(steps) if found.get("run") == "./scripts/test.sh")


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
    matrix = step(job, "routing matrix, before and after")
    preview = step(job, "pulumi preview")
    script = matrix["run"]
    # before = the live routes, after = this pull request's stack file of the job's stack, as markdown
    assert '--stack-file "Pulumi.$STACK.yaml" --compare-live --markdown' in script
    assert matrix["env"]["STACK"] == "${{ matrix.stack }}"
    assert matrix["env"]["INCIDENT_IO_TOKEN"] == "${{ secrets.INCIDENT_IO_TOKEN }}"
    # posted as the stack's own comment, found again by the marker the command writes first, and updated
    assert MARKER.format(stack="$STACK").startswith("<!--")
    assert './scripts/github-report.sh comment "$PR_NUMBER" "$RUNNER_TEMP/routing-matrix.md"' in script
    assert matrix["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert job["permissions"]["pull-requests"] == "write"
    # after the preview, even when it failed (a failing routing test belongs in the comment), and it
    # never turns a failure into a success
    assert steps.index(matrix) > steps.index(preview)
    assert matrix["if"] == "${{ !cancelled() && steps.preview.outcome != 'skipped' }}" and preview["id"] == "preview"
    assert "continue-on-error" not in matrix
    paths = triggers(workflow("preview"))["pull_request"]["paths"]
    assert {"ops/**", "contrib/route-test.sh"} <= set(paths)
