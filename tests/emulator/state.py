"""What the emulated incident.io org holds, and the rules the real API enforces on it."""

from __future__ import annotations

import copy
import datetime
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.emulator.render import render_route, render_source

JsonDict = dict[str, Any]
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SERVER_OWNED = ("created_at", "updated_at", "version", "id")


class ApiError(Exception):
    """An error the API answers with, in ErrorResponse terms."""

    def __init__(self, status: int, error_type: str, message: str, *, field: str | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.field = field
        self.code = code or error_type


def _ulid_like(counter: int, prefix: str = "01KT") -> str:
    digits = []
    for _ in range(26 - len(prefix)):
        counter, digit = divmod(counter, 32)
        digits.append(_CROCKFORD[digit])
    return prefix + "".join(reversed(digits))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class StoredRoute:
    id: str
    payload: JsonDict
    version: int
    # The list endpoint's version for this route: the real API serves a stale one.
    listed_version: int
    created_at: str
    updated_at: str

    def render(self, labels: dict[str, str]) -> JsonDict:
        return render_route(
            self.payload,
            id_=self.id,
            version=self.version,
            created_at=self.created_at,
            updated_at=self.updated_at,
            labels=labels,
        )


@dataclass
class EmulatorState:
    api_keys: set[str] = field(default_factory=set)
    routes: dict[str, StoredRoute] = field(default_factory=dict)
    sources: dict[str, JsonDict] = field(default_factory=dict)
    # Display names of ids and references in the org (see render.Labels).
    labels: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # Sources
    def add_source(
        self,
        *,
        id_: str,
        name: str,
        source_type: str,
        secret_token: str,
        base_url: str,
        options: JsonDict | None = None,
    ) -> JsonDict:
        source = render_source(
            id_=id_, name=name, source_type=source_type, secret_token=secret_token, base_url=base_url, options=options
        )
        self.sources[id_] = source
        return source

    def get_source(self, source_id: str) -> JsonDict:
        if source_id not in self.sources:
            raise ApiError(404, "not_found", f"alert source {source_id} not found", code="not_found")
        return copy.deepcopy(self.sources[source_id])

    # Routes
    def new_id(self) -> str:
        return _ulid_like(next(self._ids))

    def create_route(self, payload: JsonDict) -> StoredRoute:
        with self.lock:
            now = _now()
            route = StoredRoute(self.new_id(), _strip_server_owned(payload), 1, 1, now, now)
            self.routes[route.id] = route
            return route

    def render_route(self, route: StoredRoute) -> JsonDict:
        return route.render(self.labels)

    def get_route(self, route_id: str) -> StoredRoute:
        route = self.routes.get(route_id)
        if route is None:
            raise ApiError(404, "not_found", f"alert route {route_id} not found", code="not_found")
        return route

    def update_route(self, route_id: str, payload: JsonDict) -> StoredRoute:
        with self.lock:
            route = self.get_route(route_id)
            expected = route.version + 1
            if payload.get("version") != expected:
                raise ApiError(
                    422,
                    "validation_error",
                    f"version must be the current version plus one ({expected}); got {payload.get('version')}",
                    field="version",
                    code="invalid_value",
                )
            route.payload = _strip_server_owned(payload)
            route.version = expected
            route.updated_at = _now()
            return route

    def delete_route(self, route_id: str) -> None:
        with self.lock:
            self.get_route(route_id)
            del self.routes[route_id]

    def edit_out_of_band(self, route_id: str, **changes: Any) -> StoredRoute:
        """What a person clicking in the incident.io UI does: change fields, bump the version."""
        with self.lock:
            route = self.get_route(route_id)
            route.payload = {**copy.deepcopy(route.payload), **changes}
            route.version += 1
            route.updated_at = _now()
            return route

    def listed_routes(self) -> list[JsonDict]:
        return [
            {
                "id": route.id,
                "name": route.payload["name"],
                "enabled": route.payload["enabled"],
                "version": route.listed_version,
            }
            for route in sorted(self.routes.values(), key=lambda r: r.id)
        ]

    def count(self, method: str, path_prefix: str = "") -> int:
        return sum(1 for m, p in self.requests if m == method and p.startswith(path_prefix))


def _strip_server_owned(payload: JsonDict) -> JsonDict:
    return {key: copy.deepcopy(value) for key, value in payload.items() if key not in SERVER_OWNED}
