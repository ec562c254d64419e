"""incident.io's rate limit: a budget of requests per API key per window (1200 a minute on the real
API, api-docs.incident.io "Rate Limits"). Over budget, the API answers 429 with `Retry-After` as an
HTTP date (the form incident.io's Terraform client parses: internal/client/client.go)."""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RateLimit:
    """`requests` per `window` seconds and per key, in fixed windows starting at a key's first request."""

    requests: int
    window: float
    clock: Callable[[], float] = time.time
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    refused: int = 0

    def admit(self, key: str) -> str | None:
        """None when the request may go on; otherwise the Retry-After header to answer 429 with."""
        now = self.clock()
        with self._lock:
            started, used = self._windows.get(key, (now, 0))
            if now >= started + self.window:
                started, used = now, 0
            if used < self.requests:
                self._windows[key] = (started, used + 1)
                return None
            self.refused += 1
            # HTTP dates have whole seconds: round the window's end up, never down.
            return email.utils.formatdate(math.ceil(started + self.window), usegmt=True)

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """`N/SECONDS`, e.g. `1200/60` for the real API's limit."""
        count, _, seconds = text.partition("/")
        try:
            limit = cls(requests=int(count), window=float(seconds or "60"))
        except ValueError:
            raise ValueError(f"rate limit {text!r}: expected N/SECONDS, e.g. 1200/60") from None
        if limit.requests < 1 or limit.window <= 0:
            raise ValueError(f"rate limit {text!r}: N and SECONDS must be positive")
        return limit
