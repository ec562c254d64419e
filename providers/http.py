"""The one place that speaks HTTP to incident.io.

Sessions, bearer auth, timeouts, retries (urllib3's Retry), error mapping from the API's
ErrorResponse, cursor pagination, and redaction of credentials from anything we raise.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

DEFAULT_API_URL = "https://api.incident.io"
TOKEN_ENV = "INCIDENT_IO_TOKEN"  # noqa: S105 - the variable's name, not a token
API_URL_ENV = "INCIDENT_IO_API_URL"

# (connect, read) seconds for one attempt.
DEFAULT_TIMEOUT = (5.0, 30.0)
# Attempts after the first; with the backoff and Retry-After cap below, one call gives up after
# at most about MAX_RETRIES * (read timeout + MAX_RETRY_AFTER_SECONDS) seconds.
MAX_RETRIES = 5
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
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.field = field


class NotFoundError(IncidentIoError):
    pass


class AuthenticationError(IncidentIoError):
    pass


class InvalidApiUrlError(IncidentIoError):
    """The configured API base URL cannot be an incident.io API URL."""


class ResponseLostError(IncidentIoError):
    """The request may have reached the server, but no usable answer came back."""


class _RetryPolicy(Retry):
    """urllib3's Retry, plus: a POST answered 429 is retried, since the server did not act on it."""

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


def _retry_policy(max_retries: int) -> Retry:
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
    )


@dataclass(frozen=True)
class Credentials:
    api_key: str
    api_url: str = DEFAULT_API_URL

    def __repr__(self) -> str:
        return f"Credentials(api_key={REDACTED}, api_url={self.api_url!r})"

    @classmethod
    def resolve(cls, api_key: str | None, api_url: str | None) -> Credentials:
        """Configured values first (stack config), then INCIDENT_IO_TOKEN / INCIDENT_IO_API_URL."""
        return cls(
            api_key=str(api_key or os.environ.get(TOKEN_ENV, "")),
            api_url=str(api_url or os.environ.get(API_URL_ENV) or DEFAULT_API_URL),
        )


class Redactor:
    """Removes known secret strings (the API key, alert source tokens seen so far) from text."""

    def __init__(self, *secrets: str) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        # Very short strings would redact ordinary words; real keys and tokens are long.
        if secret and len(secret) >= 8:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text


def _checked_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise InvalidApiUrlError(
            f"the incident.io API URL {url!r} is not an http(s) URL like {DEFAULT_API_URL}: check "
            f"`incidentio:apiUrl` or {API_URL_ENV}"
        )
    return url.rstrip("/")


class ApiClient:
    """A small incident.io API client: JSON in and out, errors as IncidentIoError."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        if not credentials.api_key:
            raise AuthenticationError(
                "no incident.io API key: set the Pulumi config `incidentio:apiKey` "
                f"(pulumi config set --secret incidentio:apiKey ...) or the {TOKEN_ENV} environment variable"
            )
        self.base_url = _checked_base_url(credentials.api_url)
        self.redact = Redactor(credentials.api_key)
        self._timeout = timeout
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {credentials.api_key}",
                "Accept": "application/json",
                "User-Agent": "unkey-alert-routing-pulumi",
            }
        )
        adapter = HTTPAdapter(max_retries=_retry_policy(max_retries), pool_maxsize=16)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def __repr__(self) -> str:
        return f"ApiClient(base_url={self.base_url!r})"

    def __reduce__(self) -> Any:
        raise TypeError("ApiClient holds credentials and must never be serialized")

    def close(self) -> None:
        self._session.close()

    def request(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """Send one request (with retries) and return the decoded JSON body, or None for an empty one."""
        url = f"{self.base_url}{path}"
        what = f"{method} {path}"
        try:
            response = self._session.request(method, url, json=json, params=params, timeout=self._timeout)
        except requests.exceptions.RetryError as exc:
            raise IncidentIoError(self.redact(f"{what}: gave up after retries: {exc}")) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise ResponseLostError(self.redact(f"{what}: no response from {self.base_url}: {exc}")) from None
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
                message = str(error.get("message") or error.get("code") or "unknown error")
                details.append(f"{error_field}: {message}" if error_field else message)
        summary = "; ".join(details) or (response.text[:200] if response.text else response.reason)
        message = f"{what} failed: HTTP {status}{f' {error_type}' if error_type else ''}: {summary}"
        if status == 401:
            message += (
                " (check the API key in `incidentio:apiKey` or INCIDENT_IO_TOKEN; it needs the scopes"
                " 'View data' and 'Create and manage on-call resources')"
            )
        if status == 429:
            message += " (rate limited and still limited after retrying; run again later)"
        error_class = {401: AuthenticationError, 404: NotFoundError}.get(status, IncidentIoError)
        if status >= 500:
            error_class = ResponseLostError
        return error_class(self.redact(message), status=status, error_type=error_type, field=field)

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
