"""The API client: retries, error mapping, pagination and redaction, seen from the caller."""

from __future__ import annotations

from typing import Any

import pytest

from providers.api import IncidentIoApi
from providers.http import (
    MAX_RETRIES,
    ApiClient,
    AuthenticationError,
    Credentials,
    IncidentIoError,
    NotFoundError,
    _retry_policy,
)
from tests.conftest import CANARY_API_KEY, CANARY_TOKEN_PREFIX, route_spec
from tests.emulator import Emulator, Fault
from tests.emulator.faults import echoing_error


def _client(emulator: Emulator, api_key: str = CANARY_API_KEY, **kwargs: Any) -> ApiClient:
    return ApiClient(Credentials(api_key=api_key, api_url=emulator.url), **kwargs)


def test_missing_api_key_names_both_ways_to_set_it() -> None:
    with pytest.raises(AuthenticationError, match=r"incidentio:apiKey.*INCIDENT_IO_TOKEN"):
        ApiClient(Credentials(api_key=""))


def test_wrong_api_key_is_an_authentication_error_without_the_key(emulator: Emulator) -> None:
    wrong = "inc_wrong_key_0123456789"
    with pytest.raises(AuthenticationError) as raised:
        IncidentIoApi(_client(emulator, wrong)).get_route("01X")
    assert "HTTP 401" in str(raised.value) and "scopes" in str(raised.value)
    assert wrong not in str(raised.value)


def test_validation_error_names_the_field(emulator: Emulator) -> None:
    spec = route_spec()
    del spec["enabled"]
    with pytest.raises(IncidentIoError) as raised:
        IncidentIoApi(_client(emulator)).create_route(spec)
    assert raised.value.status == 422
    assert raised.value.field == "enabled"
    assert "enabled: missing required field" in str(raised.value)


def test_429_with_retry_after_is_retried_and_honoured(emulator: Emulator) -> None:
    fault = emulator.inject(Fault("GET", "/v2/alert_routes", times=2, status=429, headers={"Retry-After": "1"}))
    routes = list(IncidentIoApi(_client(emulator)).list_routes())
    assert routes == [] and fault.times == 0
    assert emulator.state.count("GET", "/v2/alert_routes") == 3


def test_503_is_retried_then_reported_clearly_when_it_persists(emulator: Emulator) -> None:
    emulator.inject(Fault("GET", r"/v2/alert_routes/.*", times=10, status=503))
    with pytest.raises(IncidentIoError, match="HTTP 503"):
        IncidentIoApi(_client(emulator, max_retries=2)).get_route("01MISSING")
    assert emulator.state.count("GET", "/v2/alert_routes/") == 3


def test_slow_answer_times_out_and_is_retried(emulator: Emulator) -> None:
    stored = emulator.state.create_route(route_spec())
    emulator.inject(Fault("GET", f"/v2/alert_routes/{stored.id}", delay=1.0))
    route = IncidentIoApi(_client(emulator, timeout=(1.0, 0.3))).get_route(stored.id)
    assert route["id"] == stored.id
    assert emulator.state.count("GET", f"/v2/alert_routes/{stored.id}") == 2


def test_not_found_is_its_own_error(emulator: Emulator) -> None:
    api = IncidentIoApi(_client(emulator))
    with pytest.raises(NotFoundError):
        api.get_route("01NOPE")
    assert api.find_route("01NOPE") is None


def test_pagination_follows_the_cursor_to_the_end(emulator: Emulator) -> None:
    for index in range(7):
        emulator.state.create_route(route_spec(f"route {index}"))
    client = _client(emulator)
    names = [route["name"] for route in client.paginate("/v2/alert_routes", "alert_routes", page_size=3)]
    assert names == [f"route {index}" for index in range(7)]
    assert emulator.state.count("GET", "/v2/alert_routes") == 3


def test_error_text_echoing_credentials_is_redacted(emulator: Emulator) -> None:
    api = IncidentIoApi(_client(emulator))
    token = next(api.list_sources())["secret_token"]
    assert token.startswith(CANARY_TOKEN_PREFIX)
    echo = echoing_error(400, f"key {CANARY_API_KEY} token {token}")
    emulator.inject(Fault("GET", r"/v2/alert_routes/.*", status=400, body=echo))
    with pytest.raises(IncidentIoError) as raised:
        api.get_route("01ANY")
    assert CANARY_API_KEY not in str(raised.value) and token not in str(raised.value)
    assert "[REDACTED]" in str(raised.value)


def test_client_refuses_to_be_pickled(emulator: Emulator) -> None:
    import pickle

    with pytest.raises(TypeError, match="credentials"):
        pickle.dumps(_client(emulator))
    assert CANARY_API_KEY not in repr(_client(emulator))
    assert CANARY_API_KEY not in repr(Credentials(api_key=CANARY_API_KEY))


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 60), ("not a date", 10.0), ("Thu, 01 Jan 1970 00:00:00 GMT", 1.0)],
    ids=["capped-at-the-api-window", "unreadable-waits-10s", "past-date-waits-1s"],
)
def test_retry_after_is_read_the_way_incident_io_means_it(header: str, seconds: float) -> None:
    assert _retry_policy(MAX_RETRIES).parse_retry_after(header) == seconds
