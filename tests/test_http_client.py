"""The API client: retries, error mapping, pagination and redaction, seen from the caller."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError
from urllib3.response import HTTPResponse

from providers.api import IncidentIoApi
from providers.http import (
    MAX_RETRIES,
    MAX_TIMED_OUT_ATTEMPTS,
    MAX_TIMED_OUT_CALLS,
    READ_TIMEOUT_ENV,
    ApiClient,
    ApiUnreachableError,
    AuthenticationError,
    Credentials,
    IncidentIoError,
    InvalidSettingError,
    NotFoundError,
    ResponseLostError,
    TimeoutBreaker,
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


# An API that stops answering: every request stalls past the read timeout. Short timeouts stand in for
# the real 30 s (INCIDENT_IO_READ_TIMEOUT); the emulator counts the attempts.

STALL_SECONDS = 1.0  # how long the stalled emulator holds each request
SHORT_READ_TIMEOUT = "0.2"


def stall_everything(emulator: Emulator) -> None:
    for method in ("GET", "POST", "PUT", "DELETE"):
        emulator.inject(Fault(method, ".*", times=1000, delay=STALL_SECONDS))


def test_a_call_to_a_stalled_api_gives_up_after_two_attempts(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(READ_TIMEOUT_ENV, SHORT_READ_TIMEOUT)
    stored = emulator.state.create_route(route_spec())
    stall_everything(emulator)
    with pytest.raises(ResponseLostError) as raised:
        IncidentIoApi(_client(emulator)).get_route(stored.id)
    assert emulator.state.count("GET", f"/v2/alert_routes/{stored.id}") == MAX_TIMED_OUT_ATTEMPTS == 2
    assert f"no answer within {SHORT_READ_TIMEOUT} s" in str(raised.value)


def test_after_three_timed_out_calls_every_later_call_fails_at_once_unsent(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(READ_TIMEOUT_ENV, SHORT_READ_TIMEOUT)
    stall_everything(emulator)
    api = IncidentIoApi(_client(emulator))
    for call in range(MAX_TIMED_OUT_CALLS):
        with pytest.raises(ResponseLostError) as lost:
            api.get_route(f"01CALL{call}")
    # The call that reaches the limit says so.
    assert f"{MAX_TIMED_OUT_CALLS} requests timed out (no answer within 0.2 s) in this run" in str(lost.value)
    sent = len(emulator.state.requests)
    assert sent == MAX_TIMED_OUT_CALLS * MAX_TIMED_OUT_ATTEMPTS

    # Every later call of this process to this API, from any client, fails before it is sent.
    for later in (api, IncidentIoApi(_client(emulator))):
        with pytest.raises(ApiUnreachableError) as refused:
            later.create_route(route_spec())
        message = str(refused.value)
        assert message.startswith("POST /v2/alert_routes: not sent: 3 requests timed out (no answer within 0.2 s)")
        assert f"at {emulator.url} in this run" in message
        assert "Check `incidentio:apiUrl` or INCIDENT_IO_API_URL" in message
    assert len(emulator.state.requests) == sent


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_refused_connections_are_not_timeouts_and_never_stop_later_calls() -> None:
    client = ApiClient(Credentials(api_key=CANARY_API_KEY, api_url=_closed_port_url()), max_retries=0)
    for _ in range(MAX_TIMED_OUT_CALLS + 1):
        with pytest.raises(ResponseLostError, match="connection refused"):
            client.get("/v1/identity")


def retries_before_giving_up(breaker: TimeoutBreaker | None = None, **attempt: Any) -> int:
    """How many times the client's retry policy retries one call whose every attempt ends as `attempt` says."""
    policy = _retry_policy(MAX_RETRIES, breaker=breaker)
    retries = 0
    while True:
        try:
            policy = policy.increment("GET", "/v2/alert_routes", **attempt)
        except MaxRetryError:
            return retries
        retries += 1


def test_timeouts_are_retried_once_while_refusals_and_5xx_keep_five_retries() -> None:
    refused = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    assert retries_before_giving_up(error=ReadTimeoutError(None, "/", "Read timed out.")) == 1  # type: ignore[arg-type]
    assert retries_before_giving_up(error=refused) == MAX_RETRIES == 5
    assert retries_before_giving_up(response=HTTPResponse(status=503)) == MAX_RETRIES


def test_no_retry_once_the_process_has_seen_too_many_timeouts() -> None:
    breaker = TimeoutBreaker()
    for _ in range(MAX_TIMED_OUT_CALLS):
        breaker.record("no answer within 30 s")
    assert retries_before_giving_up(breaker, response=HTTPResponse(status=503)) == 0


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan", "3600"])
def test_a_read_timeout_setting_that_is_not_seconds_is_refused_naming_the_variable(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(READ_TIMEOUT_ENV, value)
    with pytest.raises(InvalidSettingError, match=rf"^{READ_TIMEOUT_ENV}='{value}' is not a number of seconds"):
        _client(emulator)
