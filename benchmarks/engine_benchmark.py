"""`pulumi refresh` and `pulumi preview` of many routes through the real Pulumi CLI, against bare GETs.

benchmarks/provider_benchmark.py drives the dynamic provider host over gRPC from Python; this module runs the
whole thing a user runs: the real CLI (scripts/pulumi-cli.sh), the program, the Python dynamic provider host,
on a copy of the project made by the end-to-end harness (tests/e2e/harness.py: a file state backend, the
stand-in AWS and Kubernetes plugins, the Python language host beside the CLI or else the stand-in), with the
emulator answering every call after `--latency-ms` (about the real API's pace from nearby). The routes stack is
production's with its routes replaced by `--routes` generated ones and no routing tests; one `pulumi up` creates
them, untimed but reported. It prints Markdown:

1. Bare GETs of the same routes with `requests`, sequential and N at once: the floor.
2. Each CLI command, for the routes stack and for a baseline stack of one route (the same program, sources
   and stand-ins), so the per-route cost is (t_N - t_1) / (N - 1). Each row also gives the CPU the CLI side
   used (the CLI, its plugins, the program) and the emulator used, the route GETs it made and the most in
   flight at once (counted in the emulator): what bounds the command. `--host-workers` adds rows with
   Pulumi's dynamic provider host given more gRPC workers than its 4, to tell that bound from the CPUs'.

Times are the median of `--repeat` runs, round-robin: what a run typically takes, which one slow run of a
shared machine cannot move (a best-of would report the luckiest run); the range shows the noise.

`--stalling-api` measures something else: with the routes created, every request stalls past the client's
real 30 s read timeout, and each of `pulumi refresh`, the pull request preview's and the deploy's command
runs once: the time to its failure, the route GETs it sent and whether it ended with the message that names
the API URL setting.

Run: `.venv/bin/python -m benchmarks.engine_benchmark` (see --help; about 4-5 minutes with the defaults);
docs/benchmark.md holds a committed run.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.provider_benchmark import _bare_gets, _table
from components.routing_tests import symbolic_routes, verify
from components.settings import RoutingCoverage
from tests.conftest import CANARY_API_KEY, CANARY_TOKEN_PREFIX
from tests.e2e.harness import (
    COMMAND_TIMEOUT,
    GENERATED_ROUTE_SOURCES,
    CliRun,
    Workspace,
    configure_routes,
    generated_routes,
    pulumi_cli_dir,
)
from tests.emulator import Emulator, Fault, running_emulator
from tests.emulator.seed import seed_directory
from tests.emulator.server import _Handler

# The stack that holds the routes, and the one-route stack that holds everything else a run does (the
# program, its name lookups, the AWS and Kubernetes stand-ins, the dynamic provider host's start).
ROUTES_STACK = "production"
BASELINE_STACK = "staging"
# The base URL the emulated sources' alert event URLs carry (tests/e2e/conftest.py uses the same).
SOURCES_BASE_URL = "https://api.incident.io"
# A route's reads: through v2, and in an org on the new grouping engine (the emulator's default) through v3 too.
ROUTE_PATH = ("/v2/alert_routes/", "/v3/alert_routes/")
# What a default --parallel is shown as.
DEFAULT = "default"


class InFlight:
    """Route GETs the emulator is answering at this moment, and the most at once since the last reset: how
    many calls the CLI and the dynamic provider host really overlap (the bound, seen from the API's side)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def reset(self) -> None:
        with self._lock:
            self.peak = self.now

    @contextmanager
    def one(self) -> Iterator[None]:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            yield
        finally:
            with self._lock:
                self.now -= 1


def count_route_gets(emulator: Emulator) -> InFlight:
    """Count the route GETs in flight in `emulator`. The emulator has no such counter and is not this module's
    to change, so its server is given a handler class that counts around the emulator's own GET handling;
    the latency sleep is inside it, so a GET counts from its arrival to its answer."""
    counter = InFlight()

    class Counting(_Handler):
        def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's naming
            if not self.path.startswith(ROUTE_PATH):
                super().do_GET()
                return
            with counter.one():
                super().do_GET()

    emulator._server.RequestHandlerClass = Counting
    return counter


def baseline_route() -> dict[str, Any]:
    """The baseline stack's one route: every source, no condition, so that no derived alert goes nowhere. Its
    name is not a routes-stack name: the provider refuses to create a second route of a name."""
    return {
        "name": "Baseline route",
        "sources": [{"source": source} for source in GENERATED_ROUTE_SOURCES],
        "slack": "alerts",
    }


def parallel_default(cli_dir: Path) -> int:
    """The CLI's own default --parallel, as its help states it (4 x GOMAXPROCS in v3.274, or $PULUMI_PARALLEL,
    which the harness does not pass on)."""
    help_text = subprocess.run(  # noqa: S603 - the CLI under test
        [str(cli_dir / "pulumi"), "refresh", "--help"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    found = re.search(r"--parallel int32 .*\(default (\d+)\)", help_text)
    if found is None:
        raise RuntimeError("`pulumi refresh --help` does not state the default of --parallel")
    return int(found.group(1))


# The dynamic provider host with more gRPC workers than the 4 that pulumi/dynamic/__main__.py gives its
# server: an experiment that tells whether those 4 workers bound a refresh, or the machine's CPUs do. Only
# `grpc.server`'s executor is replaced; the host is otherwise Pulumi's own module, run as `-m pulumi.dynamic`.
PATCHED_HOST = """#!/bin/sh
# The benchmark's experiment (benchmarks/engine_benchmark.py): Pulumi's dynamic provider host with {workers}
# gRPC workers instead of 4. Never what a user runs.
exec "$PULUMI_STAND_IN_PYTHON" -u -c '
import runpy
from concurrent import futures

import grpc

_server = grpc.server


def server(executor, *args, **kwargs):
    return _server(futures.ThreadPoolExecutor(max_workers={workers}), *args, **kwargs)


grpc.server = server
runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)
' "$@"
"""


def patched_host_dir(root: Path, workers: int, path_first: Path | None) -> Path:
    """A directory to put first on PATH instead of the workspace's own (`path_first`: the stand-in language host
    where the CLI has no real one, linked here too): the patched dynamic provider host, which the CLI then
    prefers to the one beside it."""
    directory = root / f"host-{workers}-workers"
    directory.mkdir()
    for launcher in path_first.iterdir() if path_first else []:
        (directory / launcher.name).symlink_to(launcher.resolve())
    host = directory / "pulumi-resource-pulumi-python"
    host.write_text(PATCHED_HOST.format(workers=workers))
    host.chmod(0o755)
    return directory


@dataclass(frozen=True)
class Command:
    stack: str
    args: tuple[str, ...]
    parallel: int | None = None  # None: the CLI's default
    host_workers: int | None = None  # None: Pulumi's dynamic provider host as it is (4 workers)

    @property
    def label(self) -> str:
        shown = " ".join(arg for arg in self.args if arg != "--expect-no-changes")
        patched = f", host patched to {self.host_workers} workers" if self.host_workers else ""
        return f"`pulumi {shown}`{patched}"

    @property
    def parallel_text(self) -> str:
        return DEFAULT if self.parallel is None else str(self.parallel)

    def argv(self) -> list[str]:
        return [*self.args, *(["--parallel", str(self.parallel)] if self.parallel is not None else [])]


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # the CLI and every process it started, user + system
    emulator_cpu: list[float] = field(default_factory=list)  # this process: the emulator's threads
    route_gets: list[int] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def spread(self) -> str:
        return f"{min(self.seconds):.2f}-{max(self.seconds):.2f}"


def warnings_in(run: CliRun) -> list[str]:
    """Warnings other than the harness's own (the CLI names each plugin it found on PATH, every run: the patched
    dynamic provider host, and the stand-in language host where the CLI has no real one)."""
    return [
        line.strip()
        for line in run.output.splitlines()
        if "warning" in line.lower() and "from $PATH at" not in line and not line.strip().endswith(" warnings")
    ]


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_timed(
    workspace: Workspace, command: Command, counter: InFlight, samples: Samples, path_first: Path | None
) -> None:
    """One command: its wall time (the CLI process from start to exit), the CPU it and the emulator used, its
    route GETs and the most at once. The CLI's CPU is its children's, which the CLI waits for (plugins, the
    program), as the kernel adds a reaped child's time to its parent's."""
    assert workspace.emulator is not None
    workspace.path_first = path_first
    before = len(workspace.emulator.state.requests)
    counter.reset()
    children, ours = _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF)
    run = workspace.pulumi(*command.argv(), stack=command.stack)
    samples.cpu.append(_cpu(resource.RUSAGE_CHILDREN) - children)
    samples.emulator_cpu.append(_cpu(resource.RUSAGE_SELF) - ours)
    samples.seconds.append(run.seconds)
    samples.route_gets.append(
        sum(
            1
            for method, path in workspace.emulator.state.requests[before:]
            if method == "GET" and path.startswith(ROUTE_PATH)
        )
    )
    samples.peaks.append(counter.peak)
    for line in warnings_in(run):
        print(f"warning in {command.label} on {command.stack}: {line}", file=sys.stderr)


def median_of(repeat: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(repeat))


def coverage_seconds(config: dict[str, Any], repeat: int) -> float:
    """The program's routing coverage of a stack's routes, in this process (median of `repeat`): a part of
    every preview and up that grows with routes x the alerts derived from them, so it is shown apart."""

    def once() -> float:
        started = time.perf_counter()
        found: list[str] = []
        verify("benchmark", symbolic_routes(config), (), RoutingCoverage(), warn=found.append)
        if found:
            raise RuntimeError(f"the generated routes should warn about nothing; coverage says: {found[0]}")
        return time.perf_counter() - started

    return median_of(repeat, once)


@dataclass
class Results:
    default_parallel: int
    first_up: float
    first_up_calls: int
    coverage: dict[int, float]  # routes -> seconds
    cli: dict[Command, Samples]
    bare: dict[tuple[int, int], float]  # (GETs, at once) -> median seconds
    took: float


PREVIEW = ("preview", "--expect-no-changes")
REFRESH = ("refresh", "--yes", "--expect-no-changes")
REFRESH_ONLY = ("refresh", "--yes", "--skip-preview", "--expect-no-changes")
PREVIEW_REFRESH = ("preview", "--refresh", "--expect-no-changes")


def commands_to_run(parallels: list[int | None], host_workers: int) -> list[Command]:
    """Preview and refresh at each --parallel; the refresh without its preview and the preview with a refresh;
    the experiment with the patched host; then the baseline stack's."""
    commands = [Command(ROUTES_STACK, args, parallel) for args in (PREVIEW, REFRESH) for parallel in parallels]
    commands += [Command(ROUTES_STACK, args) for args in (REFRESH_ONLY, PREVIEW_REFRESH)]
    if host_workers:
        commands += [Command(ROUTES_STACK, args, host_workers=host_workers) for args in (REFRESH, REFRESH_ONLY)]
    return commands + [Command(BASELINE_STACK, args) for args in (PREVIEW, REFRESH, REFRESH_ONLY, PREVIEW_REFRESH)]


@contextmanager
def routes_workspace(
    routes: int, latency: float, stacks: tuple[str, ...], log: Callable[[str], None]
) -> Iterator[tuple[Workspace, Path, dict[str, Any]]]:
    """A workspace of `stacks` on an emulator answering after `latency` seconds, the routes stack's routes
    replaced by `routes` generated ones (not created yet); also a scratch directory and production's config
    as the stack file had it."""
    cli_dir = pulumi_cli_dir()
    with (
        tempfile.TemporaryDirectory(prefix="engine-benchmark-") as tmp,
        running_emulator(api_key=CANARY_API_KEY, latency=latency) as emulator,
    ):
        seed_directory(emulator.state, base_url=SOURCES_BASE_URL, token_prefix=CANARY_TOKEN_PREFIX)
        log("configuring the stacks (pulumi stack init, config set)")
        workspace = Workspace.create(Path(tmp) / "workspace", cli_dir, api_key=CANARY_API_KEY, stacks=stacks)
        workspace.emulator = emulator
        production: dict[str, Any] = {}
        workspace.edit_config(ROUTES_STACK, production.update)
        configure_routes(workspace, ROUTES_STACK, generated_routes(routes), production)
        yield workspace, Path(tmp), production


def first_up_of(workspace: Workspace, routes: int, log: Callable[[str], None]) -> tuple[float, int, list[str]]:
    """`pulumi up` of the routes stack: its seconds, its API calls and the ids of the routes it created."""
    emulator = workspace.emulator
    assert emulator is not None
    log(f"first up of {routes} routes")
    before = len(emulator.state.requests)
    up = workspace.pulumi("up", "--yes", stack=ROUTES_STACK)
    for line in warnings_in(up):
        print(f"warning in the first up: {line}", file=sys.stderr)
    route_ids = [
        route_id for route_id, route in emulator.state.routes.items() if str(route.payload["name"]).startswith("Route ")
    ]
    if len(route_ids) != routes:
        raise RuntimeError(f"expected {routes} live routes after the first up, found {len(route_ids)}")
    return up.seconds, len(emulator.state.requests) - before, route_ids


def measure(
    routes: int,
    latency: float,
    repeat: int,
    commands: list[Command],
    log: Callable[[str], None],
) -> Results:
    started = time.monotonic()
    default_parallel = parallel_default(pulumi_cli_dir())
    with routes_workspace(routes, latency, (ROUTES_STACK, BASELINE_STACK), log) as (workspace, tmp, production):
        emulator = workspace.emulator
        assert emulator is not None
        counter = count_route_gets(emulator)
        own_path_first = workspace.path_first
        patched = {
            workers: patched_host_dir(tmp, workers, own_path_first)
            for workers in {c.host_workers for c in commands}
            if workers
        }
        configure_routes(workspace, BASELINE_STACK, [baseline_route()], production)
        configured: dict[str, Any] = {}
        workspace.edit_config(ROUTES_STACK, configured.update)  # as the program will read it
        coverage = {
            count: coverage_seconds({**configured, "routes": generated_routes(count)}, repeat)
            for count in (routes, 2 * routes)
        }

        first_up, first_up_calls, route_ids = first_up_of(workspace, routes, log)
        workspace.pulumi("up", "--yes", stack=BASELINE_STACK)

        cli = {command: Samples() for command in commands}
        # Round-robin, not one command's repeats in a row: a slow spell of this shared machine then touches
        # every command alike instead of deciding one row.
        for round_ in range(repeat):
            for command in commands:
                log(
                    f"round {round_ + 1}/{repeat}: {command.label}, --parallel {command.parallel_text}, {command.stack}"
                )
                where = patched[command.host_workers] if command.host_workers else own_path_first
                run_timed(workspace, command, counter, cli[command], where)

        # The floors of each row that GETs: the same number of GETs at the concurrency its --parallel asks for
        # (what the CLI would allow), and at the concurrency the emulator saw (what the host allowed).
        log("bare GETs")
        bare: dict[tuple[int, int], float] = {}
        wanted = {(routes, 1), (routes, 4)}
        for command, samples in cli.items():
            gets = max(samples.route_gets)
            if command.stack == ROUTES_STACK and gets:
                at_once = command.parallel or default_parallel
                wanted |= {(routes, at_once), (gets, at_once), (gets, max(samples.peaks))}
        for gets, at_once in sorted(wanted):
            ids = (route_ids * (gets // routes + 1))[:gets]
            bare[gets, at_once] = median_of(repeat, functools.partial(_bare_gets, emulator, ids, at_once))
    return Results(default_parallel, first_up, first_up_calls, coverage, cli, bare, time.monotonic() - started)


# An API that stops answering: every request held this long, past the client's real 30 s read timeout.
STALL_SECONDS = 45.0
# What users run by hand, then the pull request preview's and the deploy's command lines (.github/workflows).
STALLED_COMMANDS = (("refresh", "--yes"), ("preview", "--refresh", "--diff"), ("up", "--yes", "--refresh", "--diff"))
# The end of the message of a run that gave up on the API (providers/http.py, ApiUnreachableError).
GAVE_UP = "so no more are sent"


@dataclass
class StalledRun:
    command: tuple[str, ...]
    seconds: float | None  # None: the harness stopped it after COMMAND_TIMEOUT
    returncode: int | None
    route_gets: int
    routes_asked: int
    clear: bool  # the output says why it stopped and which setting to check


def measure_stalling(routes: int, log: Callable[[str], None]) -> tuple[list[StalledRun], float]:
    """Each of STALLED_COMMANDS on the routes stack, once its routes exist and every request stalls: the time
    from its start to its exit, what it asked the API, and whether it ended with the clear message."""
    started = time.monotonic()
    with routes_workspace(routes, 0.0, (ROUTES_STACK,), log) as (workspace, _, _):
        emulator = workspace.emulator
        assert emulator is not None
        first_up_of(workspace, routes, log)
        for method in ("GET", "POST", "PUT", "DELETE"):
            emulator.inject(Fault(method, ".*", times=10**9, delay=STALL_SECONDS))
        runs = []
        for command in STALLED_COMMANDS:
            log(f"pulumi {' '.join(command)} against the stalled API")
            before = len(emulator.state.requests)
            try:
                run: CliRun | None = workspace.pulumi(*command, stack=ROUTES_STACK, expect=None)
            except subprocess.TimeoutExpired:
                run = None
            gets = [
                path
                for method, path in emulator.state.requests[before:]
                if method == "GET" and path.startswith(ROUTE_PATH)
            ]
            runs.append(
                StalledRun(
                    command,
                    run.seconds if run else None,
                    run.returncode if run else None,
                    len(gets),
                    len(set(gets)),
                    run is not None and GAVE_UP in run.text and "INCIDENT_IO_API_URL" in run.text,
                )
            )
    return runs, time.monotonic() - started


def stalling_rows(runs: list[StalledRun], routes: int) -> list[list[str]]:
    return [
        [
            f"`pulumi {' '.join(run.command)}`",
            str(routes),
            f"{run.seconds:.1f}" if run.seconds is not None else f"> {COMMAND_TIMEOUT:.0f} (stopped)",
            str(run.returncode) if run.returncode is not None else "-",
            str(run.route_gets),
            str(run.routes_asked),
            "yes" if run.clear else "no",
        ]
        for run in runs
    ]


def bare_rows(results: Results, latency_ms: float) -> list[list[str]]:
    return [
        [f"{latency_ms:g} ms", str(gets), str(at_once), f"{seconds:.2f}", f"{1000 * seconds / gets * at_once:.1f}"]
        for (gets, at_once), seconds in sorted(results.bare.items(), key=lambda item: (item[0][1], item[0][0]))
    ]


def cli_rows(results: Results, routes: int) -> list[list[str]]:
    baselines = {command.args: samples for command, samples in results.cli.items() if command.stack == BASELINE_STACK}
    rows = []
    for command, samples in results.cli.items():
        gets = max(samples.route_gets)
        on_routes = command.stack == ROUTES_STACK
        at_once = command.parallel or results.default_parallel
        asked = results.bare.get((gets, at_once)) if on_routes and gets else None
        reached = results.bare.get((gets, max(samples.peaks))) if on_routes and gets else None
        per_route = beyond = "-"
        if on_routes and command.args in baselines:
            extra = samples.median - baselines[command.args].median
            per_route = f"{1000 * extra / (routes - 1):.1f}"
            if reached is not None:
                beyond = f"{1000 * (extra - reached) / (routes - 1):.1f}"
        rows.append(
            [
                command.label,
                command.parallel_text + (f" ({results.default_parallel})" if command.parallel is None else ""),
                str(routes if on_routes else 1),
                f"{samples.median:.2f}",
                samples.spread(),
                f"{statistics.median(samples.cpu):.1f}",
                f"{statistics.median(samples.emulator_cpu):.1f}",
                "/".join(sorted({str(value) for value in samples.route_gets})),
                str(max(samples.peaks)),
                f"{asked:.2f} / {reached:.2f}" if asked is not None and reached is not None else "-",
                per_route,
                beyond,
            ]
        )
    return rows


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.engine_benchmark",
        description=(
            "pulumi refresh and preview of many routes through the real Pulumi CLI (the end-to-end harness: "
            "stand-in AWS/Kubernetes plugins; the real language host where it is beside the CLI) against the "
            "emulator, with bare GETs as the "
            "floor; prints Markdown. Builds the CLI with scripts/pulumi-cli.sh first if it is not built."
        ),
    )
    parser.add_argument("--routes", type=int, default=200, help="routes in the measured stack (default 200)")
    parser.add_argument(
        "--latency-ms", type=float, default=20.0, help="the emulator's delay before each answer (default 20)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each command; the tables show the median (default 3)"
    )
    parser.add_argument(
        "--parallel",
        type=int,
        nargs="+",
        default=[0, 4, 1],
        help="--parallel values to run preview and refresh with; 0 is the CLI's default (default: 0 4 1)",
    )
    parser.add_argument(
        "--host-workers",
        type=int,
        default=16,
        metavar="N",
        help="also refresh with Pulumi's dynamic provider host patched to N gRPC workers instead of 4, to tell "
        "what bounds a refresh (an experiment, not what users run); 0 leaves it out (default 16)",
    )
    parser.add_argument(
        "--stalling-api",
        action="store_true",
        help=f"measure only an API that stalls every request past the 30 s read timeout: the time `pulumi refresh`, "
        f"the pull request preview and the deploy take to fail, on --routes routes (about 4 minutes); each command "
        f"once, and stopped after {COMMAND_TIMEOUT:.0f} s",
    )
    return parser


def print_stalling(routes: int, log: Callable[[str], None]) -> None:
    runs, took = measure_stalling(routes, log)
    print(
        f"Run {time.strftime('%Y-%m-%d')} on {platform.machine()} ({os.cpu_count()} CPUs), Python "
        f"{platform.python_version()}, in {took:.0f} s; each command once\n"
    )
    print(f"### An API that stalls every request (held {STALL_SECONDS:g} s; the client's read timeout is 30 s)\n")
    header = ["command", "routes", "s to exit", "exit code", "route GETs sent", "routes asked", "clear message"]
    print(_table(header, stalling_rows(runs, routes)))


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.routes < 2 or args.repeat < 1 or min(args.parallel) < 0 or args.host_workers < 0:
        parser().error("--routes must be at least 2, --repeat at least 1, --parallel and --host-workers not negative")

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    if args.stalling_api:
        print_stalling(args.routes, log)
        return
    commands = commands_to_run([value or None for value in args.parallel], args.host_workers)
    results = measure(args.routes, args.latency_ms / 1000, args.repeat, commands, log)
    print(
        f"Run {time.strftime('%Y-%m-%d')} on {platform.machine()} ({os.cpu_count()} CPUs), Python "
        f"{platform.python_version()}, in {results.took:.0f} s; each time is the median of {args.repeat} runs\n"
    )
    print(f"### Bare GETs of the routes at {args.latency_ms:g} ms (`requests`, the floor)\n")
    header = ["API latency", "GETs", "at once", "s", "ms per GET per worker"]
    print(_table(header, bare_rows(results, args.latency_ms)))
    print(f"\n### Through the real Pulumi CLI, API latency {args.latency_ms:g} ms\n")
    header = [
        "command",
        "--parallel",
        "routes",
        "s",
        "range s",
        "CPU s, CLI side",
        "CPU s, emulator",
        "route GETs",
        "GETs at once, most",
        "bare GETs s, at --parallel / at the most reached",
        "ms/route",
        "ms/route beyond bare GETs at the most reached",
    ]
    print(_table(header, cli_rows(results, args.routes)))
    print(
        f"\nFirst `pulumi up --yes` of {args.routes} routes (once, not timed again): {results.first_up:.1f} s, "
        f"{results.first_up_calls} API calls."
    )
    timed = ", ".join(f"{seconds:.2f} s for {count}" for count, seconds in sorted(results.coverage.items()))
    print(f"Routing coverage of routes of this shape, in-process (a part of every preview and up): {timed}.")


if __name__ == "__main__":
    main()
