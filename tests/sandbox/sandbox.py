"""The sandbox: where it lives, its emulator process, its project and the environment that points at it.

Everything is in one directory, `.cache/sandbox/` (or `$SANDBOX_DIR`), gitignored:

    emulator.pid, emulator.url, emulator.log   the running emulator (a process of its own, left running)
    org.pickle                                 the emulated org, saved after every change (see org_file.py)
    project/                                   links to this checkout's program (Pulumi.yaml, __main__.py,
                                               providers/, components/, .venv) and the sandbox's stack files
    state/, home/                              the file state backend and PULUMI_HOME (the stand-in plugins)
    stand-ins.jsonl                            what the stand-in AWS and Kubernetes plugins were asked
    env                                        the environment to source

The sandbox's stack files are this checkout's Pulumi.<stack>.yaml, rewritten before each ./scripts/pulumi.sh
command run in the sandbox, with the values only an operator knows (Slack channel, AWS account, secret store,
Alertmanager name) set to the emulated org's and `incidentio:apiUrl` set to the emulator: your stack files are
never written, and what you edit in them is what the next command runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.harness import (
    PROJECT,
    STACKS,
    Workspace,
    has_real_language_host,
    operator_settings,
    stand_in_host_dir,
)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = ROOT / ".cache" / "sandbox"
# Another directory for the sandbox (the tests' own).
DIR_ENV = "SANDBOX_DIR"
# Set by the env file: ./scripts/pulumi.sh then runs in the sandbox named by it.
ACTIVE_ENV = "ALERT_ROUTING_SANDBOX"
# The only key the sandbox's emulator accepts: a throwaway, in the env file on purpose.
API_KEY = "sandbox-throwaway-key"
# The base URL the emulated sources' alert event URLs carry (what the stack outputs show).
SOURCES_BASE_URL = "https://api.incident.io"
MARKER = ".sandbox"
# Seconds: the emulator starts in about one (it loads the incident.io SDK); these only stop a hung one.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
PROJECT_LINKS = ("Pulumi.yaml", "__main__.py", "providers", "components")
# `pulumi config` subcommands that write the stack file: in the sandbox they would write its copy, rewritten
# before the next command, so they are refused with what to do instead.
CONFIG_WRITES = frozenset({"set", "set-all", "rm", "rm-all", "cp", "refresh"})
# Stack config the sandbox never takes from your stack file: it sets the URL, and the key comes from the env.
NOT_TAKEN = frozenset({"incidentio:apiKey", "incidentio:apiUrl"})


class SandboxError(Exception):
    """Something the user must do; the message says what."""


def say(line: str = "") -> None:
    print(line, flush=True)


@dataclass(frozen=True)
class Sandbox:
    root: Path

    @staticmethod
    def at(directory: str | None = None) -> Sandbox:
        return Sandbox(Path(directory or os.environ.get(DIR_ENV) or DEFAULT_DIR).resolve())

    # -- where things are ---------------------------------------------------------------------------------

    @property
    def pid_file(self) -> Path:
        return self.root / "emulator.pid"

    @property
    def url_file(self) -> Path:
        return self.root / "emulator.url"

    @property
    def log_file(self) -> Path:
        return self.root / "emulator.log"

    @property
    def port_file(self) -> Path:
        return self.root / "emulator.port"

    @property
    def org_file(self) -> Path:
        return self.root / "org.pickle"

    @property
    def env_file(self) -> Path:
        return self.root / "env"

    @property
    def project(self) -> Path:
        return self.root / "project"

    def shown(self, path: Path | None = None) -> str:
        """A path as the user would type it: relative to the checkout when inside it."""
        path = path or self.root
        with contextlib.suppress(ValueError):
            return str(path.relative_to(Path.cwd()))
        return str(path)

    # -- the directory --------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """The sandbox's directory: made, or one the sandbox made before; anything else is refused."""
        if self.root.exists() and any(self.root.iterdir()) and not (self.root / MARKER).exists():
            raise SandboxError(f"{self.root} exists and is not a sandbox; choose another {DIR_ENV}")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / MARKER).write_text("made by scripts/sandbox.sh; `./scripts/sandbox.sh reset` deletes it\n")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One up/down/reset at a time: two `up`s at once still start one emulator."""
        self.prepare()
        with (self.root / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def remove(self) -> None:
        if self.root.exists():
            if not (self.root / MARKER).exists():
                raise SandboxError(f"{self.root} is not a sandbox; not deleting it")
            shutil.rmtree(self.root)

    # -- the emulator process -------------------------------------------------------------------------------

    def running_pid(self) -> int | None:
        """The emulator's pid when it is running, and is this sandbox's (a pid file outliving its process, or a
        pid reused by another process, is not)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _is_our_emulator(pid, self.root) else None

    def url(self) -> str | None:
        if self.running_pid() is None:
            return None
        try:
            return self.url_file.read_text().strip() or None
        except OSError:
            return None

    def start_emulator(self, port: int | None) -> tuple[int, str]:
        """Starts the emulator in a session of its own (it outlives this command), and waits until it listens."""
        self.url_file.unlink(missing_ok=True)
        remembered = port is None and self.port_file.exists()
        wanted = port if port is not None else int(self.port_file.read_text()) if remembered else 0
        command = [sys.executable, "-m", "tests.sandbox", "--dir", str(self.root), "serve", "--port", str(wanted)]
        if remembered:
            command.append("--or-any-port")
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - our own module
                command,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        self.pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + START_TIMEOUT
        while not self.url_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                if process.poll() is None:
                    process.kill()
                self.pid_file.unlink(missing_ok=True)
                tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
                raise SandboxError(f"the emulator did not start (see {self.shown(self.log_file)}):\n{tail}")
            time.sleep(0.1)
        return process.pid, self.url_file.read_text().strip()

    def stop_emulator(self) -> int | None:
        """Stops the emulator by its pid (it saves the org first); None when it was not running."""
        pid = self.running_pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            while _is_our_emulator(pid, self.root):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    break
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        self.url_file.unlink(missing_ok=True)
        return pid

    # -- the project and its stacks -------------------------------------------------------------------------

    def workspace(self, cli_dir: Path, api_url: str) -> Workspace:
        """The harness's view of the sandbox (its project, state, PULUMI_HOME), to run the CLI in it."""
        path_first = None if has_real_language_host(cli_dir) else stand_in_host_dir(self.root)
        api = {"INCIDENT_IO_API_URL": api_url, "INCIDENT_IO_TOKEN": API_KEY}
        return Workspace(self.root, cli_dir, path_first=path_first, extra_env=api)

    def link_project(self) -> None:
        self.project.mkdir(exist_ok=True)
        for name in (*PROJECT_LINKS, ".venv"):
            link = self.project / name
            if not link.is_symlink():
                link.symlink_to((ROOT / name).resolve())

    def deployed(self, stack: str) -> bool:
        """Whether the stack has been deployed in the sandbox (its state has resources)."""
        checkpoint = self.root / "state" / ".pulumi" / "stacks" / PROJECT / f"{stack}.json"
        return checkpoint.exists() and '"resources"' in checkpoint.read_text()

    def write_stack_file(self, stack: str, api_url: str) -> Path:
        """The sandbox's Pulumi.<stack>.yaml: this checkout's, with the emulated org's values for the settings only
        an operator knows, `incidentio:apiUrl` the emulator, and the sandbox's own secrets settings."""
        source = ROOT / f"Pulumi.{stack}.yaml"
        try:
            document = yaml.safe_load(source.read_text()) or {}
        except yaml.YAMLError as error:
            raise SandboxError(f"{source.name} is not valid YAML: {error}") from None
        config = {
            key: value
            for key, value in (document.get("config") or {}).items()
            if key not in NOT_TAKEN and not _is_encrypted(value)
        }
        for path, value in operator_settings(stack):
            _set_path(config, f"{PROJECT}:{path}", value)
        config["incidentio:apiUrl"] = api_url
        target = self.project / source.name
        own = yaml.safe_load(target.read_text()) if target.exists() else None
        # `pulumi stack init` wrote the sandbox's secrets settings (encryptionsalt) here: kept.
        kept = {key: value for key, value in (own or {}).items() if key != "config"}
        header = (
            f"# Written by the sandbox before each ./scripts/pulumi.sh command: ../../../{source.name} (edit that),\n"
            "# with the emulated org's values for what only an operator knows and the emulator's URL.\n"
        )
        target.write_text(header + yaml.safe_dump({**kept, "config": config}, sort_keys=False))
        return target

    # -- the environment ------------------------------------------------------------------------------------

    def environment(self, cli_dir: Path, api_url: str) -> dict[str, str]:
        """What the env file exports (PATH aside): the same settings the sandbox's own CLI runs use."""
        workspace = self.workspace(cli_dir, api_url)
        harness = workspace.environment()
        names = (
            "PULUMI_BACKEND_URL",
            "PULUMI_HOME",
            "PULUMI_CONFIG_PASSPHRASE",
            "PULUMI_SKIP_UPDATE_CHECK",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
            "PULUMI_STAND_IN_PYTHON",
            "PULUMI_STAND_IN_LOG",
        )
        return {
            ACTIVE_ENV: str(self.root),
            **workspace.extra_env,
            **{name: harness[name] for name in names},
        }

    def write_env(self, cli_dir: Path, api_url: str) -> str:
        path = [*([str(stand_in_host_dir(self.root))] if not has_real_language_host(cli_dir) else []), str(cli_dir)]
        exported = self.environment(cli_dir, api_url)
        lines = [
            "# The sandbox's environment, written by ./scripts/sandbox.sh up. `source` it in your shell: then",
            "# ./scripts/pulumi.sh, contrib/*.sh and route-test --live talk to the sandbox; `sandbox_off` undoes it.",
            f"# Every value is a throwaway of this sandbox: {ACTIVE_ENV} names it, INCIDENT_IO_TOKEN is the only key",
            "# its emulator accepts, PULUMI_CONFIG_PASSPHRASE encrypts only its own state. No real key, account or",
            "# backend is used: the AWS and Kubernetes plugins in its PULUMI_HOME are the stand-ins of",
            "# tests/stand_ins, and downloading real ones is turned off.",
            *(f"export {name}={shlex.quote(value)}" for name, value in exported.items()),
            '_SANDBOX_OLD_PATH="${_SANDBOX_OLD_PATH:-$PATH}"',
            f'export PATH={shlex.quote(os.pathsep.join(path))}":$_SANDBOX_OLD_PATH"',
            "sandbox_off() {",
            '  export PATH="$_SANDBOX_OLD_PATH"',
            f"  unset {' '.join(exported)} _SANDBOX_OLD_PATH",
            "  unset -f sandbox_off",
            "}",
        ]
        text = "\n".join(lines) + "\n"
        self.env_file.write_text(text)
        return text


def _ps(pid: int, field: str) -> str:
    result = subprocess.run(  # noqa: S603 - ps, with our own arguments
        ["ps", "-ww", "-o", f"{field}=", "-p", str(pid)],  # noqa: S607 - ps from PATH, as a shell would run it
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def _is_our_emulator(pid: int, root: Path) -> bool:
    """Alive (not a zombie) and the sandbox emulator of this directory, by its command line."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process: not ours
    if _ps(pid, "stat").startswith("Z"):
        return False
    command = _ps(pid, "command")
    return "tests.sandbox" in command and f"--dir {root} serve" in command


def _is_encrypted(value: Any) -> bool:
    """A `secure:` value: encrypted with the secrets provider of your stack, which the sandbox does not have."""
    return isinstance(value, dict) and set(value) == {"secure"}


def _set_path(config: dict[str, Any], path: str, value: str) -> None:
    """`pulumi config set --path` on a loaded config: `key.a.b` sets config[key][a][b]."""
    key, *rest = path.split(".")
    if not rest:
        config[key] = value
        return
    node = config.setdefault(key, {})
    for part in rest[:-1]:
        node = node.setdefault(part, {})
    node[rest[-1]] = value


# -- the commands ----------------------------------------------------------------------------------------------


def up(sandbox: Sandbox, cli_dir: Path, port: int | None) -> int:
    with sandbox.locked():
        pid = sandbox.running_pid()
        url = sandbox.url() if pid is not None else None
        if pid is not None and url is not None:
            say(f"==> the sandbox is already up: its emulator (pid {pid}) answers on {url}; nothing was started")
        else:
            resumed = sandbox.org_file.exists()
            pid, url = sandbox.start_emulator(port)
            what = "the org as you left it" if resumed else "today's org (the runbook's six routes)"
            say(f"==> started the incident.io emulator (pid {pid}) on {url}: {what}")
        deploy(sandbox, cli_dir, url)
        environment = sandbox.write_env(cli_dir, url)
    say(f"==> its environment, in {sandbox.shown(sandbox.env_file)} (throwaway values only this sandbox accepts):")
    say(environment.rstrip())
    say("\n==> next:")
    say(f"    source {sandbox.shown(sandbox.env_file)}      # ./scripts/pulumi.sh, contrib/*.sh: in the sandbox")
    say('    ./scripts/pulumi.sh production preview    # README: "Day one: change a route"')
    say("    ./scripts/sandbox.sh dashboard --help    # act as someone in incident.io's dashboard")
    say("    ./scripts/sandbox.sh down                # stop it (the org and the state are kept); reset starts over")
    return 0


def deploy(sandbox: Sandbox, cli_dir: Path, url: str) -> None:
    """The stacks as production has them today: each initialised and `up` once (adopting today's routes)."""
    sandbox.link_project()
    workspace = sandbox.workspace(cli_dir, url)
    pending = [stack for stack in ("staging", "production") if not sandbox.deployed(stack)]
    if not pending:
        return
    say(f"==> Pulumi CLI {cli_dir}, in {sandbox.shown(sandbox.project)} with its state in {sandbox.shown()}")
    if not any((sandbox.root / "home" / "plugins").glob("resource-aws-*")):
        (sandbox.root / "home").mkdir(exist_ok=True)
        say("==> the stand-in AWS and Kubernetes plugins (tests/stand_ins) into its PULUMI_HOME")
        workspace.install_stand_in_plugins()
    (sandbox.root / "state").mkdir(exist_ok=True)
    for stack in pending:
        if not (sandbox.project / f"Pulumi.{stack}.yaml").exists():
            workspace.pulumi("stack", "init", stack, "--secrets-provider", "passphrase")
        sandbox.write_stack_file(stack, url)
        # Without its preview: the org is today's, and nobody reads a preview here (the deploy is half the time).
        say(f"==> {stack}: pulumi up --yes --skip-preview (adopts today's routes: no write)")
        run = workspace.pulumi("up", "--yes", "--skip-preview", stack=stack, expect=None)
        if run.returncode != 0:
            raise SandboxError(f"`pulumi up` of {stack} failed:\n{run.output}")
        # What the deploy warned about (a route it could not claim, say) is shown, not only the counts.
        warnings = [line.strip() for line in run.stdout.splitlines() if line.strip().startswith("warning:")]
        for line in warnings + run.stdout.rsplit("Resources:", 1)[-1].splitlines():
            if line.strip():
                say(f"    {line.strip()}")


def down(sandbox: Sandbox) -> int:
    if not sandbox.root.exists():
        say("the sandbox is not up (nothing to stop)")
        return 0
    with sandbox.locked():
        pid = sandbox.stop_emulator()
    if pid is None:
        say("the sandbox's emulator was not running (nothing to stop)")
    else:
        say(f"stopped the sandbox's emulator (pid {pid}); the org and the stacks' state stay in {sandbox.shown()}:")
        say("`./scripts/sandbox.sh up` resumes them, `reset` starts over.")
    say("In a shell that sourced its environment, `sandbox_off` leaves it (or open a new shell).")
    return 0


def reset(sandbox: Sandbox, cli_dir: Path, port: int | None) -> int:
    if sandbox.root.exists():
        with sandbox.locked():
            pid = sandbox.stop_emulator()
            last_port = sandbox.port_file.read_text() if sandbox.port_file.exists() else None
            sandbox.remove()
        say(f"==> deleted the sandbox in {sandbox.shown()}" + (f" (stopped its emulator, pid {pid})" if pid else ""))
        if last_port:
            # The same port again where it is free: a shell that sourced the environment stays right.
            sandbox.prepare()
            sandbox.port_file.write_text(last_port)
    return up(sandbox, cli_dir, port)


def status(sandbox: Sandbox) -> int:
    pid = sandbox.running_pid()
    url = sandbox.url()
    if pid is None or url is None:
        say(f"the sandbox is down ({sandbox.shown()}); start it with ./scripts/sandbox.sh up")
        return 3
    deployed = [stack for stack in STACKS if sandbox.deployed(stack)]
    say(f"the sandbox is up: emulator pid {pid} on {url}; stacks deployed: {', '.join(deployed) or 'none'}")
    say(f"its environment: source {sandbox.shown(sandbox.env_file)}")
    return 0


def project_for(sandbox: Sandbox, stack: str, command: list[str]) -> Path:
    """For ./scripts/pulumi.sh in the sandbox: checks it is up and this shell's environment is its current one,
    writes the stack's file, and returns the directory to run `pulumi` in."""
    url = sandbox.url()
    if url is None:
        raise SandboxError(
            f"this shell is set for the sandbox in {sandbox.shown()} ({ACTIVE_ENV}), which is down: start it with "
            "./scripts/sandbox.sh up, or leave it with `sandbox_off` (or open a new shell)"
        )
    if os.environ.get("INCIDENT_IO_API_URL") != url:
        raise SandboxError(
            f"this shell's sandbox environment is out of date (the emulator now answers on {url}): "
            f"source {sandbox.shown(sandbox.env_file)} again"
        )
    if command[:1] == ["config"] and len(command) > 1 and command[1] in CONFIG_WRITES:
        raise SandboxError(
            f"in the sandbox, a stack's config is your Pulumi.{stack}.yaml plus the sandbox's values for what only "
            f"an operator knows; `config {command[1]}` would change neither: edit Pulumi.{stack}.yaml instead"
        )
    # Every stack's file, not only this one's: the program reads the other stacks' declarations too.
    for each in STACKS:
        if (ROOT / f"Pulumi.{each}.yaml").exists():
            sandbox.write_stack_file(each, url)
    return sandbox.project


def serve(sandbox: Sandbox, port: int, or_any_port: bool) -> int:
    """The emulator process: the org from the sandbox's file (or today's org, seeded), saved after every change
    and when stopped (SIGTERM, from `down`)."""
    from tests.emulator import Emulator
    from tests.emulator.seed import seed_runbook
    from tests.sandbox import org_file

    try:
        emulator = Emulator(api_key=API_KEY, port=port)
    except OSError as error:
        if not or_any_port:
            raise SandboxError(f"cannot listen on 127.0.0.1:{port} ({error.strerror}); choose another --port") from None
        emulator = Emulator(api_key=API_KEY, port=0)
    if sandbox.org_file.exists():
        emulator.state = org_file.load(sandbox.org_file)
    else:
        seed_runbook(emulator.state, base_url=SOURCES_BASE_URL)
        org_file.save(emulator.state, sandbox.org_file)

    def saved() -> None:
        org_file.save(emulator.state, sandbox.org_file)

    emulator.after_change = saved

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    sandbox.port_file.write_text(f"{emulator.url.rsplit(':', 1)[1]}\n")
    partial = sandbox.url_file.with_suffix(".tmp")
    partial.write_text(f"{emulator.url}\n")
    partial.replace(sandbox.url_file)
    print(f"sandbox emulator (pid {os.getpid()}) on {emulator.url}", flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        saved()
        print("sandbox emulator stopped; the org is saved", flush=True)
    return 0
