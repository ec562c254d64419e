"""What the operations commands share: the API client from the environment, progress, exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn, TextIO

from providers.api import IncidentIoApi
from providers.http import (
    API_URL_ENV,
    DEFAULT_API_URL,
    READ_TIMEOUT_ENV,
    TOKEN_ENV,
    ApiClient,
    Credentials,
    IncidentIoError,
    InvalidApiUrlError,
    InvalidCredentialsError,
    InvalidSettingError,
)

# Exit codes, the same for every command (docs/operations.md).
EXIT_OK = 0
EXIT_FAILED = 1  # the API or a write failed; the message says which, and what is left as it was
EXIT_USAGE = 2  # bad arguments or unreadable input (argparse uses 2 as well)
EXIT_DECLINED = 3  # restore: the confirmation was not given, so nothing was changed
EXIT_INTERRUPTED = 130


class OperationError(Exception):
    """A command cannot go on; the message is for the operator."""

    exit_code = EXIT_FAILED


class InputError(OperationError):
    exit_code = EXIT_USAGE


def command_parser(prog: str, description: str, *, scopes: str, exit_codes: str) -> argparse.ArgumentParser:
    """An argument parser whose --help also says what the command reads from the environment and how it exits."""
    return argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=(
            f"Environment: {TOKEN_ENV} (required; an incident.io API key with {scopes}), "
            f"{API_URL_ENV} (default {DEFAULT_API_URL}), {READ_TIMEOUT_ENV} (seconds, default 30). "
            f"Exit codes: {exit_codes}."
        ),
    )


def connect(progress: Progress | None = None) -> IncidentIoApi:
    """The API client for INCIDENT_IO_TOKEN (and INCIDENT_IO_API_URL, default https://api.incident.io).
    Only the environment is read: these commands are not Pulumi programs and see no stack config."""
    try:
        credentials = Credentials.resolve(None, None, from_config=False)
    except InvalidCredentialsError as error:
        raise InputError(str(error)) from None
    if not credentials.api_key:
        raise InputError(
            f"{TOKEN_ENV} is not set: set it to an incident.io API key without typing the key into the command line, "
            f"e.g. `read -rsp 'incident.io API key: ' {TOKEN_ENV} && export {TOKEN_ENV}`, and run again"
        )
    try:
        return IncidentIoApi(ApiClient(credentials, on_retry=(progress or Progress()).say))
    except (InvalidApiUrlError, InvalidSettingError) as error:
        raise InputError(str(error)) from None


class Progress:
    """One line per step on stderr, so stdout stays clean for what a command reports."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def step(self, noun: str, index: int, total: int, label: str) -> None:
        self.say(f"{noun} {index} of {total}: {label}")

    def say(self, line: str) -> None:
        print(line, file=self._stream or sys.stderr, flush=True)


def run(main: Callable[[list[str]], int]) -> NoReturn:
    """Run a command's main with the process arguments and exit with its code."""
    try:
        code = main(sys.argv[1:])
    except OperationError as error:
        print(f"error: {error}", file=sys.stderr)
        code = error.exit_code
    except IncidentIoError as error:
        # Messages from the API client are already redacted.
        print(f"error: {error}", file=sys.stderr)
        code = EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    sys.exit(code)
