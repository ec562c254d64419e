"""No API key, whole or in part, and no password in a URL, in any text a user sees: the program, the
provider through the real dynamic host, and each operations command. A key is stripped of the
whitespace a paste leaves around it and refused, by the name of its setting, when it holds anything
else a key cannot hold; whatever the HTTP libraries raise passes through redaction; redaction comes
before any cut."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pulumi
import pytest

from providers.api import IncidentIoApi
from providers.http import ApiClient, Credentials, IncidentIoError
from tests.commands import run_command
from tests.conftest import CANARY_API_KEY, route_spec
from tests.emulator import Emulator, Fault
from tests.engine_harness import EngineHost, without_provider
from tests.stack_harness import OPERATOR_VALUES, StackRun, run_stack, stack_config

# Every 8 characters of the canary key: none may appear anywhere, which also catches a key cut in two.
KEY_PARTS = tuple(CANARY_API_KEY[start : start + 8] for start in range(len(CANARY_API_KEY) - 7))
PASSWORD = "hunter2-url-password"
COMMANDS = ["backup-incident-io.sh", "restore-incident-io.sh", "export-incident-io.sh"]


def _assert_clean(text: str) -> None:
    for part in (*KEY_PARTS, PASSWORD):
        assert part not in text, f"{part!r} leaked into: {text[:300]}"


def _with_control_character(key: str) -> str:
    return f"{key[:10]}\x07{key[10:]}"


def _url_with_password(emulator: Emulator) -> str:
    return emulator.url.replace("http://", f"http://deploy:{PASSWORD}@")


# The program


def _program(emulator: Emulator, **incidentio: str) -> tuple[str, StackRun]:
    config = stack_config("staging", {**OPERATOR_VALUES["staging"], "incidentio:apiUrl": emulator.url})
    config.update({f"incidentio:{key}": value for key, value in incidentio.items()})
    run = StackRun()
    try:
        run_stack("staging", config, run)
    except pulumi.RunError as error:
        return str(error), run
    return "", run


def test_the_program_takes_a_key_pasted_with_a_trailing_newline(emulator: Emulator) -> None:
    message, run = _program(emulator, apiKey=f"{CANARY_API_KEY}\n")
    assert message == "" and run.outputs["routeIds"]


def test_the_program_refuses_a_key_with_a_control_character_by_its_setting(emulator: Emulator) -> None:
    message, run = _program(emulator, apiKey=_with_control_character(CANARY_API_KEY))
    assert "`incidentio:apiKey` holds a control character" in message and run.resources == []
    assert emulator.state.requests == []
    _assert_clean(message)


def test_the_program_refuses_a_url_with_a_password_without_showing_it(emulator: Emulator) -> None:
    message, run = _program(emulator, apiKey=CANARY_API_KEY, apiUrl=_url_with_password(emulator))
    assert "holds a user name or password" in message and "`incidentio:apiUrl`" in message
    assert emulator.state.requests == [] and run.resources == []
    _assert_clean(message)


# A secret in the wrong setting: the key put in the URL's setting, or a key or token in the URL itself.
# Whatever setting a secret was put in, its refusal names the setting and shows no secret.
OTHER_KEY = "inc_another_key_from_a_colleague_4d2e"
WRONG_URLS = {
    "the key itself": CANARY_API_KEY,
    "the key with a newline": f"{CANARY_API_KEY}\n",
    "another key": OTHER_KEY,
    "a key in the path": f"https://api.incident.io/{OTHER_KEY}?x=1",
    "a key in the query": f"https://api.incident.io/?token={CANARY_API_KEY}",
    "a token in the fragment": "https://api.incident.io/#canary-source-token-d41d8cd98f",
}


def _assert_no_secret(text: str) -> None:
    _assert_clean(text)
    for secret in (OTHER_KEY, "another_key_from", "canary-source-token"):
        assert secret not in text, f"{secret!r} leaked into: {text[:300]}"


@pytest.mark.parametrize("url", WRONG_URLS.values(), ids=WRONG_URLS.keys())
def test_the_program_refuses_a_secret_in_the_url_setting_without_showing_it(emulator: Emulator, url: str) -> None:
    message, run = _program(emulator, apiKey=CANARY_API_KEY, apiUrl=url)
    assert "`incidentio:apiUrl`" in message and run.resources == []
    assert emulator.state.requests == []
    _assert_no_secret(message)


def test_the_key_in_the_url_setting_is_called_a_key_and_sent_to_its_setting(emulator: Emulator) -> None:
    message, _ = _program(emulator, apiKey=CANARY_API_KEY, apiUrl=CANARY_API_KEY)
    assert "`incidentio:apiUrl` holds what looks like an incident.io API key (not shown), not a URL" in message
    assert "put the key in `incidentio:apiKey`" in message


@pytest.mark.parametrize("url", WRONG_URLS.values(), ids=WRONG_URLS.keys())
def test_each_command_refuses_a_secret_in_the_url_variable_without_showing_it(emulator: Emulator, url: str) -> None:
    result = run_command("export-incident-io.sh", emulator=emulator, api_url=url)
    assert result.returncode == 2 and "INCIDENT_IO_API_URL" in result.stderr and "Traceback" not in result.stderr
    assert emulator.state.requests == []
    _assert_no_secret(result.stdout + result.stderr)


def test_the_provider_refuses_the_key_in_the_url_setting_without_showing_it(emulator: Emulator, host_for: Any) -> None:
    host = host_for(apiKey=CANARY_API_KEY, apiUrl=CANARY_API_KEY)
    _, failures = host.check("warnings", {}, {"spec": route_spec()})
    with pytest.raises(grpc.RpcError) as raised:
        host.create("warnings", {"spec": route_spec()})
    reasons = " ".join(failure.reason for failure in failures)
    assert "`incidentio:apiUrl` holds what looks like an incident.io API key" in reasons
    for text in (reasons, raised.value.details() or "", host.logs()):
        _assert_no_secret(text)


# The provider, through the dynamic provider host the engine starts


@pytest.fixture
def host_for(emulator: Emulator) -> Iterator[Any]:
    hosts: list[EngineHost] = []

    def start(**incidentio: str) -> EngineHost:
        hosts.append(EngineHost({f"incidentio:{key}": value for key, value in incidentio.items()}))
        return hosts[-1]

    yield start
    for host in hosts:
        host.close()


def test_the_provider_takes_a_key_with_a_trailing_newline(emulator: Emulator, host_for: Any) -> None:
    host = host_for(apiKey=f"{CANARY_API_KEY}\r\n", apiUrl=emulator.url)
    inputs, failures = host.check("warnings", {}, {"spec": route_spec()})
    assert failures == []
    route_id, _, _ = host.create("warnings", without_provider(inputs))
    assert route_id in emulator.state.routes
    _assert_clean(host.logs())


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("apiKey", "`incidentio:apiKey` holds a control character"), ("apiUrl", "holds a user name or password")],
)
def test_the_provider_refuses_bad_credentials_by_their_setting(
    emulator: Emulator, host_for: Any, setting: str, expected: str
) -> None:
    config = {"apiKey": CANARY_API_KEY, "apiUrl": emulator.url}
    config[setting] = _with_control_character(CANARY_API_KEY) if setting == "apiKey" else _url_with_password(emulator)
    host = host_for(**config)
    _, failures = host.check("warnings", {}, {"spec": route_spec()})
    with pytest.raises(grpc.RpcError) as raised:
        host.create("warnings", {"spec": route_spec()})
    reasons = " ".join(failure.reason for failure in failures)
    assert expected in reasons and expected in (raised.value.details() or "")
    assert emulator.state.requests == []
    for text in (reasons, raised.value.details() or "", host.logs()):
        _assert_clean(text)


# The client: whatever the libraries below it raise, and error pages cut to length


def test_a_header_the_http_library_refuses_is_reported_without_the_key(emulator: Emulator) -> None:
    # Credentials made without `resolve` (which would strip the newline): requests refuses the header
    # with a message that quotes it.
    client = ApiClient(Credentials(api_key=f"{CANARY_API_KEY}\n", api_url=emulator.url))
    with pytest.raises(IncidentIoError) as raised:
        IncidentIoApi(client).get_route("01KT0000000000000000000001")
    assert "could not be sent" in str(raised.value)
    _assert_clean(str(raised.value))


def test_an_error_page_echoing_the_key_is_redacted_before_it_is_cut(emulator: Emulator) -> None:
    # A gateway page that repeats the request's Authorization header, where the 200-character cut
    # of the message falls inside the key.
    header = "Authorization: Bearer "
    page = "x" * (200 - len(header) - 10) + header + CANARY_API_KEY
    emulator.inject(Fault("GET", "/v2/alert_routes/.*", times=10, status=502, page=page))
    client = ApiClient(Credentials(api_key=CANARY_API_KEY, api_url=emulator.url), max_retries=0)
    with pytest.raises(IncidentIoError) as raised:
        IncidentIoApi(client).get_route("01KT0000000000000000000001")
    assert "HTTP 502" in str(raised.value)
    _assert_clean(str(raised.value))


# The operations commands


@pytest.fixture
def backup(emulator: Emulator, tmp_path: Path) -> Path:
    emulator.state.create_route(route_spec())
    directory = tmp_path / "backup"
    assert run_command("backup-incident-io.sh", directory, emulator=emulator).returncode == 0
    emulator.state.requests.clear()
    return directory


def _arguments(command: str, backup: Path) -> list[str | Path]:
    arguments: dict[str, list[str | Path]] = {
        "backup-incident-io.sh": [backup.parent / "again"],
        "restore-incident-io.sh": [backup, "--dry-run"],
    }
    return arguments.get(command, [])


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_takes_a_token_with_a_trailing_newline(command: str, emulator: Emulator, backup: Path) -> None:
    result = run_command(command, *_arguments(command, backup), emulator=emulator, api_key=f"{CANARY_API_KEY}\n")
    assert result.returncode == 0, result.stderr
    _assert_clean(result.stdout + result.stderr)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_refuses_a_token_with_a_control_character(command: str, emulator: Emulator, backup: Path) -> None:
    bad = _with_control_character(CANARY_API_KEY)
    result = run_command(command, *_arguments(command, backup), emulator=emulator, api_key=bad)
    assert result.returncode == 2 and "INCIDENT_IO_TOKEN holds a control character" in result.stderr
    assert emulator.state.requests == [] and "Traceback" not in result.stderr
    _assert_clean(result.stdout + result.stderr)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_refuses_a_url_with_a_password_without_showing_it(
    command: str, emulator: Emulator, backup: Path
) -> None:
    result = run_command(command, *_arguments(command, backup), emulator=emulator, api_url=_url_with_password(emulator))
    assert result.returncode == 2 and "INCIDENT_IO_API_URL" in result.stderr
    assert emulator.state.requests == [] and "Traceback" not in result.stderr
    _assert_clean(result.stdout + result.stderr)


@pytest.mark.parametrize("password", ["pass/word-x9", "pass?word-x9", "pass#word-x9"])
def test_a_password_with_url_characters_is_refused_without_showing_it(emulator: Emulator, password: str) -> None:
    # urlsplit ends the host at the first `/`, `?` or `#`: such a password must not slip past as a "host".
    url = emulator.url.replace("http://", f"http://deploy:{password}@")
    result = run_command("export-incident-io.sh", emulator=emulator, api_url=url)
    assert result.returncode == 2 and "holds a user name or password" in result.stderr
    assert password not in result.stdout + result.stderr and "word-x9" not in result.stdout + result.stderr
    assert emulator.state.requests == []


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_names_the_token_it_reads_when_the_key_is_refused(
    command: str, emulator: Emulator, backup: Path
) -> None:
    result = run_command(command, *_arguments(command, backup), emulator=emulator, api_key="inc_revoked_key_0123456789")
    assert result.returncode == 1 and "INCIDENT_IO_TOKEN" in result.stderr
    assert "incidentio:apiKey" not in result.stderr  # these commands do not read the stack config
    assert "inc_revoked_key_0123456789" not in result.stdout + result.stderr
