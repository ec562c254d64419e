"""incident.io's rate limit (1200 requests a minute per key), scaled down: a refresh through the real
dynamic provider host, 4 reads at a time, and a backup each need more reads than one window allows,
and end with every read done and no call failed."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from providers.http import ApiClient, Credentials
from tests.commands import run_command
from tests.conftest import CANARY_API_KEY, CANARY_TOKEN_PREFIX, route_spec
from tests.emulator import Emulator, Fault, running_emulator
from tests.emulator.limits import RateLimit
from tests.emulator.seed import seed_directory
from tests.engine_harness import EngineHost

ROOT = Path(__file__).resolve().parent.parent
# 25 requests per 1.5 s stands for 1200 per minute; 60 reads need three windows, so two waits.
BUDGET, WINDOW, READS = 25, 1.5, 60


@pytest.fixture
def limited() -> Iterator[Emulator]:
    with running_emulator(api_key=CANARY_API_KEY, rate_limit=RateLimit(BUDGET, WINDOW)) as emulator:
        seed_directory(emulator.state, base_url="https://api.incident.io", token_prefix=CANARY_TOKEN_PREFIX)
        for index in range(READS):
            emulator.state.create_route(route_spec(f"Route {index:03d}"))
        yield emulator


def test_the_limit_is_answered_with_429_and_an_http_date() -> None:
    now = 1_700_000_000.25
    limit = RateLimit(2, 10.0, clock=lambda: now)
    assert limit.admit("key") is None and limit.admit("key") is None
    retry_after = limit.admit("key")
    assert retry_after == email.utils.formatdate(1_700_000_011, usegmt=True)  # the window's end, rounded up
    assert limit.admit("another key") is None


def test_a_refresh_through_the_host_four_at_a_time_finishes_under_the_limit(limited: Emulator) -> None:
    route_ids = list(limited.state.routes)
    host = EngineHost({"incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": limited.url})
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            reads = list(pool.map(lambda route_id: host.read("route", route_id, {}, {}), route_ids))
    finally:
        host.close()

    assert [read.id for read in reads] == route_ids  # every read done, none failed
    assert limited.rate_limit is not None and limited.rate_limit.refused > 0, "the test never reached the limit"
    # Each refused read was retried after the window; nothing else was asked: each route read through v2
    # and v3 (the emulated org is on the new grouping engine), and the org's mode asked once by the host.
    asked = limited.state.count("GET", "/v2/alert_routes/") + limited.state.count("GET", "/v3/alert_routes")
    assert asked == 2 * READS + 1 + limited.rate_limit.refused


def test_a_backup_finishes_under_the_limit(limited: Emulator, tmp_path: Path) -> None:
    result = run_command("backup-incident-io.sh", tmp_path / "backup", emulator=limited)
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "backup" / "alert_routes").iterdir())) == READS
    assert limited.rate_limit is not None and limited.rate_limit.refused > 0, "the test never reached the limit"


def test_a_retry_after_date_already_past_still_waits_a_second(emulator: Emulator) -> None:
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    emulator.inject(Fault("GET", "/v2/alert_routes", status=429, headers={"Retry-After": past}))
    client = ApiClient(Credentials(api_key=CANARY_API_KEY, api_url=emulator.url))
    started = time.monotonic()
    assert list(client.paginate("/v2/alert_routes", "alert_routes")) == []
    assert time.monotonic() - started >= 1.0
    assert emulator.state.count("GET", "/v2/alert_routes") == 2
