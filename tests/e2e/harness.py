"""The end-to-end harness: the real Pulumi CLI on a copy of the project, against the incident.io emulator.

Each workspace is a directory of its own: a copy of the project (Pulumi.yaml, the stack files, __main__.py,
providers/, components/; `.venv` a symlink to the virtualenv running the tests, since Pulumi.yaml says
`virtualenv: .venv`), a file state backend, a PULUMI_HOME and the stand-ins' call log. The stand-in AWS and
Kubernetes plugins (tests/stand_ins/) are installed into that PULUMI_HOME with `pulumi plugin install ... --file`,
where the CLI keeps the real ones, so nothing reaches AWS or a cluster, and the program and the dynamic provider
reach only the emulator (INCIDENT_IO_API_URL). The values only an operator knows are set with `pulumi config
set`, and the API key from stdin, as docs/configuration.md says.

The CLI: the one scripts/pulumi-cli.sh builds, or the one `$E2E_PULUMI_CLI` names (a path, or a name found on
PATH: the checks workflow sets `pulumi`, the released CLI it installs). The Python language host: the real one
where it is beside the CLI (an installed CLI has it; scripts/pulumi-cli.sh copies it there where this machine
has it), else the stand-in of tests/stand_ins/, found first on PATH; `language_host()` says which.

Everything a test asserts is what a user could see: the CLI's exit code and output (`--json` where the
command has it), `pulumi stack export`, the files of the state backend, the emulator's request log and the
stand-ins' call log.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from tests.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
STAND_INS = ROOT / "tests" / "stand_ins"
CLI_BUILDER = ROOT / "scripts" / "pulumi-cli.sh"
# Names the Pulumi CLI to run instead of the one scripts/pulumi-cli.sh builds: a path, or a name looked up on PATH.
CLI_ENV = "E2E_PULUMI_CLI"
LANGUAGE_HOST = "pulumi-language-python"
# The stand-in resource plugins: plugin name -> the Python package whose plugin version the program asks for.
STAND_IN_PLUGINS = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes"}
PROJECT = "unkey-alert-routing"
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.production.yaml", "Pulumi.staging.yaml", "__main__.py")
# `routes`: the stacks' routes files (components/routes_file.py), where a stack has one.
PROJECT_DIRS = ("providers", "components", "routes")
STACKS = ("production", "staging")
# The passphrase of the workspaces' state secrets (a throwaway value for throwaway state).
PASSPHRASE = "e2e-throwaway-passphrase"
# Seconds for one CLI command; they take a few seconds, so this only stops a hung run.
COMMAND_TIMEOUT = 300.0
# The environment of the caller that must not reach the CLI: real credentials and backends, other settings.
SCRUBBED_PREFIXES = ("PULUMI_", "INCIDENT_IO_", "AWS_", "KUBE", "AZURE_", "ARM_", "GOOGLE_", "CLOUDSDK_")

ROUTE_TYPE = "pulumi-python:dynamic/incidentio:AlertRoute"
SECRET_TYPE = "aws:secretsmanager/secret:Secret"
SECRET_VERSION_TYPE = "aws:secretsmanager/secretVersion:SecretVersion"
EXTERNAL_SECRET_TYPE = "kubernetes:external-secrets.io/v1:ExternalSecret"
ALERTMANAGER_PATCH_TYPE = "kubernetes:monitoring.coreos.com/v1:AlertmanagerPatch"
CHANGING_OPS = frozenset({"create", "update", "delete", "replace", "create-replacement", "delete-replaced"})


class CliUnavailableError(RuntimeError):
    """scripts/pulumi-cli.sh could not provide the CLI (no Go, no network): the e2e tests fail, never skip."""


@functools.cache
def pulumi_cli_dir() -> Path:
    """The directory of the Pulumi CLI the tests run: the one `$E2E_PULUMI_CLI` names, else the one
    scripts/pulumi-cli.sh builds (once; later calls are a lookup)."""
    named = os.environ.get(CLI_ENV)
    if named:
        found = shutil.which(named)
        if found is None:
            raise CliUnavailableError(f"{CLI_ENV}={named!r}: no such executable (a path, or a name on PATH)")
        return Path(found).resolve().parent
    result = subprocess.run(  # noqa: S603 - our own script
        [str(CLI_BUILDER)], capture_output=True, text=True, timeout=1800, check=False
    )
    if result.returncode != 0:
        raise CliUnavailableError(
            f"scripts/pulumi-cli.sh exited {result.returncode}; the end-to-end tests need the Pulumi CLI it "
            f"builds (Go 1.24+ and the Go module proxy):\n{result.stderr}"
        )
    return Path(result.stdout.strip())


def cli_version(cli_dir: Path) -> str:
    """`pulumi version` of the CLI in cli_dir (run with a throwaway PULUMI_HOME)."""
    with tempfile.TemporaryDirectory(prefix="pulumi-home-") as home:
        env = {**os.environ, "PULUMI_HOME": home, "PULUMI_SKIP_UPDATE_CHECK": "true"}
        result = subprocess.run(  # noqa: S603 - the CLI under test
            [str(cli_dir / "pulumi"), "version"], capture_output=True, text=True, env=env, timeout=60, check=False
        )
    return result.stdout.strip() or f"(unknown: `pulumi version` exited {result.returncode})"


def has_real_language_host(cli_dir: Path) -> bool:
    """Whether the real Python language host is beside the CLI, where the CLI looks for it first."""
    return os.access(cli_dir / LANGUAGE_HOST, os.X_OK)


def language_host(cli_dir: Path) -> str:
    """Which Python language host runs the program with this CLI, in words for a user."""
    if has_real_language_host(cli_dir):
        return f"the real one ({LANGUAGE_HOST} beside the CLI)"
    return f"the stand-in of tests/stand_ins (no {LANGUAGE_HOST} beside the CLI)"


def stand_in_host_dir(root: Path) -> Path:
    """A directory holding only the stand-in language host, to put first on PATH where the CLI has no real one
    (the stand-in plugins are not in it: found on PATH, the CLI would warn about each, every run)."""
    directory = root / "stand-in-language-host"
    directory.mkdir(parents=True, exist_ok=True)
    link = directory / LANGUAGE_HOST
    if not link.exists():
        link.symlink_to(STAND_INS / LANGUAGE_HOST)
    return directory


def plugin_version(package: str) -> str:
    """The plugin version the program asks the engine for: the package's pulumi-plugin.json, as the real language
    host reads it, else the package's own version."""
    try:
        text = importlib.metadata.distribution(package).read_text(f"{package}/pulumi-plugin.json")
        version = json.loads(text or "{}").get("version")
    except importlib.metadata.PackageNotFoundError:
        version = None
    return str(version or importlib.metadata.version(package))


def stand_in_plugin_archive(name: str, directory: Path) -> Path:
    """A plugin archive as `pulumi plugin install --file` takes one: `pulumi-resource-NAME` at its top, here a
    launcher of the stand-in in tests/stand_ins (which finds its Python and plugin.py from there)."""
    launcher = directory / f"pulumi-resource-{name}"
    launcher.write_text(
        "#!/usr/bin/env bash\n"
        f"# The stand-in {name} plugin of this repository's tests (tests/stand_ins/plugin.py): a test double that\n"
        "# answers the engine from the request alone; nothing reaches a real account.\n"
        f'exec {shlex.quote(str(STAND_INS / launcher.name))} "$@"\n'
    )
    launcher.chmod(0o755)
    archive = directory / f"stand-in-{name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(launcher, arcname=launcher.name)
    return archive


def operator_settings(stack: str) -> list[tuple[str, str]]:
    """The SET-ME values an operator sets, as `pulumi config set --path` paths and values."""
    # Imported here: the sandbox's every command imports this module, and the emulator's org (with its answer
    # models) takes a second and a half to import, which every `./scripts/pulumi.sh` in the sandbox paid.
    from tests.stack_harness import OPERATOR_VALUES

    settings: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else key, item)
        else:
            settings.append((prefix, str(value)))

    walk("", OPERATOR_VALUES[stack])
    return settings


def cli_environment(
    *,
    cli_dir: Path,
    home: Path,
    backend: Path,
    log: Path,
    path_first: Path | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The CLI's environment: the caller's minus anything that could reach a real account, plus the test's.
    On PATH: `path_first` (the stand-in language host where the CLI has no real one), then the CLI (with
    pulumi-language-python-exec and the dynamic provider's launcher), then the virtualenv's bin."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(SCRUBBED_PREFIXES)}
    front = [str(path_first)] if path_first else []
    env.update(
        PATH=os.pathsep.join([*front, str(cli_dir), str(Path(sys.prefix) / "bin"), env.get("PATH", "")]),
        PULUMI_HOME=str(home),
        PULUMI_BACKEND_URL=f"file://{backend}",
        PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        # The stand-ins run with the interpreter that runs the tests (it has pulumi and grpc).
        PULUMI_STAND_IN_PYTHON=sys.executable,
        PULUMI_STAND_IN_LOG=str(log),
        # No colour codes in the output the tests read.
        NO_COLOR="1",
    )
    env.update(extra or {})
    return env


def copy_project(destination: Path) -> None:
    """The files `pulumi` needs to run the program, and `.venv` pointing at the tests' virtualenv."""
    destination.mkdir(parents=True)
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, destination / name)
    for name in PROJECT_DIRS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
    (destination / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)


@dataclass
class CliRun:
    """One CLI command as a user saw it."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float = 0.0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def text(self) -> str:
        """The output with runs of whitespace as one space: the CLI wraps long messages to the terminal."""
        return " ".join(self.output.split())

    def json(self) -> Any:
        """The first JSON document on stdout (`preview --json`, `stack export`, `stack output --json`, and the
        preview that `up --json` prints before its event stream)."""
        document, _ = json.JSONDecoder().raw_decode(self.stdout.lstrip())
        return document

    def events(self) -> list[dict[str, Any]]:
        """The engine events that `up/refresh/destroy --json` print, one JSON object a line, after the preview."""
        text = self.stdout.lstrip()
        _, end = json.JSONDecoder().raw_decode(text)
        return [json.loads(line) for line in text[end:].splitlines() if line.strip()]

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.command)}\nexit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


@dataclass(frozen=True)
class Mark:
    """A point in the emulator's request log and the stand-ins' call log, to look at what came after."""

    requests: int
    log: int


@dataclass
class Workspace:
    root: Path
    cli_dir: Path
    emulator: Emulator | None = None
    runs: list[CliRun] = field(default_factory=list)
    # A directory first on PATH: the stand-in language host where the CLI has no real one (see create()).
    path_first: Path | None = None
    # More of the CLI's environment (the sandbox's: its emulator runs in a process of its own; a test's
    # INCIDENT_IO_READ_TIMEOUT).
    extra_env: dict[str, str] = field(default_factory=dict)
    # When set, each command is announced through it before it runs (the demo).
    announce: Callable[[str], None] | None = None

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def backend(self) -> Path:
        return self.root / "state"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def log(self) -> Path:
        return self.root / "stand-ins.jsonl"

    @staticmethod
    def create(
        root: Path,
        cli_dir: Path,
        *,
        api_key: str,
        stacks: tuple[str, ...] = STACKS,
        announce: Callable[[str], None] | None = None,
        before_stacks: Callable[[Workspace], None] | None = None,
    ) -> Workspace:
        """A fresh workspace: the stand-in plugins installed into its PULUMI_HOME, and the stacks initialised
        and configured as docs/configuration.md tells an operator to: the API key on stdin to `config set --secret`, the
        SET-ME values with `config set --path`. `before_stacks` runs once the plugins are installed."""
        copy_project(root / "project")
        (root / "state").mkdir()
        (root / "home").mkdir()
        path_first = None if has_real_language_host(cli_dir) else stand_in_host_dir(root)
        workspace = Workspace(root, cli_dir, path_first=path_first, announce=announce)
        workspace.install_stand_in_plugins()
        if before_stacks:
            before_stacks(workspace)
        for stack in stacks:
            workspace.pulumi("stack", "init", stack, "--secrets-provider", "passphrase")
            workspace.pulumi("config", "set", "--secret", "incidentio:apiKey", stack=stack, stdin=api_key)
            for path, value in operator_settings(stack):
                workspace.pulumi("config", "set", "--path", path, value, stack=stack)
        return workspace

    def install_stand_in_plugins(self) -> None:
        """`pulumi plugin install resource NAME VERSION --file ARCHIVE` for each stand-in, at the version the
        program asks for: the CLI then finds them in PULUMI_HOME as it finds real plugins, without a warning."""
        archives = self.root / "stand-in-plugins"
        archives.mkdir(exist_ok=True)
        for name, package in STAND_IN_PLUGINS.items():
            archive = stand_in_plugin_archive(name, archives)
            self.pulumi("plugin", "install", "resource", name, plugin_version(package), "--file", str(archive))

    def copy_to(self, root: Path, emulator: Emulator | None) -> Workspace:
        """This workspace's project, state and home in `root` (a test's own), talking to `emulator`."""
        shutil.copytree(self.root, root, symlinks=True)
        if (root / "stand-ins.jsonl").exists():
            (root / "stand-ins.jsonl").unlink()
        path_first = stand_in_host_dir(root) if self.path_first else None
        return Workspace(root, self.cli_dir, emulator, path_first=path_first)

    # -- running the CLI ------------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        extra = {"INCIDENT_IO_API_URL": self.emulator.url} if self.emulator else {}
        extra.update(self.extra_env)
        return cli_environment(
            cli_dir=self.cli_dir,
            home=self.home,
            backend=self.backend,
            log=self.log,
            path_first=self.path_first,
            extra=extra,
        )

    def pulumi(
        self,
        *args: str,
        stack: str | None = None,
        expect: int | None = 0,
        cwd: Path | None = None,
        show: bool = False,
        stdin: str | None = None,
    ) -> CliRun:
        """Runs `pulumi ARGS --non-interactive [--stack STACK]` in the project (or `cwd`); `expect` is the exit
        code it must end with (None: any; a failure shows the whole run). `show`: the output goes to this
        process's stdout and stderr instead of being captured (the demo). `stdin`: what the command reads
        (a secret value: never on the command line, where it would land in shell history and `ps`)."""
        command = ["pulumi", *args, "--non-interactive", *(["--stack", stack] if stack else [])]
        if self.announce:
            self.announce(f"$ {' '.join(command)}" + ("   (the value on stdin)" if stdin is not None else ""))
        started = time.monotonic()
        completed = subprocess.run(  # noqa: S603 - the CLI under test, arguments from the tests
            [str(self.cli_dir / "pulumi"), *command[1:]],
            cwd=cwd or self.project,
            env=self.environment(),
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=not show,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        seconds = time.monotonic() - started
        run = CliRun(command, completed.returncode, completed.stdout or "", completed.stderr or "", seconds)
        self.runs.append(run)
        if expect is not None and run.returncode != expect:
            raise AssertionError(f"expected exit {expect}:\n{run.describe()}")
        return run

    def preview(self, stack: str, *args: str) -> dict[str, Any]:
        """`pulumi preview --json`: config, steps (changes only) and changeSummary."""
        document: dict[str, Any] = self.pulumi("preview", "--json", *args, stack=stack).json()
        return document

    def up(self, stack: str, *args: str, expect: int | None = 0) -> CliRun:
        """`pulumi up --yes`. Tests pass `--skip-preview` for a deploy that only sets the scene (its preview runs
        the program a second time, and is not what the test is about)."""
        return self.pulumi("up", "--yes", "--json", *args, stack=stack, expect=expect)

    def export(self, stack: str) -> dict[str, Any]:
        """`pulumi stack export`: the stack's state."""
        document: dict[str, Any] = self.pulumi("stack", "export", stack=stack).json()
        return document

    def outputs(self, stack: str) -> dict[str, Any]:
        document: dict[str, Any] = self.pulumi("stack", "output", "--json", stack=stack).json()
        return document

    # -- the stack files ------------------------------------------------------------------------------

    def stack_file(self, stack: str) -> Path:
        return self.project / f"Pulumi.{stack}.yaml"

    def edit_config(self, stack: str, edit: Callable[[dict[str, Any]], None]) -> None:
        """Edit a stack file's config as a person edits it (project keys without the prefix)."""
        path = self.stack_file(stack)
        document = yaml.safe_load(path.read_text())
        config = {key.removeprefix(f"{PROJECT}:"): value for key, value in document["config"].items()}
        edit(config)
        document["config"] = {key if ":" in key else f"{PROJECT}:{key}": value for key, value in config.items()}
        path.write_text(yaml.safe_dump(document, sort_keys=False))

    def edit_route(self, stack: str, name: str, edit: Callable[[dict[str, Any]], None]) -> None:
        def apply(config: dict[str, Any]) -> None:
            (route,) = (route for route in config["routes"] if route["name"] == name)
            edit(route)

        self.edit_config(stack, apply)

    def routes(self, stack: str) -> list[dict[str, Any]]:
        config = yaml.safe_load(self.stack_file(stack).read_text())["config"]
        routes: list[dict[str, Any]] = config[f"{PROJECT}:routes"]
        return routes

    # -- what happened --------------------------------------------------------------------------------

    def mark(self) -> Mark:
        assert self.emulator is not None
        return Mark(len(self.emulator.state.requests), len(self.stand_in_log()))

    def requests_since(self, mark: Mark) -> list[tuple[str, str]]:
        assert self.emulator is not None
        return list(self.emulator.state.requests[mark.requests :])

    def route_writes_since(self, mark: Mark) -> list[tuple[str, str]]:
        """POST, PUT and DELETE requests on alert routes, through either API version: what changes a route in
        incident.io."""
        return [
            (method, path)
            for method, path in self.requests_since(mark)
            if method != "GET" and path.startswith(("/v2/alert_routes", "/v3/alert_routes"))
        ]

    def claims_since(self, mark: Mark) -> list[tuple[str, str]]:
        return [request for request in self.requests_since(mark) if request == ("POST", "/v2/managed_resources")]

    def stand_in_log(self, since: Mark | None = None) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        entries = [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]
        return entries[since.log :] if since else entries

    def state_files(self) -> Iterator[Path]:
        """Every file of the state backend (stacks, backups, history)."""
        yield from (path for path in self.backend.rglob("*") if path.is_file())


# -- editing a stack's config (project keys without the prefix) ----------------------------------------


def route_named(config: dict[str, Any], name: str) -> dict[str, Any]:
    routes: list[dict[str, Any]] = config["routes"]
    (route,) = (route for route in routes if route["name"] == name)
    return route


def rename_route(config: dict[str, Any], old: str, new: str) -> None:
    """A new name for a route, in its declaration and in the routing tests that expect it."""
    route_named(config, old)["name"] = new
    for test in config.get("routingTests") or []:
        expected = test.get("expect", {}).get("routes")
        if expected:
            test["expect"]["routes"] = [new if name == old else name for name in expected]


def remove_route(config: dict[str, Any], name: str) -> dict[str, Any]:
    """Takes a route out of the stack file, with the routing tests that expect it; returns its declaration."""
    route = route_named(config, name)
    config["routes"] = [other for other in config["routes"] if other is not route]
    config["routingTests"] = [
        test for test in config.get("routingTests") or [] if name not in (test.get("expect", {}).get("routes") or [])
    ]
    return route


# -- many routes (the benchmark, the outage test) -------------------------------------------------------

# The two sources the program itself needs (alertmanagerSource, checklySource); only these are declared, so
# that routing coverage derives no alert from a source no route takes (a `dropped` warning).
GENERATED_ROUTE_SOURCES = ("alertmanager", "checkly")


def generated_routes(count: int) -> list[dict[str, Any]]:
    """`count` routes, each on one source with a condition, that routing coverage has nothing to say about:
    per source, the first route takes alerts without a severity and each other one a severity value of its
    own, so every alert coverage derives reaches exactly one route (no `dropped`, `twice` or `unreached`)."""
    routes: list[dict[str, Any]] = []
    for index in range(count):
        source = GENERATED_ROUTE_SOURCES[index % len(GENERATED_ROUTE_SOURCES)]
        condition: dict[str, Any] = (
            {"reference": "severity", "operation": "is_not_set"}
            if index < len(GENERATED_ROUTE_SOURCES)
            else {"reference": "severity", "operation": "one_of", "values": [f"level-{index:03d}"]}
        )
        routes.append(
            {"name": f"Route {index:03d}", "sources": [{"source": source, "when": [condition]}], "slack": "alerts"}
        )
    return routes


def configure_routes(workspace: Workspace, stack: str, routes: list[dict[str, Any]], like: dict[str, Any]) -> None:
    """The stack file's routes replaced by `routes`, its names by production's (`like`), and no routing tests
    (their output and checks are not what is measured or tested). Encrypted and operator-set values stay as set."""

    def edit(config: dict[str, Any]) -> None:
        for key in ("alertmanagerSource", "checklySource", "references", "escalationPaths", "slackChannels"):
            config[key] = like[key]
        config["alertSources"] = {key: like["alertSources"][key] for key in GENERATED_ROUTE_SOURCES}
        config["routes"] = routes
        config.pop("routingTests", None)
        # Coverage findings warn by default; `failOn` would make them errors. None is expected: keep the default.
        config.pop("routingCoverage", None)

    workspace.edit_config(stack, edit)


# -- reading CLI JSON ---------------------------------------------------------------------------------


def urn_type(urn: str) -> str:
    return urn.split("::")[2].split("$")[-1]


def urn_name(urn: str) -> str:
    return urn.split("::")[-1]


def changes(preview: dict[str, Any], type_: str | None = None) -> dict[str, list[str]]:
    """Resource name -> the changing operations the preview plans for it (creates, updates, deletes...)."""
    planned: dict[str, list[str]] = {}
    for step in preview["steps"]:
        if step["op"] in CHANGING_OPS and (type_ is None or urn_type(step["urn"]) == type_):
            planned.setdefault(urn_name(step["urn"]), []).append(step["op"])
    return planned


# A resource's line in the CLI's human output (`~ pulumi-python:dynamic/incidentio:AlertRoute: (update)`); its
# `[urn=...]` follows within the next lines.
_OPERATION_LINE = re.compile(r"^\s*[-+~<>=]* ?(?P<type>[\w:/.-]+): \((?P<op>[\w-]+)\)$")
_URN_LINE = re.compile(r"^\s*\[urn=(?P<urn>[^\]]+)\]$")


def shown_changes(output: str, type_: str | None = None) -> dict[str, list[str]]:
    """Resource name -> the changing operations the CLI's human output (`--diff`) shows for it: what a
    reader of a preview comment or a deploy log sees. Refreshes and unchanged resources are not changes."""
    shown: dict[str, list[str]] = {}
    lines = output.splitlines()
    for index, line in enumerate(lines):
        operation = _OPERATION_LINE.match(line)
        if operation is None or operation["op"] not in CHANGING_OPS:
            continue
        urn = next((found["urn"] for later in lines[index + 1 : index + 4] if (found := _URN_LINE.match(later))), None)
        assert urn is not None, f"no [urn=...] under {line.strip()!r}"
        if type_ is None or urn_type(urn) == type_:
            shown.setdefault(urn_name(urn), []).append(operation["op"])
    return shown


def step_inputs(preview: dict[str, Any], name: str, op: str) -> dict[str, Any]:
    (step,) = (step for step in preview["steps"] if urn_name(step["urn"]) == name and step["op"] == op)
    inputs: dict[str, Any] = (step.get("newState") or {}).get("inputs", {})
    return inputs


def done(events: list[dict[str, Any]], type_: str | None = None) -> list[dict[str, Any]]:
    """The operations an `up --json` completed (its resOutputsEvent metadata), optionally of one type."""
    completed = [event["resOutputsEvent"]["metadata"] for event in events if "resOutputsEvent" in event]
    return [meta for meta in completed if type_ is None or meta["type"] == type_]


def summary(events: list[dict[str, Any]]) -> dict[str, Any]:
    (event,) = (event["summaryEvent"] for event in events if "summaryEvent" in event)
    result: dict[str, Any] = event
    return result


def live_routes(workspace: Workspace) -> dict[str, str]:
    """Route id -> name, as incident.io has them."""
    assert workspace.emulator is not None
    return {route.id: str(route.payload["name"]) for route in workspace.emulator.state.routes.values()}


def managed_routes(workspace: Workspace, stack: str) -> dict[str, str]:
    """Resource name -> route id, as the stack's state has them."""
    return {name: resource["id"] for name, resource in resources(workspace.export(stack), ROUTE_TYPE).items()}


def resources(state: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    """Resource name -> its record in `pulumi stack export`, for one type."""
    return {
        urn_name(resource["urn"]): resource
        for resource in state["deployment"].get("resources", [])
        if resource["type"] == type_
    }
