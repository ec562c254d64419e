"""The GitHub workflow files as the tests read them: the documents, their triggers, and the `pulumi` command
line a step runs, as the shell would run it (so that tests run what the workflows run, never a copy)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

GITHUB = Path(__file__).resolve().parent.parent / ".github"


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((GITHUB / "workflows" / f"{name}.yml").read_text())
    return loaded


def triggers(document: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean True.
    on: dict[str, Any] = document["on"] if "on" in document else document[True]
    return on


def step(job: dict[str, Any], name: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = job["steps"]
    (found,) = (candidate for candidate in steps if candidate.get("name") == name)
    return found


_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
# What may follow the command on its line: the output also to a file, through `tee`.
_REDIRECTIONS = ("2>&1",)


def pulumi_command(run_step: dict[str, Any], values: dict[str, str]) -> list[str]:
    """The arguments of the one `pulumi` command of a step's `run:` script, split as bash splits them, without
    what follows a pipe or a `2>&1`, and with each `$VARIABLE` replaced by `values` (the values the step's
    `env:` would give it). A variable not in `values` is an error: the test would run something else."""
    lines = [line.strip() for line in run_step["run"].splitlines() if line.strip().startswith("pulumi ")]
    assert len(lines) == 1, f"expected one `pulumi` line in step {run_step.get('name')!r}, found {lines}"
    words = [word for word in shlex.split(lines[0].split("|")[0]) if word not in _REDIRECTIONS]
    for word in words:
        for match in _VARIABLE.finditer(word):
            variable = match.group(1) or match.group(2)
            assert variable in values, f"{variable} in {lines[0]!r}: give the value the workflow gives it"
            assert variable in run_step.get("env", {}), f"{variable} is not in the env of step {run_step['name']!r}"
    return [_VARIABLE.sub(lambda match: values[match.group(1) or match.group(2)], word) for word in words]
