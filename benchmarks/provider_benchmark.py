"""What a user of the alert route provider will feel, measured on this machine.

Drives the real dynamic provider host (`python -m pulumi.dynamic`) over gRPC as the engine does,
with every request built before the clock starts, against the emulator:

1. API calls per operation (create, preview, refresh, update, destroy), counted by the emulator.
2. A refresh, sequential and 4 at a time (the Python host runs at most 4 calls at once), with the
   emulator answering at loopback speed and at about the real API's pace; each row's floor is bare
   GETs of the same routes at the same concurrency and latency.
3. Where one route's refresh time goes: the GET itself, our provider code, and Pulumi's host + gRPC.
4. A refresh past the API's rate limit (scaled down), against the time the limit itself requires.

Run: `.venv/bin/python -m benchmarks.provider_benchmark` (see --help). It prints Markdown;
docs/benchmark.md holds a committed run.
"""

from __future__ import annotations

import argparse
import functools
import math
import platform
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import requests

from providers.http import ApiClient
from tests.conftest import CANARY_API_KEY, configured_provider, route_spec
from tests.emulator import Emulator, EmulatorState, running_emulator
from tests.emulator.limits import RateLimit
from tests.emulator.seed import seed_directory
from tests.engine_harness import EngineHost, provider_blob, without_provider

ROUTE_CALLS = ("/v2/alert_routes", "/v2/managed_resources")


def _called(method: str, path: str) -> str:
    """A request as the call table names it: a route (v2), a route through v3, the org's mode, a claim."""
    if path.startswith("/v2/managed_resources"):
        return f"{method} claim"
    if path == "/v3/alert_routes":
        return f"{method} org mode"
    return f"{method} route{' v3' if path.startswith('/v3/') else ''}"


def _calls(state: EmulatorState, before: int) -> str:
    counts: dict[str, int] = {}
    for method, path in state.requests[before:]:
        what = _called(method, path)
        counts[what] = counts.get(what, 0) + 1
    return ", ".join(f"{what} {count}" for what, count in sorted(counts.items())) or "none"


# Whether the emulated org is on incident.io's new alert grouping engine, where each route is read through
# v2 and v3 (docs/api-behaviour.md, "Which version this project uses").
MIGRATED = {"migrated": True, "not-migrated": False}


@contextmanager
def _org(*, migrated: bool, latency: float = 0.0) -> Iterator[tuple[Emulator, EngineHost]]:
    with running_emulator(api_key=CANARY_API_KEY, latency=latency, org_migrated=migrated) as emulator:
        seed_directory(emulator.state, base_url="https://api.incident.io")
        host = EngineHost({"incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url})
        try:
            yield emulator, host
        finally:
            host.close()


def call_counts(n: int, org_mode: str) -> list[str]:
    with _org(migrated=MIGRATED[org_mode]) as (emulator, host):
        state = emulator.state
        names = [f"route-{index}" for index in range(n)]
        inputs = {name: without_provider(host.check(name, {}, {"spec": route_spec(name)})[0]) for name in names}
        mark = len(state.requests)
        created = {name: host.create(name, inputs[name])[:2] for name in names}
        create_calls = _calls(state, mark)
        states = {name: without_provider(outs) for name, (_, outs) in created.items()}

        mark = len(state.requests)
        for name in names:
            host.check(name, inputs[name], {"spec": route_spec(name)})
            host.diff(name, created[name][0], states[name], inputs[name])
        preview_calls = _calls(state, mark)

        mark = len(state.requests)
        for name in names:
            host.read(name, created[name][0], states[name], inputs[name])
        refresh_calls = _calls(state, mark)

        mark = len(state.requests)
        first = names[0]
        changed = without_provider(host.check(first, inputs[first], {"spec": route_spec(first, enabled=False)})[0])
        host.update(first, created[first][0], states[first], changed)
        update_calls = _calls(state, mark)

        # `pulumi destroy` is another run, with a host of its own (this one's created routes are its own
        # stack's, which it would never delete: providers/incident_io.py, `_delete`).
        destroyer = EngineHost({"incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url})
        try:
            mark = len(state.requests)
            for name in names:
                destroyer.delete(name, created[name][0], states[name])
            destroy_calls = _calls(state, mark)
        finally:
            destroyer.close()
    return [
        org_mode,
        str(n),
        create_calls,
        preview_calls,
        refresh_calls,
        update_calls,
        destroy_calls,
        str(len(provider_blob())),
    ]


def _seeded(emulator: Emulator, n: int) -> list[tuple[str, dict[str, Any]]]:
    """n live routes and the state a stack would hold for each (as created through the provider)."""
    provider = configured_provider(emulator, claimRoutes="false")
    routes = []
    for index in range(n):
        created = provider.create(provider.check({}, {"spec": route_spec(f"Route {index:04d}")}).inputs)
        routes.append((created.id, created.outs or {}))
    return routes


def _timed(work: Sequence[Callable[[], object]], concurrency: int) -> float:
    started = time.perf_counter()
    if concurrency == 1:
        for call in work:
            call()
    else:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(lambda call: call(), work))
    return time.perf_counter() - started


def _bare_gets(emulator: Emulator, route_ids: list[str], concurrency: int) -> float:
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["Authorization"] = f"Bearer {CANARY_API_KEY}"
        return local.session  # type: ignore[no-any-return]

    def get(url: str) -> None:
        session().get(url, timeout=30).raise_for_status()

    # What a refresh must read of each route: its v2 answer, and in an org on the new engine its v3 one.
    versions = ("v2", "v3") if emulator.state.org_migrated else ("v2",)
    urls = [f"{emulator.url}/{version}/alert_routes/{route_id}" for route_id in route_ids for version in versions]
    return _timed([functools.partial(get, url) for url in urls], concurrency)


def _engine_reads(host: EngineHost, routes: list[tuple[str, dict[str, Any]]], concurrency: int) -> float:
    requests_ = [host.read_request("route", route_id, outs, {"spec": outs["spec"]}) for route_id, outs in routes]
    return _timed([functools.partial(host.stub.Read, request) for request in requests_], concurrency)


def refresh_rows(n: int, latencies_ms: list[float], concurrencies: list[int], migrated: bool) -> list[list[str]]:
    rows = []
    for latency_ms in latencies_ms:
        with _org(latency=latency_ms / 1000, migrated=migrated) as (emulator, host):
            routes = _seeded(emulator, n)
            route_ids = [route_id for route_id, _ in routes]
            _engine_reads(host, routes[:5], 1)  # warm the host: provider loaded, session open
            for concurrency in concurrencies:
                engine = _engine_reads(host, routes, concurrency)
                floor = _bare_gets(emulator, route_ids, concurrency)
                rows.append(
                    [
                        f"{latency_ms:g} ms",
                        str(concurrency),
                        str(n),
                        f"{engine:.2f}",
                        f"{floor:.2f}",
                        f"{engine / floor:.2f}x",
                        f"{1000 * engine / n:.2f}",
                        # Noise on a busy machine can make the engine path the faster of two runs: no overhead
                        # to measure then, rather than a negative one.
                        f"{1000 * (engine - floor) / n:.2f}" if engine >= floor else "0.00 (below noise)",
                    ]
                )
    return rows


@contextmanager
def _time_in_requests(client: ApiClient) -> Iterator[list[float]]:
    """Seconds spent inside the client's HTTP requests (the GET as our client makes it), summed."""
    spent = [0.0]
    request = client.request

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return request(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    client.request = timed  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        client.request = request  # type: ignore[method-assign]


def breakdown_row(n: int, migrated: bool, rounds: int = 5) -> list[str]:
    """Per route, sequential, loopback: the GET, our provider code around it, Pulumi's host + gRPC.

    The GET and our code are measured in the same in-process run (time inside the HTTP client, and
    the rest), so neither can come out negative; Pulumi's share is the engine path less that run.
    Each is the best of `rounds` interleaved runs, so that one slow run does not decide the split."""
    with _org(migrated=migrated) as (emulator, host):
        routes = _seeded(emulator, n)
        provider = configured_provider(emulator, claimRoutes="false")
        reads = [functools.partial(provider.read, route_id, outs) for route_id, outs in routes]
        get, ours, engine = math.inf, math.inf, math.inf
        for _ in range(rounds):
            with _time_in_requests(provider.api.client) as in_requests:
                total = _timed(reads, 1)
            get, ours = min(get, in_requests[0]), min(ours, total - in_requests[0])
            engine = min(engine, _engine_reads(host, routes, 1))
    pulumi = engine - (get + ours)
    per = [1000 * seconds / n for seconds in (get, ours, max(pulumi, 0.0), engine)]
    cells = [f"{value:.2f}" for value in per]
    if pulumi < 0:
        cells[2] = "0.00 (below noise)"
    return [str(n), *cells]


def rate_limited_row(budget: int, window: float, n: int, concurrency: int, migrated: bool) -> list[str]:
    with _org(migrated=migrated) as (emulator, host):
        routes = _seeded(emulator, n)
        emulator.rate_limit = RateLimit(budget, window)  # only the refresh is limited, not the seeding
        elapsed = _engine_reads(host, routes, concurrency)
        refused = emulator.rate_limit.refused
    # The limit lets `budget` GETs through per window, and each read is 1 GET (2 in an org on the new
    # engine, plus the org's mode once): the last ones wait for window ceil(GETs/budget).
    gets = n * (2 if emulator.state.org_migrated else 1) + (1 if emulator.state.org_migrated else 0)
    required = (math.ceil(gets / budget) - 1) * window
    return [
        f"{budget}/{window:g} s",
        str(concurrency),
        str(n),
        f"{elapsed:.2f}",
        f"{required:.2f}",
        f"{elapsed / required:.2f}x" if required else "n/a",
        str(refused),
    ]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.provider_benchmark",
        description="Benchmark the alert route provider on the engine path against the emulator; prints Markdown.",
    )
    parser.add_argument("--routes", type=int, default=200, help="routes per timing row (default 200)")
    parser.add_argument(
        "--call-counts", type=int, nargs="*", default=[1, 10, 100], help="route counts for the call table"
    )
    parser.add_argument(
        "--latency-ms", type=float, nargs="*", default=[0.0, 20.0], help="emulator answer delays (default 0 20)"
    )
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 4], help="calls at once (default 1 4)")
    parser.add_argument(
        "--org-mode",
        choices=sorted(MIGRATED),
        default="migrated",
        help="the emulated org for the timing tables: on incident.io's new alert grouping engine (the default, each "
        "route read through v2 and v3) or not (the API calls table shows both)",
    )
    parser.add_argument(
        "--rate-limit",
        default="100/5",
        metavar="N/SECONDS",
        help="the scaled-down rate limit for the last table (default 100/5; the real API's is 1200/60)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    migrated = MIGRATED[args.org_mode]
    limit = RateLimit.parse(args.rate_limit)
    print(f"Run {time.strftime('%Y-%m-%d')} on {platform.machine()}, Python {platform.python_version()}\n")
    print("### API calls per operation\n")
    header = ["org", "N", "create all", "preview, no change", "refresh", "update one", "destroy all", "provider blob"]
    rows = [call_counts(n, mode) for mode in ("not-migrated", "migrated") for n in args.call_counts]
    print(_table(header, rows), flush=True)
    print(f"\nTimings below: an org {args.org_mode} ({'' if migrated else 'not '}on the new grouping engine).")
    print("\n### Refresh: engine path against bare GETs\n")
    header = ["API latency", "at once", "N", "engine path s", "bare GETs s", "ratio", "ms/route", "overhead ms/route"]
    print(_table(header, refresh_rows(args.routes, args.latency_ms, args.concurrency, migrated)), flush=True)
    print("\n### Where one route's refresh goes (loopback, sequential, best of 5), ms per route\n")
    header = ["N", "the GET", "our provider code", "Pulumi host + gRPC", "total"]
    print(_table(header, [breakdown_row(args.routes, migrated)]), flush=True)
    print("\n### Refresh past the rate limit, 4 at a time\n")
    header = ["limit", "at once", "reads", "took s", "limit requires s", "ratio", "429s answered"]
    reads = int(limit.requests * 2.5)
    print(_table(header, [rate_limited_row(limit.requests, limit.window, reads, 4, migrated)]), flush=True)


if __name__ == "__main__":
    main()
