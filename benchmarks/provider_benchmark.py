"""API calls and wall time of the alert route provider on the engine path, against the emulator.

Run: `.venv/bin/python -m benchmarks.provider_benchmark [N ...]` (default 1 10 100 500).
Prints a Markdown table; docs/benchmark.md holds the last committed run.
"""

from __future__ import annotations

import sys
import time

import requests

from tests.conftest import CANARY_API_KEY, route_spec
from tests.emulator import EmulatorState, running_emulator
from tests.engine_harness import EngineHost, provider_blob, without_provider


def _calls(state: EmulatorState, before: int) -> str:
    requests_seen = state.requests[before:]
    counts: dict[str, int] = {}
    for method, _ in requests_seen:
        counts[method] = counts.get(method, 0) + 1
    return " ".join(f"{method} {count}" for method, count in sorted(counts.items())) or "none"


def measure(n: int) -> list[str]:
    with running_emulator(api_key=CANARY_API_KEY) as emulator:
        state = emulator.state
        host = EngineHost({"incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url})
        try:
            names = [f"route-{index}" for index in range(n)]
            inputs = {name: without_provider(host.check(name, {}, {"spec": route_spec(name)})[0]) for name in names}
            mark = len(state.requests)
            created = {name: host.create(name, inputs[name])[:2] for name in names}
            create_calls = _calls(state, mark)

            mark = len(state.requests)
            for name in names:
                host.check(name, inputs[name], {"spec": route_spec(name)})
                host.diff(name, created[name][0], without_provider(created[name][1]), inputs[name])
            preview_calls = _calls(state, mark)

            mark = len(state.requests)
            started = time.perf_counter()
            for name in names:
                host.read(name, created[name][0], without_provider(created[name][1]), inputs[name])
                host.diff(name, created[name][0], without_provider(created[name][1]), inputs[name])
            refresh_seconds = time.perf_counter() - started
            refresh_calls = _calls(state, mark)

            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {CANARY_API_KEY}"
            started = time.perf_counter()
            for name in names:
                session.get(f"{emulator.url}/v2/alert_routes/{created[name][0]}", timeout=10).raise_for_status()
            floor_seconds = time.perf_counter() - started

            mark = len(state.requests)
            first = names[0]
            changed = without_provider(host.check(first, inputs[first], {"spec": route_spec(first, enabled=False)})[0])
            host.update(first, created[first][0], without_provider(created[first][1]), changed)
            update_calls = _calls(state, mark)

            mark = len(state.requests)
            for name in names:
                host.delete(name, created[name][0], without_provider(created[name][1]))
            destroy_calls = _calls(state, mark)
        finally:
            host.close()
    ratio = refresh_seconds / floor_seconds if floor_seconds else float("nan")
    return [
        str(n),
        create_calls,
        preview_calls,
        refresh_calls,
        update_calls,
        destroy_calls,
        f"{refresh_seconds:.3f} / {floor_seconds:.3f} = {ratio:.2f}x",
        str(len(provider_blob())),
    ]


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [1, 10, 100, 500]
    header = [
        "N",
        "create all",
        "preview, no change",
        "refresh",
        "update one",
        "destroy all",
        "refresh+diff s / GET floor s",
        "provider blob bytes",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for n in sizes:
        print("| " + " | ".join(measure(n)) + " |", flush=True)


if __name__ == "__main__":
    main()
