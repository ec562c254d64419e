"""Run the emulator by hand: `python -m tests.emulator --seed runbook` (see --help).

Then point the program or the contrib/ commands at it:
INCIDENT_IO_API_URL=http://127.0.0.1:8080 INCIDENT_IO_TOKEN=dev-key.
"""

from __future__ import annotations

import argparse
import re
import sys

from tests.emulator.behaviour import ApiBehaviour
from tests.emulator.faults import Fault
from tests.emulator.limits import RateLimit
from tests.emulator.seed import seed_runbook, seed_sources
from tests.emulator.server import Emulator
from tests.emulator.state import RUNBOOK_ROLES, EmulatorState

FAULT_HELP = (
    "inject a fault: METHOD:PATH_REGEX:KIND[:TIMES], KIND being an HTTP status (429 answers with "
    "Retry-After: 1), delay=SECONDS, drop (act, then close the connection without answering) or edit "
    "(someone edits the route in the UI just before the request is handled); TIMES defaults to 1. "
    "E.g. --fault 'GET:/v2/alert_routes/.*:503:3'. Repeatable."
)


ORG_MODES = ("migrated", "not-migrated")


def fault(text: str) -> Fault:
    parts = text.split(":", 3)
    if len(parts) < 3:
        raise argparse.ArgumentTypeError(f"{text!r}: expected METHOD:PATH_REGEX:KIND[:TIMES]")
    method, path, kind, *rest = parts
    try:
        times = int(rest[0]) if rest else 1
        re.compile(path)
    except (ValueError, re.error) as error:
        raise argparse.ArgumentTypeError(f"{text!r}: {error}") from None
    method = method.upper()
    if kind.isdigit():
        status = int(kind)
        headers = {"Retry-After": "1"} if status == 429 else {}
        return Fault(method, path, times=times, status=status, headers=headers)
    if kind.startswith("delay="):
        try:
            return Fault(method, path, times=times, delay=float(kind.removeprefix("delay=")))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: delay=SECONDS needs a number") from None
    if kind == "drop":
        return Fault(method, path, times=times, drop_after_acting=True)
    if kind == "edit":
        route_id = path.rsplit("/", 1)[-1]

        def someone_edits(state: EmulatorState) -> None:
            for stored in [state.routes[route_id]] if route_id in state.routes else list(state.routes.values()):
                state.edit_out_of_band(stored.id, enabled=not stored.payload["enabled"])

        return Fault(method, path, times=times, before=someone_edits)
    raise argparse.ArgumentTypeError(f"{text!r}: unknown fault kind {kind!r}; see --help")


def rate_limit(text: str) -> RateLimit:
    try:
        return RateLimit.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.emulator",
        description="A local emulator of the incident.io API subset this project uses (alert routes, sources, "
        "attributes, escalation paths, managed resources, identity). It answers the way the real API does "
        "(docs/api-behaviour.md) and checks requests and answers against the official SDK's models.",
    )
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080; 0 picks a free one)")
    parser.add_argument("--api-key", default="dev-key", help="the bearer token it accepts (default dev-key)")
    parser.add_argument(
        "--key-roles",
        default=",".join(RUNBOOK_ROLES),
        help="roles GET /v1/identity reports for that key (default: the runbook's, viewer,on_call_editor)",
    )
    parser.add_argument(
        "--seed",
        choices=("sources", "runbook"),
        default="sources",
        help="sources: the runbook's nine alert sources only; runbook: also its alert attributes, escalation "
        "path, Slack channel and six routes, as they exist today",
    )
    parser.add_argument("--fault", type=fault, action="append", default=[], metavar="SPEC", help=FAULT_HELP)
    parser.add_argument("--rate-limit", type=rate_limit, metavar="N/SECONDS", help="e.g. 1200/60, the real API's")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="wait before each answer")
    parser.add_argument(
        "--org-mode",
        choices=ORG_MODES,
        default="migrated",
        help="migrated (default): the org is on incident.io's new alert grouping engine, and /v3/alert_routes "
        "serves the same routes as /v2 in the v3 shapes; not-migrated: every /v3/alert_routes call answers 403 "
        'api_not_yet_available, as for an org that has not moved yet (docs/api-behaviour.md, "Org modes")',
    )
    parser.add_argument(
        "--v2-write-keeps-v3-settings",
        action="store_true",
        help="a v2 PUT keeps the route's v3-only settings (grouping window type, summary messages) instead of "
        "losing them, the default (docs/api-behaviour.md, B13)",
    )
    parser.add_argument(
        "--sdk-shape-only",
        action="store_true",
        help="answer in the SDK's shapes only, without the real API's echoes, defaults, aliases and reordering",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    return parser


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    behaviour = ApiBehaviour.sdk_shape_only() if args.sdk_shape_only else ApiBehaviour()
    if args.v2_write_keeps_v3_settings:
        behaviour.v2_write_drops_v3_only_settings = False
    try:
        emulator = Emulator(
            api_key=args.api_key,
            port=args.port,
            verbose=not args.quiet,
            behaviour=behaviour,
            latency=args.latency,
            rate_limit=args.rate_limit,
            org_migrated=args.org_mode == "migrated",
        )
    except OSError as error:
        print(
            f"error: cannot listen on 127.0.0.1:{args.port} ({error.strerror}); choose another --port", file=sys.stderr
        )
        return 1
    emulator.state.add_api_key(args.api_key, roles=tuple(role for role in args.key_roles.split(",") if role))
    base_url = "https://api.incident.io"
    if args.seed == "runbook":
        seed_runbook(emulator.state, base_url=base_url)
    else:
        seed_sources(emulator.state, base_url=base_url)
    for injected in args.fault:
        emulator.inject(injected)
    print(
        f"incident.io emulator on {emulator.url} (API key: {args.api_key}; org {args.org_mode}). It runs until "
        "Ctrl-C: run the commands in another terminal, or start it in the background with `&` and stop it "
        "with `kill %1`.",
        flush=True,
    )
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
