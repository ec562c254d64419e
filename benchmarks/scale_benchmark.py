"""A thousand routes per stack through the real Pulumi CLI: `up` from an empty org, `preview` and `refresh
--skip-preview` at several sizes, the fixed and per-route cost apart, Pulumi's part apart from ours, and the
config-size cliff of routes kept in the stack file.

The project is copied and configured by the end-to-end harness (tests/e2e/harness.py: the real CLI, a file state
backend, the stand-in AWS and Kubernetes plugins and Python language host) against the emulator answering each
call after `--latency-ms`. The production stack's routes are the engine benchmark's generated ones, in its routes
file (routes/production.yaml), with no routing tests; each size starts from an empty org.

Where the time goes, for each command:
- the program: how long it ran and the CPU it used (the stand-in language host's log). Its CPU is ours (settings,
  names, compiling, routing coverage) and the Pulumi Python SDK's (registering each resource); its wall time also
  waits for the engine, which answers each registration once it has checked (and, in a preview, diffed) it.
- the dynamic provider host: each gRPC call's time in the host (Pulumi's servicer: unpickling, (de)serializing
  properties) and, within it, in our provider's code (providers/incident_io.py), measured by a host patched only
  to time them. The engine sends Check and Diff one resource at a time as the program registers them; the host
  serves at most 4 calls at once (its ThreadPoolExecutor), so Create and Read overlap 4 deep: their sums exceed
  the wall time.
- the API: calls counted by the emulator.
The fixed cost and the per-route cost are a least-squares line through the sizes (t = fixed + per_route * N).

Run: `nice .venv/bin/python -m benchmarks.scale_benchmark` (about 10 minutes on 2 cores); docs/benchmark.md
holds a run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmarks.engine_benchmark import SOURCES_BASE_URL
from benchmarks.provider_benchmark import _table
from tests.conftest import CANARY_API_KEY, CANARY_TOKEN_PREFIX
from tests.e2e import harness
from tests.e2e.harness import (
    GENERATED_ROUTE_SOURCES,
    LANGUAGE_HOST,
    STAND_INS,
    Workspace,
    generated_routes,
    has_real_language_host,
    pulumi_cli_dir,
)
from tests.emulator import running_emulator
from tests.emulator.seed import seed_directory

STACK = "production"
TIMINGS_ENV = "SCALE_BENCHMARK_TIMINGS"
# Linux refuses one environment string (PULUMI_CONFIG=...) longer than this: MAX_ARG_STRLEN, 32 pages.
MAX_ARG_STRLEN = 32 * 4096

# Pulumi's dynamic provider host as it is, timing each gRPC call and the provider's own methods within it. Never
# what a user runs.
TIMING_HOST = """#!/bin/sh
# The scale benchmark's instrument (benchmarks/scale_benchmark.py): Pulumi's dynamic provider host, timed.
exec "$PULUMI_STAND_IN_PYTHON" -u -c '
import functools, json, os, runpy, threading, time

import grpc

_lock, _local = threading.Lock(), threading.local()


def _record(method, seconds, ours):
    with _lock, open(os.environ["{env}"], "a") as log:
        log.write(json.dumps({{"method": method, "seconds": seconds, "ours": ours}}) + "\\n")


def _ours(function):
    @functools.wraps(function)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _local.ours = getattr(_local, "ours", 0.0) + time.perf_counter() - started
    return timed


try:
    from providers.incident_io import AlertRouteProvider
    for name in ("check", "diff", "create", "read", "update", "delete"):
        setattr(AlertRouteProvider, name, _ours(getattr(AlertRouteProvider, name)))
except ImportError:
    pass


class Timing(grpc.ServerInterceptor):
    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        method, inner = details.method.rsplit("/", 1)[-1], handler.unary_unary

        def timed(request, context):
            _local.ours = 0.0
            started = time.perf_counter()
            try:
                return inner(request, context)
            finally:
                _record(method, time.perf_counter() - started, _local.ours)

        return grpc.unary_unary_rpc_method_handler(
            timed, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )


_server = grpc.server


def server(*args, **kwargs):
    kwargs["interceptors"] = [Timing(), *kwargs.get("interceptors", ())]
    return _server(*args, **kwargs)


grpc.server = server
runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)
' "$@"
"""


# Pulumi's own switch (v3.40.1 on): save the state once at the end of a run instead of after each resource
# change. A self-managed backend (a file, S3) otherwise writes the whole state after every change, which grows
# with the routes: creating N routes writes about N^2 / 2 routes' worth of state.
SKIP_CHECKPOINTS = {"PULUMI_SKIP_CHECKPOINTS": "true", "PULUMI_EXPERIMENTAL": "true"}


def timing_host_dir(root: Path) -> Path:
    """What the timed commands put first on PATH: the stand-in language host, which logs each program's time
    and CPU (the real one logs nothing), and the timing dynamic provider host."""
    directory = root / "timing-host"
    directory.mkdir()
    (directory / LANGUAGE_HOST).symlink_to(STAND_INS / LANGUAGE_HOST)
    host = directory / "pulumi-resource-pulumi-python"
    host.write_text(TIMING_HOST.format(env=TIMINGS_ENV))
    host.chmod(0o755)
    return directory


def config_bytes(stack_file: Path) -> int:
    """About the length of the PULUMI_CONFIG string the language host builds from this stack file: every config
    value as a string (objects as JSON), in one JSON object."""
    config = yaml.safe_load(stack_file.read_text())["config"]
    compact = (",", ":")  # the engine writes an object's value as Go's encoding/json does
    values = {
        key: value if isinstance(value, str) else json.dumps(value, separators=compact) for key, value in config.items()
    }
    return len("PULUMI_CONFIG=" + json.dumps(values))


def configure(workspace: Workspace, routes: int, *, in_routes_file: bool) -> None:
    """Production's names for the generated routes' sources, no routing tests; the routes in the routes file or
    (the old layout) in the stack file."""
    generated = generated_routes(routes)

    def edit(config: dict[str, Any]) -> None:
        config["alertSources"] = {key: config["alertSources"][key] for key in GENERATED_ROUTE_SOURCES}
        for key in ("routes", "routingTests", "routingCoverage"):
            config.pop(key, None)
        if not in_routes_file:
            config["routes"] = generated

    workspace.edit_config(STACK, edit)
    if in_routes_file:
        (workspace.project / "routes").mkdir(exist_ok=True)
        (workspace.project / "routes" / f"{STACK}.yaml").write_text(yaml.safe_dump({"routes": generated}))


@dataclass
class Run:
    seconds: float
    cli_cpu: float
    program_seconds: float
    program_cpu: float
    calls: dict[str, int]  # gRPC method -> calls to the dynamic provider host
    host_seconds: float  # summed over calls
    ours_seconds: float  # summed over calls
    api_calls: int
    # Of the API calls, the provider's: all but the program's name lookups (a preview's calls).
    provider_api_calls: int = 0


@dataclass
class Row:
    command: str
    routes: int
    runs: list[Run] = field(default_factory=list)

    def median(self, pick: Callable[[Run], float]) -> float:
        return statistics.median(pick(run) for run in self.runs)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(workspace: Workspace, timings: Path, *args: str) -> Run:
    assert workspace.emulator is not None
    mark = workspace.mark()
    lines = len(timings.read_text().splitlines()) if timings.exists() else 0
    cpu = _children_cpu()
    run = workspace.pulumi(*args, stack=STACK)
    cli_cpu = _children_cpu() - cpu
    programs = [entry for entry in workspace.stand_in_log(mark) if entry.get("method") == "Run"]
    calls = [json.loads(line) for line in timings.read_text().splitlines()[lines:]] if timings.exists() else []
    counted: dict[str, int] = {}
    for call in calls:
        counted[call["method"]] = counted.get(call["method"], 0) + 1
    return Run(
        seconds=run.seconds,
        cli_cpu=cli_cpu,
        program_seconds=sum(entry.get("seconds", 0.0) for entry in programs),
        program_cpu=sum(entry.get("cpu_seconds", 0.0) for entry in programs),
        calls=counted,
        host_seconds=sum(call["seconds"] for call in calls),
        ours_seconds=sum(call["ours"] for call in calls),
        api_calls=len(workspace.requests_since(mark)),
    )


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """(fixed, per route) of the least-squares line through (routes, value)."""
    if len(points) < 2:
        return points[0][1], 0.0
    slope, intercept = statistics.linear_regression([float(n) for n, _ in points], [value for _, value in points])
    return intercept, slope


COMMANDS = {
    "up": ("up", "--yes"),
    "preview": ("preview", "--expect-no-changes"),
    "refresh": ("refresh", "--yes", "--skip-preview", "--expect-no-changes"),
}


@dataclass
class Cliff:
    host: str  # which language host ran the program
    routes: int
    config_bytes: int
    returncode: int
    message: str


@dataclass
class Results:
    rows: dict[tuple[str, int], Row]
    config_sizes: dict[int, int]  # routes -> PULUMI_CONFIG bytes with the routes file
    old_layout_sizes: dict[int, int]  # routes -> PULUMI_CONFIG bytes with the routes in the stack file
    cliff: Cliff | None
    took: float


def measure_size(
    template: Workspace,
    root: Path,
    host: Path,
    timings: Path,
    count: int,
    latency: float,
    repeat: int,
    rows: dict[tuple[str, int], Row],
    extra: dict[str, str],
    log: Callable[[str], None],
) -> None:
    """`up` of `count` routes from an empty org, then `repeat` previews and refreshes, into `rows`."""
    with running_emulator(api_key=CANARY_API_KEY, latency=latency) as emulator:
        seed_directory(emulator.state, base_url=SOURCES_BASE_URL, token_prefix=CANARY_TOKEN_PREFIX)
        copied = template.copy_to(root / f"routes-{count}", emulator)
        workspace = Workspace(copied.root, copied.cli_dir, emulator, path_first=host, extra_env=extra)
        configure(workspace, count, in_routes_file=True)
        log(f"{count} routes: pulumi up from an empty org")
        rows[("up", count)] = Row("up", count, [timed(workspace, timings, *COMMANDS["up"])])
        if len(emulator.state.routes) != count:
            raise RuntimeError(f"expected {count} live routes after up, found {len(emulator.state.routes)}")
        for name in ("preview", "refresh"):
            row = rows.setdefault((name, count), Row(name, count))
            for round_ in range(repeat):
                log(f"{count} routes: pulumi {name} ({round_ + 1}/{repeat})")
                row.runs.append(timed(workspace, timings, *COMMANDS[name]))


# A thousand routes created through a self-managed backend take longer than the harness's limit for one command.
COMMAND_TIMEOUT = 3600.0


def measure(
    sizes: list[int],
    latency: float,
    repeat: int,
    cliff_routes: int,
    log: Callable[[str], None],
    extra: dict[str, str] | None = None,
) -> Results:
    extra = extra or {}
    harness.COMMAND_TIMEOUT = COMMAND_TIMEOUT
    started = time.monotonic()
    cli_dir = pulumi_cli_dir()
    rows: dict[tuple[str, int], Row] = {}
    sizes_new: dict[int, int] = {}
    sizes_old: dict[int, int] = {}
    cliff = None
    with tempfile.TemporaryDirectory(prefix="scale-benchmark-") as tmp:
        root = Path(tmp)
        log("configuring the stacks (pulumi stack init, config set)")
        template = Workspace.create(root / "template", cli_dir, api_key=CANARY_API_KEY, stacks=(STACK,))
        host = timing_host_dir(root)
        timings = root / "timings.jsonl"
        os.environ[TIMINGS_ENV] = str(timings)  # the CLI passes its environment on to the plugins it starts
        for count in sizes:
            try:
                measure_size(template, root, host, timings, count, latency, repeat, rows, extra, log)
            except (AssertionError, RuntimeError, subprocess.SubprocessError) as error:
                log(f"{count} routes: stopped ({error}); reporting what was measured")
                break
            old = template.copy_to(root / f"old-{count}", None)
            configure(old, count, in_routes_file=False)
            sizes_old[count] = config_bytes(old.stack_file(STACK))
            new = template.copy_to(root / f"new-{count}", None)
            configure(new, count, in_routes_file=True)
            sizes_new[count] = config_bytes(new.stack_file(STACK))
        if cliff_routes:
            with running_emulator(api_key=CANARY_API_KEY, latency=latency) as emulator:
                seed_directory(emulator.state, base_url=SOURCES_BASE_URL, token_prefix=CANARY_TOKEN_PREFIX)
                old_layout = template.copy_to(root / "cliff", emulator)
                configure(old_layout, cliff_routes, in_routes_file=False)
                log(f"{cliff_routes} routes in the stack file: pulumi preview")
                run = old_layout.pulumi("preview", stack=STACK, expect=None)
                said = [line.strip() for line in run.output.splitlines() if "argument list too long" in line.lower()]
                cliff = Cliff(
                    "the real language host" if has_real_language_host(cli_dir) else "the stand-in language host",
                    cliff_routes,
                    config_bytes(old_layout.stack_file(STACK)),
                    run.returncode,
                    said[0] if said else run.output.strip().splitlines()[-1],
                )
    rows = {key: row for key, row in rows.items() if row.runs}  # a size that stopped part-way
    for (name, count), row in rows.items():
        lookups = rows[("preview", count)].runs[0].api_calls if ("preview", count) in rows else 0
        for measured in row.runs:
            measured.provider_api_calls = max(
                measured.api_calls - (lookups if name != "refresh" else 0) * (2 if name == "up" else 1), 0
            )
    return Results(rows, sizes_new, sizes_old, cliff, time.monotonic() - started)


def report(results: Results, latency_ms: float, repeat: int) -> str:
    out = [
        f"Run {time.strftime('%Y-%m-%d')} on {platform.machine()} ({os.cpu_count()} CPUs), Python "
        f"{platform.python_version()}, in {results.took:.0f} s; API latency {latency_ms:g} ms; `up` once per size "
        f"(from an empty org), `preview` and `refresh` the median of {repeat} runs.\n",
        "### Each command, and where its time goes\n",
    ]
    header = [
        "command",
        "routes",
        "s",
        "CPU s, CLI side",
        "program s (CPU s)",
        "provider host: calls",
        "s in the host, summed",
        "of which our provider code",
        "API calls",
    ]
    rows = []
    for (name, count), row in sorted(
        results.rows.items(), key=lambda item: (list(COMMANDS).index(item[0][0]), item[0][1])
    ):
        calls = row.runs[0].calls
        rows.append(
            [
                f"`pulumi {' '.join(COMMANDS[name])}`",
                str(count),
                f"{row.median(lambda run: run.seconds):.1f}",
                f"{row.median(lambda run: run.cli_cpu):.1f}",
                f"{row.median(lambda run: run.program_seconds):.1f} ({row.median(lambda run: run.program_cpu):.1f})",
                ", ".join(f"{method} {number}" for method, number in sorted(calls.items())),
                f"{row.median(lambda run: run.host_seconds):.1f}",
                f"{row.median(lambda run: run.ours_seconds):.2f}",
                str(row.runs[0].api_calls),
            ]
        )
    out += [_table(header, rows), "", "### Fixed cost and cost per route (least squares over the sizes)\n"]
    header = [
        "command",
        "fixed s",
        "ms/route",
        "program CPU ms/route",
        "host ms/route (summed)",
        "our provider code ms/route (summed)",
        "of which API waits",
    ]
    fitted = []
    for name in COMMANDS:
        points = {key[1]: row for key, row in results.rows.items() if key[0] == name}
        if not points:
            continue

        def line(pick: Callable[[Run], float], points: dict[int, Row] = points) -> tuple[float, float]:
            return fit([(count, row.median(pick)) for count, row in sorted(points.items())])

        fixed, per_route = line(lambda run: run.seconds)
        fitted.append(
            [
                f"`pulumi {' '.join(COMMANDS[name])}`",
                f"{fixed:.1f}",
                f"{1000 * per_route:.1f}",
                f"{1000 * line(lambda run: run.program_cpu)[1]:.1f}",
                f"{1000 * line(lambda run: run.host_seconds)[1]:.1f}",
                f"{1000 * line(lambda run: run.ours_seconds)[1]:.2f}",
                f"{1000 * line(lambda run: run.provider_api_calls * latency_ms / 1000)[1]:.2f}",
            ]
        )
    out += [_table(header, fitted), "", "### The config Pulumi hands the program (PULUMI_CONFIG)\n"]
    header = ["routes", "routes in routes/production.yaml", "routes in Pulumi.production.yaml", "Linux's limit"]
    out.append(
        _table(
            header,
            [
                [
                    str(count),
                    f"{results.config_sizes[count]:,} B",
                    f"{results.old_layout_sizes[count]:,} B",
                    f"{MAX_ARG_STRLEN:,} B",
                ]
                for count in sorted(results.config_sizes)
            ],
        )
    )
    if results.cliff:
        cliff = results.cliff
        out += [
            "",
            f"With {cliff.routes} routes in the stack file ({cliff.config_bytes:,} B of config), `pulumi preview` "
            f"({cliff.host}) exits {cliff.returncode}: `{cliff.message}`",
        ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_benchmark", description=__doc__)
    parser.add_argument("--routes", type=int, nargs="+", default=[200, 500, 1000], help="sizes (default 200 500 1000)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the emulator's delay per answer (default 20)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of preview and refresh per size (default 2)")
    parser.add_argument(
        "--skip-checkpoints",
        action="store_true",
        help="run every command with PULUMI_SKIP_CHECKPOINTS=true (the state saved once, at the end of a run)",
    )
    parser.add_argument(
        "--cliff-routes",
        type=int,
        default=1000,
        help="also preview this many routes kept in the stack file, the old layout (0: skip; default 1000)",
    )
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    extra = SKIP_CHECKPOINTS if args.skip_checkpoints else {}
    results = measure(sorted(args.routes), args.latency_ms / 1000, args.repeat, args.cliff_routes, log, extra)
    if extra:
        print(f"Every command ran with {', '.join(f'{key}={value}' for key, value in extra.items())}.\n")
    print(report(results, args.latency_ms, args.repeat))


if __name__ == "__main__":
    main()
