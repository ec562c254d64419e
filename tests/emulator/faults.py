"""Faults a test can inject: what the network and the real service do on a bad day."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.emulator.state import EmulatorState


@dataclass
class Fault:
    """Applies to the next `times` requests matching `method` and the `path` regex.

    - `status` (+ `headers`, `body`): answer with this instead of acting (429 + Retry-After, 503);
      `page` instead of `body`: a text page, as a gateway in front of the API answers.
    - `delay`: wait this many seconds before handling (client timeouts).
    - `drop_after_acting`: do the work, then close the connection without answering.
    - `answer_delay`: do the work, then wait this many seconds before answering (a slow answer).
    - `before`: run against the state first (a concurrent edit between two requests).
    """

    method: str
    path: str
    times: int = 1
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    page: str | None = None
    delay: float = 0.0
    drop_after_acting: bool = False
    answer_delay: float = 0.0
    before: Callable[[EmulatorState], object] | None = None

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and method == self.method and re.fullmatch(self.path, path) is not None


def echoing_error(status: int, message: str) -> dict[str, Any]:
    """An ErrorResponse whose message repeats whatever it is given (to test redaction)."""
    error_type = "api_error" if status >= 500 else "invalid_request_error"
    return {"type": error_type, "status": status, "request_id": "r", "errors": [{"code": "x", "message": message}]}


class FaultPlan:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
