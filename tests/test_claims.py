"""Routes are recorded in incident.io as managed by this repository, after each create, update and
adoption, and never on preview or refresh."""

from __future__ import annotations

from typing import Any

from providers.incident_io import AlertRouteProvider
from tests.conftest import CANARY_API_KEY, CANARY_TOKEN_PREFIX, configured_provider, route_spec
from tests.emulator import Emulator, Fault
from tests.emulator.faults import echoing_error

REPOSITORY = "https://github.com/unkeyed/infra"
CLAIMS = "/v2/managed_resources"


def _provider(emulator: Emulator, **config: str) -> AlertRouteProvider:
    return configured_provider(emulator, sourceUrl=REPOSITORY, **config)


def _inputs(provider: AlertRouteProvider, olds: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    checked = provider.check(olds or {}, {"spec": route_spec(**overrides)})
    assert checked.failures == []
    return checked.inputs


def test_create_claims_the_route_once_with_the_repository(emulator: Emulator) -> None:
    provider = _provider(emulator)
    created = provider.create(_inputs(provider))
    assert emulator.state.count("POST", CLAIMS) == 1
    record = emulator.state.managed_resources[("alert_route", created.id)]
    assert record["managed_by"] == "external"
    assert record["annotations"] == {"incident.io/is-managed-externally": "true", "incident.io/source-url": REPOSITORY}
    assert (created.outs or {})["claimed"] is True


def test_preview_and_refresh_never_claim(emulator: Emulator) -> None:
    provider = _provider(emulator)
    inputs = _inputs(provider)
    created = provider.create(inputs)
    outs = created.outs or {}
    provider.check(inputs, {"spec": route_spec(enabled=False)})
    assert provider.diff(created.id, outs, inputs).changes is False
    provider.read(created.id, outs)
    assert emulator.state.count("POST", CLAIMS) == 1


def test_update_and_adoption_claim(emulator: Emulator) -> None:
    provider = _provider(emulator)
    inputs = _inputs(provider)
    created = provider.create(inputs)
    provider.update(created.id, created.outs or {}, _inputs(provider, inputs, enabled=False))
    assert emulator.state.count("POST", CLAIMS) == 2
    existing = emulator.state.create_route(route_spec("Adopted"))
    adopted = _provider(emulator).create({**_inputs(provider, name="Adopted"), "adopt_id": existing.id})
    assert emulator.state.count("POST", CLAIMS) == 3 and ("alert_route", adopted.id) in emulator.state.managed_resources


def test_a_failed_claim_is_reported_not_fatal_and_retried_on_the_next_up(emulator: Emulator) -> None:
    provider = _provider(emulator)
    inputs = _inputs(provider)
    body = echoing_error(500, f"echo {CANARY_API_KEY}")
    emulator.inject(Fault("POST", CLAIMS, times=10, status=500, body=body))

    created = provider.create(inputs)

    outs = created.outs or {}
    assert created.id in emulator.state.routes  # the route itself was written
    assert outs["claimed"] is False
    assert "could not be marked as managed" in outs["claim_error"] and "next `pulumi up`" in outs["claim_error"]
    assert CANARY_API_KEY not in outs["claim_error"] and CANARY_TOKEN_PREFIX not in outs["claim_error"]
    emulator.faults.clear()
    # The next preview shows the route as changing, and the next up claims it without writing the route.
    assert provider.diff(created.id, outs, inputs).changes is True
    retried = provider.update(created.id, outs, inputs).outs or {}
    assert retried["claimed"] is True and retried["claim_error"] == ""
    assert emulator.state.count("PUT") == 0
    assert provider.diff(created.id, retried, inputs).changes is False


def test_claims_can_be_switched_off(emulator: Emulator) -> None:
    provider = _provider(emulator, claimRoutes="false")
    inputs = _inputs(provider)
    created = provider.create(inputs)
    provider.update(created.id, created.outs or {}, _inputs(provider, inputs, enabled=False))
    assert emulator.state.count("POST", CLAIMS) == 0
    assert provider.diff(created.id, created.outs or {}, inputs).changes is False
