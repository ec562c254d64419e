"""Routing coverage of many routes, in-process: the indexed evaluation every preview runs, against the exhaustive
one (every route for every alert), with the same routing matrix and warnings.

Every preview and up runs routing coverage (components/routing_tests.py `verify`): it derives an alert for each
value the conditions name, so the alerts grow with the routes, and evaluating every route for every alert grows
with their square. The index (providers/route_evaluation.py `IndexedRoutes`) evaluates only the routes that can
act on an alert. The routes are the engine benchmark's generated ones (benchmarks/engine_benchmark.py), in
production's names; the time is `verify` on them, compiling them included, the median of `--repeat` runs.

Run: `.venv/bin/python -m benchmarks.coverage_benchmark` (about a minute); docs/benchmark.md holds a run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Mapping
from typing import Any

import yaml

from benchmarks.provider_benchmark import _table
from components.routing_tests import StackRoutes, symbolic_routes, verify
from components.settings import RoutingCoverage
from providers.route_evaluation import Alert, Evaluation, IndexedRoutes, evaluate
from tests.e2e.harness import GENERATED_ROUTE_SOURCES, generated_routes
from tests.stack_harness import PROJECT, ROOT


class _EveryRoute(IndexedRoutes):
    """What coverage did before the index: every route evaluated for every alert."""

    def evaluate(self, alert: Alert, *, subject_types: Mapping[str, str] | None = None) -> Evaluation:
        return evaluate(self.routes, alert, subject_types=subject_types)


class _Exhaustive(StackRoutes):
    @property
    def _indexed(self) -> IndexedRoutes:  # the benchmark's stand-in for the index
        return _EveryRoute(self.payloads)


def config_of(count: int) -> dict[str, Any]:
    """Production's names with `count` generated routes, as the engine benchmark configures its stack."""
    document = yaml.safe_load((ROOT / "Pulumi.production.yaml").read_text())
    config = {key.removeprefix(f"{PROJECT}:"): value for key, value in document["config"].items()}
    config["alertSources"] = {key: config["alertSources"][key] for key in GENERATED_ROUTE_SOURCES}
    config["routes"] = generated_routes(count)
    config.pop("routingTests", None)
    return config


def run_coverage(config: dict[str, Any], exhaustive: bool) -> tuple[float, dict[str, Any], list[str]]:
    """One `verify`: its seconds, the routing matrix and the warnings."""
    warnings: list[str] = []
    started = time.perf_counter()
    routes = symbolic_routes(config)
    if exhaustive:
        routes = _Exhaustive(**{name: getattr(routes, name) for name in routes.__dataclass_fields__})
    matrix = verify("benchmark", routes, (), RoutingCoverage(), warn=warnings.append)
    return time.perf_counter() - started, matrix, warnings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.coverage_benchmark", description=__doc__)
    parser.add_argument("--routes", type=int, nargs="+", default=[200, 400, 800, 1000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the table shows the median")
    args = parser.parse_args(argv)
    rows = []
    for count in args.routes:
        config = config_of(count)
        timed: dict[bool, list[float]] = {True: [], False: []}
        results: dict[bool, tuple[dict[str, Any], list[str]]] = {}
        for _ in range(args.repeat):
            for exhaustive in (True, False):
                seconds, matrix, warnings = run_coverage(config, exhaustive)
                timed[exhaustive].append(seconds)
                results[exhaustive] = (matrix, warnings)
        same = results[True] == results[False]
        exhaustive_s, indexed_s = statistics.median(timed[True]), statistics.median(timed[False])
        rows.append(
            [
                str(count),
                str(len(results[False][0])),
                f"{exhaustive_s:.3f}",
                f"{indexed_s:.3f}",
                f"{exhaustive_s / indexed_s:.0f}x",
                "yes" if same else "NO",
            ]
        )
        if not same:
            raise SystemExit(f"the indexed coverage of {count} routes differs from the exhaustive one")
    print(
        f"Run {time.strftime('%Y-%m-%d')} on {platform.machine()} ({os.cpu_count()} CPUs), Python "
        f"{platform.python_version()}; median of {args.repeat} runs\n"
    )
    header = ["routes", "alerts (matrix rows)", "exhaustive s", "indexed s", "faster", "same matrix and warnings"]
    print(_table(header, rows))


if __name__ == "__main__":
    main()
