"""A stand-in `pulumi-language-python` language host: a test double for end-to-end tests and the demo.

Why it exists: the Pulumi CLI runs a Python program through its Python language host, a Go program of its own
module (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3). The Go module proxy refuses that
module at every version, so scripts/pulumi-cli.sh can build the CLI but not the host, and nothing else may
provide it here. Real users get the real host with the CLI (https://www.pulumi.com/docs/install/); this file
is used only where the real one is absent (the e2e tests, scripts/demo.sh), found on PATH as
`pulumi-language-python` (the launcher beside this file).

What the engine sees, as with the real host:

- The process prints the port of its gRPC server (127.0.0.1) as the first line of stdout, then serves the
  LanguageRuntime service until it is stopped (SIGINT/SIGTERM, or its parent, the engine, gone). The
  engine (v3.274) starts it with its own address as the only argument, and sends Pulumi.yaml's runtime
  options in each request; the `-root=DIR`, `-virtualenv=...` flags of older engines are accepted too.
- `Run` executes the program the way the real host does:
  `<python> -u <pulumi-language-python-exec> --monitor ADDR --engine ADDR --project P --root_directory DIR
  --stack S --pwd PWD --dry_run true|false --parallel N [--organization O] <entry point> [args]`, with
  `PULUMI_CONFIG` (the config as a JSON object) and `PULUMI_CONFIG_SECRET_KEYS` (a JSON list) in its
  environment, its stdout and stderr this process's (the engine shows them). `<python>` is the project's
  virtualenv (`runtime.options.virtualenv` in Pulumi.yaml, relative to the project root; `toolchain: uv`
  without one means `.venv`), whose `bin` goes first on PATH with VIRTUAL_ENV set; without a virtualenv,
  `$PULUMI_PYTHON_CMD` or `python3`. `pulumi-language-python-exec` ships with the CLI: it is looked up on
  PATH, then beside `pulumi` on PATH (`$PULUMI_LANGUAGE_PYTHON_EXEC` names it explicitly).
  Exit code 0 is success; 32 is "bail" (the program already reported the error); any other code is the
  error "program exited with non-zero exit code: N".
- `GetRequiredPackages` (and the deprecated `GetRequiredPlugins`) answer "none": the engine then loads each
  provider plugin when the program first needs it (the stand-in plugins, or installed ones, on PATH). The
  real host lists the Pulumi packages of the virtualenv so that the engine can install their plugins first.
- Runtime options it cannot honour are refused rather than ignored: `toolchain: poetry` and `typechecker`
  (the real host runs mypy or pyright before the program).
- `Handshake`, `GetPluginInfo` (the installed `pulumi` SDK's version), `About` (the interpreter and its
  version), `GetProgramDependencies` (the virtualenv's distributions, read with importlib.metadata) and
  `RuntimeOptionsPrompts` (none) answer; `Cancel` stops a running program. Anything else (code generation,
  `InstallDependencies`, plugins written in Python) is UNIMPLEMENTED: create the virtualenv yourself
  (scripts/test.sh and scripts/demo.sh do).

Every call is appended to the JSON-lines log `$PULUMI_STAND_IN_LOG` when that variable is set, like the
stand-in provider plugins' calls: plugin "language-python", method, and for `Run` the project, stack,
dry_run, the program's exit code and the config KEYS (never a config value: they hold secrets).
"""

# ruff: noqa: N802 - the servicer's methods carry the gRPC method names (GetPluginInfo, Run, ...)

from __future__ import annotations

import importlib.metadata
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

LOG_ENV = "PULUMI_STAND_IN_LOG"
EXEC_ENV = "PULUMI_LANGUAGE_PYTHON_EXEC"
EXEC_NAME = "pulumi-language-python-exec"
PLUGIN = "language-python"
# pulumi-language-python-exec's "the error was already shown to the user" exit code.
BAIL_EXIT_CODE = 32
# The engine sends the options of Pulumi.yaml's `runtime.options` as `-name=value` flags and in each request.
KNOWN_FLAGS = ("root", "virtualenv", "toolchain", "typechecker", "tracing", "use-executor")


def _children_cpu() -> float:
    """User + system CPU seconds of this process's waited-for children: the programs, one at a time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class LanguageHostError(Exception):
    """A request that cannot be served; the message says what to fix."""


@dataclass(frozen=True)
class Flags:
    """The command line the engine starts a language host with."""

    engine_address: str = ""
    options: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def parse(argv: list[str]) -> Flags:
        """Go-style flags (`-name=value`, `--name value`) and the engine address, the one positional argument."""
        options: dict[str, str] = {}
        positional: list[str] = []
        items = iter(argv)
        for item in items:
            if not item.startswith("-") or item in ("-", "--"):
                positional.append(item)
                continue
            name, equals, value = item.lstrip("-").partition("=")
            if not equals:
                # A boolean flag, or a value in the next argument (Go's flag package allows both).
                value = "true" if name not in KNOWN_FLAGS else next(items, "")
            options[name] = value
        return Flags(engine_address=positional[-1] if positional else "", options=options)


def find_executor(flags: Flags) -> Path:
    """`pulumi-language-python-exec`: named explicitly, on PATH, or beside the `pulumi` on PATH."""
    named = os.environ.get(EXEC_ENV) or flags.options.get("use-executor")
    if named:
        return Path(named)
    found = shutil.which(EXEC_NAME)
    if found:
        return Path(found)
    cli = shutil.which("pulumi")
    if cli and (Path(cli).resolve().parent / EXEC_NAME).is_file():
        return Path(cli).resolve().parent / EXEC_NAME
    raise LanguageHostError(
        f"{EXEC_NAME} was not found on PATH or beside `pulumi`: it ships with the Pulumi CLI "
        f"(scripts/pulumi-cli.sh builds it into .cache/pulumi-cli/<version>/); or set {EXEC_ENV}"
    )


def program_options(info: language_pb2.ProgramInfo, flags: Flags) -> dict[str, Any]:
    """The runtime options of Pulumi.yaml: from the request, else from the command line."""
    options: dict[str, Any] = dict(flags.options)
    if info.HasField("options"):
        options.update(json_format.MessageToDict(info.options))
    return options


def virtualenv_of(root: str, options: dict[str, Any]) -> Path | None:
    """The project's virtualenv directory, as the real host resolves it (relative to the project root)."""
    virtualenv = str(options.get("virtualenv") or "")
    toolchain = str(options.get("toolchain") or "pip")
    if not virtualenv and toolchain == "uv":
        virtualenv = ".venv"
    if toolchain == "poetry":
        raise LanguageHostError(
            "the stand-in Python language host does not support `toolchain: poetry`; use pip or uv with a virtualenv"
        )
    if options.get("typechecker"):
        raise LanguageHostError(
            "the stand-in Python language host does not run a typechecker (runtime option `typechecker`)"
        )
    if not virtualenv:
        return None
    path = Path(virtualenv)
    return path if path.is_absolute() else Path(root or os.getcwd()) / path


def interpreter(virtualenv: Path | None) -> str:
    if virtualenv is None:
        return os.environ.get("PULUMI_PYTHON_CMD") or "python3"
    python = virtualenv / "bin" / "python"
    if not python.exists():
        raise LanguageHostError(
            f"The 'virtualenv' option in Pulumi.yaml is set to {str(virtualenv)!r}, but it is not a virtual "
            f"environment (no {python}). Create it: python3 -m venv {virtualenv} && "
            f"{virtualenv}/bin/python -m pip install -r requirements.txt"
        )
    return str(python)


def program_environment(virtualenv: Path | None, config: dict[str, str], secret_keys: list[str]) -> dict[str, str]:
    """The program's environment: this process's, plus the config, plus the virtualenv activated."""
    env = dict(os.environ)
    env["PULUMI_CONFIG"] = json.dumps(config)
    env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(secret_keys)
    if virtualenv is not None:
        env["VIRTUAL_ENV"] = str(virtualenv)
        env["PATH"] = os.pathsep.join([str(virtualenv / "bin"), env.get("PATH", "")])
        env.pop("PYTHONHOME", None)
    return env


def run_command(request: language_pb2.RunRequest, python: str, executor: Path, engine_address: str) -> list[str]:
    """The exec script's command line, flag for flag what the real host passes (empty values left out)."""
    flags = {
        "monitor": request.monitor_address,
        "engine": engine_address,
        "project": request.project,
        "root_directory": request.info.root_directory,
        "stack": request.stack,
        "pwd": request.pwd,
        "dry_run": "true" if request.dryRun else "false",
        "parallel": str(request.parallel),
        "organization": request.organization,
    }
    args = [python, "-u", str(executor)]
    for name, value in flags.items():
        if value:
            args += [f"--{name}", value]
    # The entry point as the engine sends it, relative to the program directory (the exec script changes into
    # --pwd first); "." runs the directory's __main__.py.
    return [*args, request.info.entry_point or request.program or ".", *request.args]


class PythonLanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    """The LanguageRuntime service, for Python programs run from a virtualenv."""

    def __init__(self, flags: Flags) -> None:
        self.flags = flags
        self.engine_address = flags.engine_address
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()

    # -- the log ----------------------------------------------------------------------------------------

    def record(self, method: str, **details: Any) -> None:
        path = os.environ.get(LOG_ENV)
        if not path:
            return
        line = json.dumps({"plugin": PLUGIN, "method": method, **details}, sort_keys=True) + "\n"
        with self._lock, open(path, "a", encoding="utf-8") as log:
            log.write(line)

    # -- protocol ---------------------------------------------------------------------------------------

    def Handshake(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.engine_address:
            self.engine_address = request.engine_address
        self.record("Handshake", root_directory=request.root_directory, program_directory=request.program_directory)
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> Any:
        version = importlib.metadata.version("pulumi")
        self.record("GetPluginInfo", version=version)
        return plugin_pb2.PluginInfo(version=version)

    def GetRequiredPlugins(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.record("GetRequiredPlugins")
        return language_pb2.GetRequiredPluginsResponse()

    def GetRequiredPackages(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.record("GetRequiredPackages")
        return language_pb2.GetRequiredPackagesResponse()

    def RuntimeOptionsPrompts(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.record("RuntimeOptionsPrompts")
        return language_pb2.RuntimeOptionsResponse()

    def About(self, request: Any, context: grpc.ServicerContext) -> Any:
        python = self._python(request.info, context)
        answer = subprocess.run(  # noqa: S603 - the project's own interpreter
            [python, "--version"], capture_output=True, text=True, check=False
        )
        version = answer.stdout.strip().removeprefix("Python ")
        self.record("About", executable=python, version=version)
        return language_pb2.AboutResponse(executable=python, version=version)

    def GetProgramDependencies(self, request: Any, context: grpc.ServicerContext) -> Any:
        python = self._python(request.info, context)
        listing = subprocess.run(  # noqa: S603 - the project's own interpreter
            [
                python,
                "-c",
                "import importlib.metadata as m, json; "
                "print(json.dumps(sorted((d.metadata['Name'], d.version) for d in m.distributions())))",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if listing.returncode != 0:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"listing the packages of {python} failed")
        dependencies = [
            language_pb2.DependencyInfo(name=name, version=version) for name, version in json.loads(listing.stdout)
        ]
        self.record("GetProgramDependencies", count=len(dependencies))
        return language_pb2.GetProgramDependenciesResponse(dependencies=dependencies)

    def Run(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            options = program_options(request.info, self.flags)
            virtualenv = virtualenv_of(request.info.root_directory or self.flags.options.get("root", ""), options)
            python = interpreter(virtualenv)
            executor = find_executor(self.flags)
        except LanguageHostError as error:
            self.record("Run", project=request.project, stack=request.stack, error=str(error))
            return language_pb2.RunResponse(error=str(error))
        config = dict(request.config)
        command = run_command(request, python, executor, self.engine_address)
        env = program_environment(virtualenv, config, list(request.configSecretKeys))
        # stdout and stderr are this process's: the engine shows what the program prints, as with the real host.
        started, cpu = time.monotonic(), _children_cpu()
        process = subprocess.Popen(command, env=env)  # noqa: S603 - the command the engine asked for
        with self._lock:
            self._running.add(process)
        try:
            code = process.wait()
        finally:
            with self._lock:
                self._running.discard(process)
        sys.stdout.flush()
        sys.stderr.flush()
        self.record(
            "Run",
            project=request.project,
            stack=request.stack,
            dry_run=request.dryRun,
            config_keys=sorted(config),
            secret_keys=sorted(request.configSecretKeys),
            exit_code=code,
            # How long the program ran (benchmarks/scale_benchmark.py tells it from the engine's time).
            seconds=round(time.monotonic() - started, 3),
            cpu_seconds=round(_children_cpu() - cpu, 3),
        )
        if code == 0:
            return language_pb2.RunResponse()
        if code == BAIL_EXIT_CODE:
            return language_pb2.RunResponse(bail=True)
        # A program killed by a signal has no exit code: Go's WaitStatus.ExitStatus() says -1, so the real host does.
        return language_pb2.RunResponse(error=f"program exited with non-zero exit code: {max(code, -1)}")

    def Cancel(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.record("Cancel")
        self.stop_programs()
        return empty_pb2.Empty()

    def InstallDependencies(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        self.record("InstallDependencies")
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            "the stand-in Python language host does not install dependencies: create the virtualenv first "
            "(python3 -m venv .venv && .venv/bin/pip install -r requirements.txt)",
        )
        raise AssertionError("unreachable: abort raises")

    # -- helpers ----------------------------------------------------------------------------------------

    def _python(self, info: Any, context: grpc.ServicerContext) -> str:
        try:
            options = program_options(info, self.flags)
            return interpreter(virtualenv_of(info.root_directory or self.flags.options.get("root", ""), options))
        except LanguageHostError as error:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
            raise AssertionError("unreachable: abort raises") from None

    def stop_programs(self) -> None:
        with self._lock:
            running = list(self._running)
        for process in running:
            process.terminate()


def serve(flags: Flags) -> tuple[grpc.Server, PythonLanguageHost]:
    """Starts the server on 127.0.0.1 and prints the port: the engine's signal that the host is ready."""
    host = PythonLanguageHost(flags)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    return server, host


def watch_parent(stopped: threading.Event, parent: int, interval: float = 1.0) -> None:
    """Sets `stopped` when `parent`, the process that started this one (the engine), is gone.

    The real host health-checks the engine for the same reason: a CLI killed without a chance to stop its
    plugins must not leave a host (and the program it runs) behind.
    """
    while not stopped.wait(interval):
        if os.getppid() != parent:
            stopped.set()


def main(argv: list[str]) -> int:
    # Read before the port is printed: once it is, the engine may be gone before a watcher starts.
    parent = os.getppid()
    flags = Flags.parse(argv)
    server, host = serve(flags)
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        # The engine interrupts its plugins when it is done with them: stop at once, programs first.
        stopped.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=watch_parent, args=(stopped, parent), name="watch-engine", daemon=True).start()
    stopped.wait()
    host.stop_programs()
    server.stop(grace=0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
