"""The stand-in Python language host (tests/stand_ins/language_host.py): started by the real Pulumi CLI, it must
run a program the way the real host does (virtualenv, config, secrets, preview or not) and report failures the
way the real host does (exit 32 is a bail, any other code an error with the code)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import language_pb2, language_pb2_grpc

from tests.e2e.harness import STAND_INS, cli_environment
from tests.stand_ins.language_host import Flags, LanguageHostError, interpreter, run_command, virtualenv_of

LAUNCHER = Path(__file__).resolve().parent / "stand_ins" / "pulumi-language-python"
PROGRAM = """
import os
import sys

import pulumi

config = pulumi.Config()
mode = config.get("mode") or "ok"
if mode == "run-error":
    raise pulumi.RunError("the program refused: a message for the user")
if mode == "crash":
    raise ValueError("an unexpected failure")
if mode == "exit":
    sys.exit(3)
print("hello from the program")
pulumi.export("plain", config.require("plain"))
pulumi.export("secret", config.require_secret("secret"))
pulumi.export("dryRun", pulumi.runtime.is_dry_run())
pulumi.export("python", sys.executable)
pulumi.export("virtualEnv", os.environ.get("VIRTUAL_ENV"))
"""


class TinyProject:
    """A one-file Pulumi program with its own state, run by the real CLI through the stand-in host (first on PATH,
    so preferred to a real host beside the CLI, with the CLI's warning that says so)."""

    def __init__(self, root: Path, cli_dir: Path) -> None:
        self.dir = root / "project"
        self.dir.mkdir(parents=True)
        (self.dir / "Pulumi.yaml").write_text(
            "name: tiny\nruntime:\n  name: python\n  options:\n    virtualenv: .venv\n"
        )
        (self.dir / "__main__.py").write_text(PROGRAM)
        (self.dir / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
        (root / "state").mkdir()
        (root / "home").mkdir()
        self.log = root / "calls.jsonl"
        self.cli = cli_dir / "pulumi"
        self.env = cli_environment(
            cli_dir=cli_dir, home=root / "home", backend=root / "state", log=self.log, path_first=STAND_INS
        )
        self.pulumi("stack", "init", "dev")
        self.pulumi("config", "set", "plain", "a plain value")
        self.pulumi("config", "set", "--secret", "secret", stdin="a secret value")

    def pulumi(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - the CLI under test
            [str(self.cli), *args, "--non-interactive"],
            cwd=self.dir,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def host_calls(self, method: str) -> list[dict[str, Any]]:
        entries = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [entry for entry in entries if entry["plugin"] == "language-python" and entry["method"] == method]


def test_the_cli_runs_a_program_through_it_with_config_secrets_and_the_virtualenv(
    pulumi_cli: Path, tmp_path: Path
) -> None:
    project = TinyProject(tmp_path, pulumi_cli)
    up = project.pulumi("up", "--yes")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "hello from the program" in up.stdout, "the program's output reaches the CLI"
    assert "using pulumi-language-python from $PATH" in up.stdout + up.stderr, "the stand-in, not another host"

    shown = project.pulumi("stack", "output", "--json", "--show-secrets")
    outputs = json.loads(shown.stdout)
    venv = str(project.dir / ".venv")
    assert outputs == {
        "plain": "a plain value",
        "secret": "a secret value",
        "dryRun": False,
        "python": f"{venv}/bin/python",
        "virtualEnv": venv,
    }
    assert json.loads(project.pulumi("stack", "output", "--json").stdout)["secret"] == "[secret]", "still secret"

    runs = project.host_calls("Run")
    assert [run["dry_run"] for run in runs] == [True, False], "up previews, then updates"
    assert all(run["secret_keys"] == ["tiny:secret"] and run["exit_code"] == 0 for run in runs)
    assert all(run["config_keys"] == ["tiny:plain", "tiny:secret"] for run in runs)
    assert "a secret value" not in project.log.read_text()


@pytest.mark.parametrize(
    ("mode", "shown", "not_shown"),
    [
        # pulumi-language-python-exec logs a RunError's message and exits 1: the real host then adds the code.
        (
            "run-error",
            ["the program refused: a message for the user", "program exited with non-zero exit code: 1"],
            ["Traceback"],
        ),
        # An unexpected exception: the exec script shows the traceback and exits 32, which is a "bail".
        ("crash", ["Program failed with an unhandled exception", "ValueError: an unexpected failure"], ["exit code"]),
        ("exit", ["program exited with non-zero exit code: 3"], []),
    ],
)
def test_a_failing_program_is_reported_as_the_real_host_reports_it(
    pulumi_cli: Path, tmp_path: Path, mode: str, shown: list[str], not_shown: list[str]
) -> None:
    project = TinyProject(tmp_path, pulumi_cli)
    project.pulumi("config", "set", "mode", mode)
    preview = project.pulumi("preview")
    output = preview.stdout + preview.stderr
    assert preview.returncode != 0
    for text in shown:
        assert text in output
    for text in not_shown:
        assert text not in output


class RunningHost:
    """The launcher started as the engine starts it, and a stub to its gRPC server."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PULUMI_STAND_IN_PYTHON": sys.executable}
        self.process = subprocess.Popen(  # noqa: S603 - our own launcher
            [str(LAUNCHER), *args], stdout=subprocess.PIPE, env=env
        )
        assert self.process.stdout is not None
        port = self.process.stdout.readline().decode().strip()
        assert port.isdigit(), "the first line is the port"
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = language_pb2_grpc.LanguageRuntimeStub(self.channel)

    def close(self) -> None:
        self.channel.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def test_it_answers_the_engines_questions_and_stops_on_an_interrupt() -> None:
    host = RunningHost("-root=/nowhere", "127.0.0.1:1")
    try:
        assert host.stub.GetPluginInfo(empty_pb2.Empty(), timeout=10).version == importlib.metadata.version("pulumi")
        info = language_pb2.ProgramInfo(root_directory="/nowhere", program_directory="/nowhere", entry_point=".")
        # No packages listed: the engine loads each plugin when the program asks for it.
        assert list(host.stub.GetRequiredPackages(language_pb2.GetRequiredPackagesRequest(info=info)).packages) == []
        with pytest.raises(grpc.RpcError) as unimplemented:
            host.stub.GenerateProject(language_pb2.GenerateProjectRequest(), timeout=10)
        assert unimplemented.value.code() == grpc.StatusCode.UNIMPLEMENTED
        # The engine interrupts its plugins when it is done with them.
        host.process.send_signal(signal.SIGINT)
        assert host.process.wait(timeout=10) == 0
    finally:
        host.close()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_it_stops_when_the_process_that_started_it_is_gone() -> None:
    """A CLI killed without stopping its plugins must not leave the host behind (the real one health-checks
    the engine for this)."""
    starter = subprocess.run(  # noqa: S603 - a parent that starts the host and exits at once
        [
            sys.executable,
            "-c",
            "import subprocess, sys; "
            f"host = subprocess.Popen([{str(LAUNCHER)!r}], stdout=subprocess.PIPE); "
            "host.stdout.readline(); print(host.pid)",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PULUMI_STAND_IN_PYTHON": sys.executable},
        timeout=30,
        check=True,
    )
    pid = int(starter.stdout)
    deadline = time.monotonic() + 15
    try:
        while not _gone(pid) and time.monotonic() < deadline:
            time.sleep(0.1)  # polling for the exit, with a deadline: there is no event to wait on for a non-child
        assert _gone(pid), "the host outlived its parent"
    finally:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)


# -- the command line it builds, without a CLI -------------------------------------------------------------


def test_flags_are_read_as_the_engine_passes_them() -> None:
    flags = Flags.parse(["-root=/project", "-virtualenv=.venv", "--tracing", "http://t", "127.0.0.1:4242"])
    assert flags.engine_address == "127.0.0.1:4242"
    assert flags.options == {"root": "/project", "virtualenv": ".venv", "tracing": "http://t"}


def test_the_program_runs_from_the_virtualenv_with_the_real_hosts_arguments(tmp_path: Path) -> None:
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").touch()
    options = struct_pb2.Struct()
    options.update({"virtualenv": ".venv", "toolchain": "pip"})
    info = language_pb2.ProgramInfo(
        root_directory=str(tmp_path), program_directory=str(tmp_path), entry_point=".", options=options
    )
    request = language_pb2.RunRequest(
        info=info,
        project="p",
        stack="s",
        pwd=str(tmp_path),
        dryRun=True,
        parallel=16,
        monitor_address="127.0.0.1:1",
        organization="o",
        args=["extra"],
    )
    venv = virtualenv_of(str(tmp_path), {"virtualenv": ".venv"})
    assert venv == tmp_path / ".venv"
    python = interpreter(venv)
    assert run_command(request, python, Path("/cli/pulumi-language-python-exec"), "127.0.0.1:2") == [
        f"{tmp_path}/.venv/bin/python",
        "-u",
        "/cli/pulumi-language-python-exec",
        *("--monitor", "127.0.0.1:1", "--engine", "127.0.0.1:2", "--project", "p"),
        *("--root_directory", str(tmp_path), "--stack", "s", "--pwd", str(tmp_path)),
        *("--dry_run", "true", "--parallel", "16", "--organization", "o"),
        ".",
        "extra",
    ]


def test_a_missing_virtualenv_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(LanguageHostError, match=r"python3 -m venv .*\.venv"):
        interpreter(virtualenv_of(str(tmp_path), {"virtualenv": ".venv"}))
