"""scripts/pulumi.sh, the README's main command, driven with a stand-in `pulumi` that records its calls."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE_HOST = "github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3"

FAKE_PULUMI = """#!/usr/bin/env bash
echo "$PULUMI_BACKEND_URL|$*" >> "$CALLS"
if [ "$1" = whoami ]; then exit "$WHOAMI_EXIT"; fi
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the script in a repository whose .venv already exists (no pip install)."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "pulumi.sh", repo / "scripts" / "pulumi.sh")
    python = repo / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return repo


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def run_script(
    repo: Path,
    tmp_path: Path,
    *args: str,
    logged_in: bool = False,
    backend: str | None = None,
    with_cli: bool = True,
    with_go: bool = False,
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Runs the script with PATH = a bin/ of stand-ins (pulumi unless with_cli is false; a `go` that must not
    run if with_go) + /usr/bin:/bin, and PULUMI_CLI_BUILDER = a stand-in builder that logs its runs in
    builds.log and prints cli/, which holds another recording pulumi."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "pulumi"
    if with_cli:
        executable(fake, FAKE_PULUMI)
    else:
        fake.unlink(missing_ok=True)
    go = bin_dir / "go"
    if with_go:
        executable(go, "#!/bin/sh\necho 'the stand-in builder was to run, not go' >&2\nexit 99\n")
    else:
        go.unlink(missing_ok=True)
    cli_dir = tmp_path / "cli"
    executable(cli_dir / "pulumi", FAKE_PULUMI.replace('"$PULUMI_BACKEND_URL|', '"built|$PULUMI_BACKEND_URL|'))
    builder = executable(tmp_path / "builder.sh", f'#!/bin/sh\necho run >> "{tmp_path}/builds.log"\necho "{cli_dir}"\n')
    calls = tmp_path / "calls.log"
    # Not in a shell set for the sandbox (scripts/sandbox.sh), whatever the shell running the tests is.
    env = {
        key: value for key, value in os.environ.items() if key not in ("PULUMI_BACKEND_URL", "ALERT_ROUTING_SANDBOX")
    }
    env.update(
        PATH=f"{bin_dir}:/usr/bin:/bin",
        CALLS=str(calls),
        WHOAMI_EXIT="0" if logged_in else "1",
        PULUMI_CLI_BUILDER=str(builder),
        **({"PULUMI_BACKEND_URL": backend} if backend else {}),
    )
    result = subprocess.run(  # noqa: S603 - a copy of our own script
        [str(repo / "scripts" / "pulumi.sh"), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    return result, calls.read_text().splitlines() if calls.exists() else []


def test_without_a_chosen_backend_it_uses_the_local_file_backend(checkout: Path, tmp_path: Path) -> None:
    result, calls = run_script(checkout, tmp_path, "staging", "preview", "--diff")
    local = f"file://{checkout}/.pulumi-state"
    assert result.returncode == 0, result.stderr
    assert calls == ["|whoami", f"{local}|stack select --create staging", f"{local}|--stack staging preview --diff"]
    assert (checkout / ".pulumi-state").is_dir() and "local file backend" in result.stderr


@pytest.mark.parametrize(("logged_in", "backend"), [(True, None), (False, "s3://state-bucket")])
def test_a_backend_the_user_chose_is_left_alone(
    checkout: Path, tmp_path: Path, logged_in: bool, backend: str | None
) -> None:
    result, calls = run_script(checkout, tmp_path, "production", "up", logged_in=logged_in, backend=backend)
    assert result.returncode == 0, result.stderr
    assert calls[-1] == f"{backend or ''}|--stack production up"
    assert not (checkout / ".pulumi-state").exists()


def test_wrong_stack_or_missing_cli_stop_with_a_clear_message(checkout: Path, tmp_path: Path) -> None:
    wrong, calls = run_script(checkout, tmp_path, "prod", "up")
    assert wrong.returncode == 2 and "use production or staging" in wrong.stderr and calls == []
    missing, calls = run_script(checkout, tmp_path, "staging", "preview", with_cli=False)
    assert missing.returncode == 127 and "https://www.pulumi.com/docs/install/" in missing.stderr
    assert calls == [] and not (tmp_path / "builds.log").exists()


def test_without_an_installed_cli_but_with_go_it_runs_the_one_it_builds(checkout: Path, tmp_path: Path) -> None:
    result, calls = run_script(checkout, tmp_path, "staging", "config", with_cli=False, with_go=True)
    local = f"file://{checkout}/.pulumi-state"
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "builds.log").read_text() == "run\n"
    assert calls == [
        "built||whoami",
        f"built|{local}|stack select --create staging",
        f"built|{local}|--stack staging config",
    ]


def test_the_built_cli_without_a_language_host_says_what_preview_needs(checkout: Path, tmp_path: Path) -> None:
    result, calls = run_script(checkout, tmp_path, "staging", "preview", with_cli=False, with_go=True)
    assert result.returncode == 127 and calls == []
    assert "no Python language host" in result.stderr and "https://www.pulumi.com/docs/install/" in result.stderr
    assert "./scripts/demo.sh" in result.stderr
    assert not (tmp_path / "builds.log").exists()  # said before minutes of building, not after
    # Once the build has one (tools/pulumi/go.mod lists it, the proxy serving its module), preview runs.
    (checkout / "tools" / "pulumi").mkdir(parents=True)
    (checkout / "tools" / "pulumi" / "go.mod").write_text(f"tool {LANGUAGE_HOST}\n")
    executable(tmp_path / "cli" / "pulumi-language-python", "#!/bin/sh\nexit 0\n")
    result, calls = run_script(checkout, tmp_path, "staging", "preview", with_cli=False, with_go=True)
    assert result.returncode == 0 and calls[-1].endswith("|--stack staging preview")


def test_with_the_real_language_host_beside_the_repository_the_built_cli_runs_preview(
    checkout: Path, tmp_path: Path
) -> None:
    # ../shared/tools/pulumi-language-python/ beside the repository: scripts/pulumi-cli.sh puts it beside the CLI.
    executable(tmp_path / "shared" / "tools" / "pulumi-language-python" / "pulumi-language-python", "#!/bin/sh\n")
    result, calls = run_script(checkout, tmp_path, "staging", "preview", with_cli=False, with_go=True)
    local = f"file://{checkout}/.pulumi-state"
    assert result.returncode == 0, result.stderr
    assert "no Python language host" not in result.stderr
    assert (tmp_path / "builds.log").read_text() == "run\n"
    assert calls[-1] == f"built|{local}|--stack staging preview"


def test_an_installed_cli_is_preferred_to_building_one(checkout: Path, tmp_path: Path) -> None:
    result, calls = run_script(checkout, tmp_path, "staging", "preview", logged_in=True, with_go=True)
    assert result.returncode == 0, result.stderr
    assert calls == ["|whoami", "|stack select --create staging", "|--stack staging preview"]
    assert not (tmp_path / "builds.log").exists()
