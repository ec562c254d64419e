"""The one place that speaks HTTP to incident.io.

Sessions, bearer auth, timeouts, retries (urllib3's Retry), failing fast when the API has stopped
answering, error mapping from the API's ErrorResponse, cursor pagination, and redaction of credentials
from anything we raise.
"""

from __future__ import annotations

import http.client
import logging
import math
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
    ResponseError,
    SSLError,
)
from urllib3.util.retry import Retry

DEFAULT_API_URL = "https://api.incident.io"
TOKEN_ENV = "INCIDENT_IO_TOKEN"  # noqa: S105 - the variable's name, not a token
API_URL_ENV = "INCIDENT_IO_API_URL"
READ_TIMEOUT_ENV = "INCIDENT_IO_READ_TIMEOUT"

# (connect, read) seconds for one attempt. The read timeout can be set with INCIDENT_IO_READ_TIMEOUT.
DEFAULT_TIMEOUT = (5.0, 30.0)
# What INCIDENT_IO_READ_TIMEOUT may say, in seconds.
READ_TIMEOUT_RANGE = (0.05, 300.0)
# Attempts after the first, for connection failures, 429 and 5xx (about 15 s of backoff in all).
MAX_RETRIES = 5
# Attempts of one call that may time out: a call to an API that stalls every request gives up after
# 2 x (5 s connect + 30 s read) = 70 s at most (urllib3 does not wait before a first retry), instead
# of 6 attempts and about 3 minutes.
MAX_TIMED_OUT_ATTEMPTS = 2
# Calls of one process (the program, the provider host of one command, an ops command) to one API URL
# that may time out; every later call fails at once, unsent. A call that timed out has already failed
# its run, so the rest of the run has nothing to gain by waiting on an API that does not answer.
MAX_TIMED_OUT_CALLS = 3
# incident.io limits each key to 1200 requests a minute (api-docs.incident.io, "Rate Limits"): a
# 429's Retry-After is at most the rest of that minute.
MAX_RETRY_AFTER_SECONDS = 60
# A Retry-After we cannot read: wait this long (incident.io's Terraform client waits 10 s).
UNREADABLE_RETRY_AFTER_SECONDS = 10.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_PAGE_SIZE = 100

REDACTED = "[REDACTED]"

log = logging.getLogger(__name__)


class IncidentIoError(Exception):
    """An incident.io API call failed. The message is safe to print: credentials are redacted."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        field: str | None = None,
        codes: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.field = field
        # The `errors[].code` of the API's ErrorResponse (e.g. `api_not_yet_available`).
        self.codes = codes


class NotFoundError(IncidentIoError):
    pass


class AuthenticationError(IncidentIoError):
    pass


class InvalidApiUrlError(IncidentIoError):
    """The configured API base URL cannot be an incident.io API URL."""


class ResponseLostError(IncidentIoError):
    """The request may have reached the server, but no usable answer came back."""


class ApiUnreachableError(IncidentIoError):
    """Not sent: earlier calls of this process to the same API got no answer in time."""


class InvalidSettingError(IncidentIoError):
    """A setting of the API client read from the environment cannot be used; the message names it."""


class TimeoutBreaker:
    """The calls of this process to one API URL that timed out (each after its retries). Once there are
    MAX_TIMED_OUT_CALLS of them it is open: ApiClient.request refuses every later call before sending it,
    and the retry policy stops retrying. Shared by every client of the process (the provider host serves 4
    calls at once), so it counts under a lock."""

    def __init__(self, limit: int = MAX_TIMED_OUT_CALLS) -> None:
        self.limit = limit
        self._seen: list[str] = []
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        with self._lock:
            return len(self._seen) >= self.limit

    def record(self, reason: str) -> None:
        with self._lock:
            self._seen.append(reason)

    def what_was_seen(self) -> str:
        """E.g. `3 requests timed out (no answer within 30 s)`."""
        with self._lock:
            reasons = ", ".join(dict.fromkeys(self._seen))
            return f"{len(self._seen)} requests timed out ({reasons})"


_BREAKERS: dict[str, TimeoutBreaker] = {}
_BREAKERS_LOCK = threading.Lock()


def breaker_for(base_url: str) -> TimeoutBreaker:
    """The one breaker of this process for an API URL."""
    with _BREAKERS_LOCK:
        return _BREAKERS.setdefault(base_url, TimeoutBreaker())


def read_timeout_setting() -> float:
    """The read timeout: INCIDENT_IO_READ_TIMEOUT seconds when set, else 30 s. A value that is not a number
    of seconds in READ_TIMEOUT_RANGE is refused, naming the variable."""
    raw = os.environ.get(READ_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT[1]
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    low, high = READ_TIMEOUT_RANGE
    if not low <= seconds <= high:
        raise InvalidSettingError(
            f"{READ_TIMEOUT_ENV}={raw[:20]!r} is not a number of seconds from {low:g} to {high:g}; "
            f"unset it for the default {DEFAULT_TIMEOUT[1]:g} s"
        )
    return seconds


class _RetryPolicy(Retry):
    """urllib3's Retry, plus: a POST answered 429 is retried, since the server did not act on it; at most
    MAX_TIMED_OUT_ATTEMPTS attempts of a call time out; no retry once the process's `breaker` is open;
    and each retry is announced (`notify`), so that a caller waiting on a dead host hears of it at once."""

    def __init__(
        self,
        *args: Any,
        notify: Callable[[str], None] | None = None,
        read_timeout: float = DEFAULT_TIMEOUT[1],
        breaker: TimeoutBreaker | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.notify = notify
        self.read_timeout = read_timeout
        self.breaker = breaker
        # The number of retries allowed in all, for "retrying 2/5": `total` counts down as they happen.
        self.allowed = self.total if isinstance(self.total, int) else 0

    def new(self, **kw: Any) -> _RetryPolicy:
        retry = super().new(**kw)
        assert isinstance(retry, _RetryPolicy)
        retry.notify = self.notify
        retry.read_timeout = self.read_timeout
        retry.breaker = self.breaker
        retry.allowed = self.allowed
        return retry

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> _RetryPolicy:
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        assert isinstance(retry, _RetryPolicy)
        timeouts = sum(1 for attempt in retry.history if timed_out(attempt.error))
        if timeouts >= MAX_TIMED_OUT_ATTEMPTS or (self.breaker is not None and self.breaker.is_open):
            # Given up the way urllib3 gives up when a count runs out (an answer is then returned as it is).
            reason = error or ResponseError(f"HTTP {response.status if response is not None else '?'}")
            raise MaxRetryError(_pool, url, reason) from reason
        if self.notify is not None:
            if response is not None and response.status == 429:
                why = "rate limited (HTTP 429)"
            elif response is not None:
                why = f"HTTP {response.status}"
            else:
                why = f"no answer ({failure_reason(error, self.read_timeout)})"
            last = (
                " (the last try if it times out too)"
                if timed_out(error) and timeouts == MAX_TIMED_OUT_ATTEMPTS - 1
                else ""
            )
            host = f"{_pool.scheme}://{_pool.host}:{_pool.port}" if _pool is not None else "incident.io"
            self.notify(f"{method} {url}: {why} from {host}, retrying {len(retry.history)}/{self.allowed}{last}...")
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST" and status_code == 429:
            return bool(self.total)
        return super().is_retry(method, status_code, has_retry_after)

    def parse_retry_after(self, retry_after: str) -> float:
        try:
            seconds = super().parse_retry_after(retry_after)
        except InvalidHeader:
            return UNREADABLE_RETRY_AFTER_SECONDS
        if not retry_after.strip().isdigit():
            # incident.io sends an HTTP date, which has whole seconds, and our clock may run ahead of
            # theirs: a date that has (nearly) passed still means "not yet". Like incident.io's own
            # client, wait at least a second rather than retry at once into another 429.
            seconds = max(seconds, 1.0)
        return seconds


def _chain(error: BaseException | None) -> list[BaseException]:
    """An exception and everything it wraps (urllib3 nests the cause in `reason` or in `args`)."""
    chain: list[BaseException] = []
    while error is not None and all(error is not seen for seen in chain):
        chain.append(error)
        inner = getattr(error, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((arg for arg in getattr(error, "args", ()) if isinstance(arg, BaseException)), None)
        error = inner or error.__cause__ or error.__context__
    return chain


_READ_TIMEOUT_REASON = "no answer within {seconds:g} s"

# What went wrong, most telling first: urllib3's NewConnectionError is a ConnectTimeoutError too,
# so the socket's own error decides before the timeouts do.
_REASONS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    (ConnectionRefusedError, "connection refused"),
    (
        (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected),
        "the connection was closed without an answer",
    ),
    (NameResolutionError, "the host name does not resolve"),
    (SSLError, "the TLS handshake failed"),
    ((ReadTimeoutError, requests.exceptions.ReadTimeout), _READ_TIMEOUT_REASON),
    ((ConnectTimeoutError, requests.exceptions.ConnectTimeout), "the connection timed out"),
)


def timed_out(error: BaseException | None) -> bool:
    """The attempt got no answer in time: a read timeout, or a connection that was neither made nor refused
    within the connect timeout (urllib3's NewConnectionError, a refused or failed connection, is not one)."""
    chain = _chain(error)
    if any(isinstance(link, NewConnectionError) for link in chain):
        return False
    timeouts = (ReadTimeoutError, ConnectTimeoutError, requests.exceptions.Timeout, TimeoutError)
    return any(isinstance(link, timeouts) for link in chain)


def failure_reason(error: BaseException | None, read_timeout: float = DEFAULT_TIMEOUT[1]) -> str:
    """What went wrong with a connection, in a few words (never the libraries' own text, which is long
    and names internals)."""
    chain = _chain(error)
    for kinds, reason in _REASONS:
        if any(isinstance(link, kinds) for link in chain):
            return reason.format(seconds=read_timeout)
    for link in chain:
        if isinstance(link, OSError) and link.errno:
            return os.strerror(link.errno).lower()
    return "the connection failed"


def _retry_policy(
    max_retries: int,
    notify: Callable[[str], None] | None = None,
    *,
    read_timeout: float = DEFAULT_TIMEOUT[1],
    breaker: TimeoutBreaker | None = None,
) -> _RetryPolicy:
    return _RetryPolicy(
        total=max_retries,
        connect=max_retries,
        read=max_retries,
        status=max_retries,
        other=0,
        # POST is not idempotent: a lost create response is handled by the caller, who can look
        # for what the server did. Connection failures before sending are retried regardless.
        allowed_methods=frozenset({"GET", "PUT", "DELETE"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=0.5,
        backoff_max=10,
        respect_retry_after_header=True,
        retry_after_max=MAX_RETRY_AFTER_SECONDS,
        raise_on_status=False,
        notify=notify,
        read_timeout=read_timeout,
        breaker=breaker,
    )


# Where the program and the provider read the key and URL (stack config), before the environment.
CONFIG_API_KEY = "incidentio:apiKey"
CONFIG_API_URL = "incidentio:apiUrl"


class InvalidCredentialsError(IncidentIoError):
    """A configured key cannot be an API key; the message names the setting, never the key."""


def _clean_key(value: str, setting: str) -> str:
    """The key without surrounding whitespace (a pasted key often ends in a newline). Anything else
    that cannot be in a key is refused: sent on, it would reach error messages that quote headers."""
    key = value.strip()
    for position, character in enumerate(key, 1):
        if not "!" <= character <= "~":
            kind = "a control character" if character < " " or character == "\x7f" else "a space or non-ASCII character"
            how = (
                "`pulumi config set --secret incidentio:apiKey`, which prompts for it"
                if CONFIG_API_KEY in setting
                else f"`read -rs {setting} && export {setting}`"
            )
            raise InvalidCredentialsError(
                f"{setting} holds {kind} at position {position} of the key; an incident.io API key has none. "
                f"Set it again with the key copied from the incident.io dashboard ({how})"
            )
    return key


@dataclass(frozen=True)
class Credentials:
    api_key: str
    api_url: str = DEFAULT_API_URL
    # The settings these came from, for messages that say what to check.
    key_setting: str = f"`{CONFIG_API_KEY}` or {TOKEN_ENV}"
    url_setting: str = f"`{CONFIG_API_URL}` or {API_URL_ENV}"

    def __repr__(self) -> str:
        return f"Credentials(api_key={REDACTED}, api_url={shown_url(self.api_url, self.api_key)!r})"

    @classmethod
    def resolve(cls, api_key: str | None, api_url: str | None, *, from_config: bool = True) -> Credentials:
        """Configured values first (stack config), then INCIDENT_IO_TOKEN / INCIDENT_IO_API_URL.
        `from_config=False`: a command that reads only the environment (the operations commands)."""
        if from_config and api_key:
            key, key_setting = str(api_key), f"`{CONFIG_API_KEY}`"
        else:
            key, key_setting = os.environ.get(TOKEN_ENV, ""), TOKEN_ENV
        if from_config and api_url:
            url, url_setting = str(api_url), f"`{CONFIG_API_URL}`"
        elif os.environ.get(API_URL_ENV):
            url, url_setting = os.environ[API_URL_ENV], API_URL_ENV
        else:
            url = DEFAULT_API_URL
            url_setting = f"`{CONFIG_API_URL}` or {API_URL_ENV}" if from_config else API_URL_ENV
        if from_config and not key:
            key_setting = f"`{CONFIG_API_KEY}` or {TOKEN_ENV}"
        return cls(
            api_key=_clean_key(key, key_setting), api_url=url.strip(), key_setting=key_setting, url_setting=url_setting
        )


def display_url(url: str) -> str:
    """A URL as it may be printed: whatever comes before an `@` (a user name, a password, which may itself
    hold `/`, `?` or `#`) shown as `***`."""
    scheme, separator, rest = url.partition("://")
    if "@" not in rest:
        return url
    return f"{scheme}{separator}***@{rest.rsplit('@', 1)[1]}"


# What an incident.io API key looks like (`inc_` and more): kept out of messages even when it was put in
# another setting than the key's, where no redaction knows it.
_API_KEY_SHAPE = re.compile(r"inc_[^\s/?#&=\"']{8,}")


def shown_url(url: str, api_key: str = "") -> str:
    """A URL as a message may show it: no user name or password (display_url), no query or fragment
    (either may carry a token), and no API key, the configured one or anything shaped like one."""
    scheme, separator, rest = display_url(url).partition("://")
    cut = min((rest.index(mark) for mark in "?#" if mark in rest), default=len(rest))
    shown = f"{scheme}{separator}{rest[:cut]}{'…' if cut < len(rest) else ''}"
    return _API_KEY_SHAPE.sub(REDACTED, Redactor(api_key)(shown))


class Redactor:
    """Removes known secret strings (the API key, alert source tokens seen so far) from text."""

    def __init__(self, *secrets: str) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        # Very short strings would redact ordinary words; real keys and tokens are long.
        if not secret or len(secret.strip()) < 8:
            return
        # Also as a message may spell it: stripped, or quoted by repr() with escapes.
        self._secrets.update({secret, secret.strip(), repr(secret)[1:-1]})

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text


def _checked_base_url(credentials: Credentials) -> str:
    """The API URL, or a refusal that names its setting and never shows a secret: not the key (whichever
    setting it was put in), not a password, not a query. A value that is no URL at all is not shown."""
    url = credentials.api_url
    parts = urlsplit(url)
    check = f"check {credentials.url_setting}"
    if url == credentials.api_key or _API_KEY_SHAPE.match(url):
        key_setting = f"`{CONFIG_API_KEY}`" if CONFIG_API_URL in credentials.url_setting else TOKEN_ENV
        raise InvalidApiUrlError(
            f"{credentials.url_setting} holds what looks like an incident.io API key (not shown), not a URL: put the "
            f"key in {key_setting}, and in {credentials.url_setting} the API URL (default {DEFAULT_API_URL}) or nothing"
        )
    if "://" not in url:
        raise InvalidApiUrlError(
            f"the incident.io API URL in {credentials.url_setting} is not an http(s) URL like {DEFAULT_API_URL} (the "
            f"value is not shown: without http:// or https:// it may be a secret in the wrong setting): {check}"
        )
    problem = ""
    # Looked for before the URL is taken apart: a password holding `/`, `?` or `#` hides from urlsplit.
    if "@" in url.partition("://")[2]:
        problem = "holds a user name or password; incident.io takes the API key, so leave them out"
    elif parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        problem = f"is not an http(s) URL like {DEFAULT_API_URL} (no query, no fragment)"
    if problem:
        raise InvalidApiUrlError(f"the incident.io API URL {shown_url(url, credentials.api_key)!r} {problem}: {check}")
    return url.rstrip("/")


class ApiClient:
    """A small incident.io API client: JSON in and out, errors as IncidentIoError."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        timeout: tuple[float, float] | None = None,
        max_retries: int = MAX_RETRIES,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        """`timeout`: (connect, read) seconds of one attempt (default: 5 s, and INCIDENT_IO_READ_TIMEOUT or
        30 s). `on_retry` hears of each retry as it starts (default: this module's logger)."""
        if not credentials.api_key:
            raise AuthenticationError(
                f"no incident.io API key: set {credentials.key_setting}"
                + (
                    " (`pulumi config set --secret incidentio:apiKey`, which prompts for it; or the environment"
                    " variable)"
                    if CONFIG_API_KEY in credentials.key_setting
                    else ""
                )
            )
        self.credentials_setting = credentials.key_setting
        self.url_setting = credentials.url_setting
        self.base_url = _checked_base_url(credentials)
        self.display_url = shown_url(self.base_url, credentials.api_key)
        self.redact = Redactor(credentials.api_key)
        notify = on_retry or log.warning
        self._timeout = timeout or (DEFAULT_TIMEOUT[0], read_timeout_setting())
        self._breaker = breaker_for(self.base_url)
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {credentials.api_key}",
                "Accept": "application/json",
                "User-Agent": "unkey-alert-routing-pulumi",
            }
        )
        retry = _retry_policy(
            max_retries,
            lambda line: notify(self.redact(line)),
            read_timeout=self._timeout[1],
            breaker=self._breaker,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def __repr__(self) -> str:
        return f"ApiClient(base_url={self.display_url!r})"

    def __reduce__(self) -> Any:
        raise TypeError("ApiClient holds credentials and must never be serialized")

    def close(self) -> None:
        self._session.close()

    def request(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """Send one request (with retries) and return the decoded JSON body, or None for an empty one."""
        url = f"{self.base_url}{path}"
        what = f"{method} {path}"
        if self._breaker.is_open:
            raise ApiUnreachableError(
                f"{what}: not sent: {self._breaker.what_was_seen()} at {self.display_url} in this run, so no more "
                f"are sent. Check {self.url_setting} and that incident.io is reachable from here, then run again"
            )
        try:
            response = self._session.request(method, url, json=json, params=params, timeout=self._timeout)
        except requests.exceptions.RetryError:
            raise IncidentIoError(f"{what}: {self.display_url} kept failing; gave up after retrying") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            # Retried when nothing had been sent, or when the method is safe to repeat (not a POST).
            retried = any(isinstance(link, MaxRetryError) for link in _chain(exc))
            reason = failure_reason(exc, self._timeout[1])
            stopping = ""
            if timed_out(exc):
                self._breaker.record(reason)
                if self._breaker.is_open:
                    stopping = f"; {self._breaker.what_was_seen()} in this run, so no more are sent"
            raise ResponseLostError(
                f"{what}: no answer from {self.display_url} ({reason}){', also after retrying' if retried else ''}"
                f"{stopping}; check {self.url_setting} and that incident.io is reachable from here"
            ) from None
        except Exception as exc:  # requests, urllib3 and http.client messages can quote the headers
            raise IncidentIoError(
                self.redact(f"{what}: the request could not be sent ({type(exc).__name__}: {exc})")
            ) from None
        if response.status_code >= 400:
            raise self._error_from(what, response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise IncidentIoError(
                f"{what}: expected JSON, got {response.headers.get('Content-Type', 'no content type')}",
                status=response.status_code,
            ) from None

    def _error_from(self, what: str, response: requests.Response) -> IncidentIoError:
        status = response.status_code
        error_type: str | None = None
        field: str | None = None
        codes: list[str] = []
        details: list[str] = []
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            error_type = body.get("type")
            for error in body.get("errors") or []:
                if not isinstance(error, dict):
                    continue
                source = error.get("source") or {}
                error_field = source.get("field") if isinstance(source, dict) else None
                field = field or error_field
                if isinstance(error.get("code"), str):
                    codes.append(error["code"])
                message = str(error.get("message") or error.get("code") or "unknown error")
                details.append(f"{error_field}: {message}" if error_field else message)
        # Redacted before it is cut: a cut inside a key would leave a part no redaction recognises.
        summary = "; ".join(details) or (self.redact(response.text)[:200] if response.text else response.reason)
        message = f"{what} failed: HTTP {status}{f' {error_type}' if error_type else ''}: {summary}"
        if status == 401:
            message += (
                f" (check the API key in {self.credentials_setting}; it needs the scopes"
                " 'View data' and 'Create and manage on-call resources')"
            )
        if status == 429:
            message += " (rate limited and still limited after retrying; run again later)"
        error_class = {401: AuthenticationError, 404: NotFoundError}.get(status, IncidentIoError)
        if status >= 500:
            error_class = ResponseLostError
        return error_class(self.redact(message), status=status, error_type=error_type, field=field, codes=tuple(codes))

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def paginate(self, path: str, key: str, *, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Yield every item of a cursor-paginated list endpoint, following pagination_meta.after."""
        after: str | None = None
        seen_cursors: set[str] = set()
        while True:
            params: dict[str, Any] = {"page_size": page_size}
            if after:
                params["after"] = after
            body = self.get(path, params=params)
            items = body.get(key) or []
            yield from items
            after = (body.get("pagination_meta") or {}).get("after")
            # Follow the cursor until it runs out rather than stopping on a short page: the server
            # may cap page_size below what we asked for.
            if not after or not items:
                return
            if after in seen_cursors:
                raise IncidentIoError(f"GET {path}: the API returned the cursor {after!r} twice; stopping")
            seen_cursors.add(after)
