"""scripts/github-report.sh, what the workflows post on GitHub: the preview comments of a pull request and the
drift check's issue, against a stand-in `gh` (tests/fake_gh.py) that keeps a repository's issues in a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "github-report.sh"
REPOSITORY = "unkey/alert-routing"
# What the real CLI prints with --expect-no-changes when there are changes (tests/e2e/test_delivery.py
# checks that it does).
CHANGES_PROPOSED = "error: no changes were expected for preview but changes were proposed"
PR = 7


def preview_output(*changes: str, proposed: bool = True) -> str:
    lines = ["Previewing update (production):"]
    for name in changes:
        lines += [
            "    ~ pulumi-python:dynamic/incidentio:AlertRoute: (update)",
            f"        [urn=urn:pulumi:production::unkey-alert-routing::x::{name}]",
            "      ~ enabled: false => true",
        ]
    lines += ["Resources:", f"    ~ {len(changes)} to update", "    4 unchanged"]
    if proposed:
        lines.append(CHANGES_PROPOSED)
    return "\n".join(lines) + "\n"


@dataclass
class Repository:
    directory: Path

    @property
    def state_file(self) -> Path:
        return self.directory / "github.json"

    @property
    def state(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.state_file.read_text())
        return loaded

    def issues(self, state: str = "open") -> list[dict[str, Any]]:
        return [issue for issue in self.state["issues"] if issue["state"] == state]

    def comments(self, number: int) -> list[str]:
        return [comment["body"] for comment in self.state["comments"].get(str(number), [])]

    def run(self, *args: str, output: str | None = None) -> subprocess.CompletedProcess[str]:
        bin_dir = self.directory / "bin"
        if not bin_dir.exists():
            bin_dir.mkdir()
            gh = bin_dir / "gh"
            gh.write_text(f'#!/bin/sh\nexec {sys.executable} {ROOT / "tests" / "fake_gh.py"} "$@"\n')
            gh.chmod(0o755)
        if output is not None:
            (self.directory / "preview.txt").write_text(output)
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "FAKE_GH_STATE": str(self.state_file),
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_RUN_ID": "42",
        }
        return subprocess.run(  # noqa: S603 - our own script
            [str(SCRIPT), *[arg.replace("OUTPUT", str(self.directory / "preview.txt")) for arg in args]],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )


def repository(tmp_path: Path, issues: list[dict[str, Any]] | None = None) -> Repository:
    repo = Repository(tmp_path)
    # A pull request is in the issues list too, with a body that could mislead a careless search.
    pull_request = {
        "number": 99,
        "state": "open",
        "title": "pr",
        "body": "<!-- drift-check: production 0000 -->",
        "pull_request": {},
    }
    state = {"issues": [pull_request, *(issues or [])], "comments": {}, "calls": []}
    repo.state_file.write_text(json.dumps(state))
    return repo


def drift_issues(repo: Repository, state: str = "open") -> list[dict[str, Any]]:
    return [issue for issue in repo.issues(state) if "pull_request" not in issue]


def test_drift_opens_one_issue_per_stack_with_what_the_deploy_would_do(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    result = repo.run("drift-issue", "production", "failure", "OUTPUT", output=preview_output("database-alerts"))
    assert result.returncode == 0, result.stderr
    (issue,) = drift_issues(repo)
    assert issue["title"] == "Drift: live alert routes of production differ from main"
    assert issue["body"].startswith("<!-- drift-check: production ")
    assert "`pulumi up --refresh`" in issue["body"] and "Pulumi.production.yaml" in issue["body"]
    assert "[urn=urn:pulumi:production::unkey-alert-routing::x::database-alerts]" in issue["body"]
    assert "https://github.example/unkey/alert-routing/actions/runs/42" in issue["body"]

    # The other stack gets its own issue; a second check of the same drift updates it, without a comment.
    repo.run("drift-issue", "staging", "failure", "OUTPUT", output=preview_output("staging-notifications"))
    again = repo.run("drift-issue", "production", "failure", "OUTPUT", output=preview_output("database-alerts"))
    assert again.returncode == 0, again.stderr
    assert sorted(issue["title"] for issue in drift_issues(repo)) == [
        "Drift: live alert routes of production differ from main",
        "Drift: live alert routes of staging differ from main",
    ]
    assert repo.comments(issue["number"]) == []


def test_drift_that_changes_updates_the_issue_and_says_so(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    repo.run("drift-issue", "production", "failure", "OUTPUT", output=preview_output("database-alerts"))
    both = preview_output("database-alerts", "production-alerts")
    result = repo.run("drift-issue", "production", "failure", "OUTPUT", output=both)
    assert result.returncode == 0, result.stderr
    (issue,) = drift_issues(repo)
    assert "production-alerts]" in issue["body"]
    (comment,) = repo.comments(issue["number"])
    assert comment.startswith("What differs has changed")


def test_no_drift_closes_the_issue_and_leaves_the_other_stacks(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    repo.run("drift-issue", "production", "failure", "OUTPUT", output=preview_output("database-alerts"))
    repo.run("drift-issue", "staging", "failure", "OUTPUT", output=preview_output("staging-notifications"))
    result = repo.run("drift-issue", "production", "success", "OUTPUT", output=preview_output(proposed=False))
    assert result.returncode == 0, result.stderr
    (closed,) = drift_issues(repo, "closed")
    assert closed["title"].endswith("production differ from main")
    (comment,) = repo.comments(closed["number"])
    assert comment.startswith("No drift any more")
    assert [issue["title"] for issue in drift_issues(repo)] == ["Drift: live alert routes of staging differ from main"]
    # Nothing to close: nothing is written.
    calls = len(repo.state["calls"])
    assert repo.run("drift-issue", "production", "success", "OUTPUT", output="").returncode == 0
    assert [call[0] for call in repo.state["calls"][calls:]] == ["GET"]


def test_a_check_that_could_not_run_fails_and_leaves_the_issue_alone(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    repo.run("drift-issue", "production", "failure", "OUTPUT", output=preview_output("database-alerts"))
    before = repo.state["issues"]
    failed = "Previewing update (production):\nerror: GET /v1/identity: no answer from https://api.incident.io\n"
    result = repo.run("drift-issue", "production", "failure", "OUTPUT", output=failed)
    assert result.returncode == 1
    assert "::error::the drift check of production could not run" in result.stdout
    assert repo.state["issues"] == before


def test_each_stack_has_one_preview_comment_that_each_run_updates(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    for stack, change in (("production", "database-alerts"), ("staging", "staging-notifications")):
        body = repo.run("preview-comment", stack, "success", "OUTPUT", output=preview_output(change, proposed=False))
        assert body.returncode == 0, body.stderr
        (repo.directory / f"{stack}.md").write_text(body.stdout)
        assert repo.run("comment", str(PR), str(repo.directory / f"{stack}.md")).returncode == 0
    failed = repo.run("preview-comment", "production", "failure", "OUTPUT", output="error: boom\n")
    (repo.directory / "production.md").write_text(failed.stdout)
    assert repo.run("comment", str(PR), str(repo.directory / "production.md")).returncode == 0

    production, staging = repo.comments(PR)
    assert production.startswith("<!-- pulumi-preview: production -->\n### `pulumi preview`: production, **failed**")
    assert "error: boom" in production and "database-alerts" not in production
    assert staging.startswith("<!-- pulumi-preview: staging -->") and "staging-notifications]" in staging
    assert "`pulumi up --refresh`" in staging


def test_an_output_too_long_for_github_keeps_its_start_and_end(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    changes = [f"route-{index:04d}" for index in range(1500)]
    output = preview_output(*changes, proposed=False)
    assert len(output) > 65536
    body = repo.run("preview-comment", "production", "success", "OUTPUT", output=output).stdout
    assert len(body) < 65536
    assert "route-0000]" in body and "route-1499]" in body and "4 unchanged" in body
    assert "characters left out: the whole output is in the job log" in body
