"""Run the emulator by hand: `python -m tests.emulator --port 8080 --api-key dev-key`.

Then point the provider at it: INCIDENT_IO_API_URL=http://127.0.0.1:8080 INCIDENT_IO_TOKEN=dev-key.
"""

from __future__ import annotations

import argparse

from tests.emulator.seed import seed_sources
from tests.emulator.server import Emulator


def main() -> None:
    parser = argparse.ArgumentParser(description="A local emulator of the incident.io alert routes/sources API.")
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080; 0 picks a free one)")
    parser.add_argument("--api-key", default="dev-key", help="the bearer token it accepts (default dev-key)")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args()
    emulator = Emulator(api_key=args.api_key, port=args.port, verbose=not args.quiet)
    seed_sources(emulator.state, base_url="https://api.incident.io")
    print(f"incident.io emulator on {emulator.url} (API key: the one given with --api-key)", flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
