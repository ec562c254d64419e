"""route-test.sh: where an alert goes, like Alertmanager's `amtool config routes test`.

The stack file's routes are evaluated offline: its names stand for themselves (components.routing_tests
`symbolic_routes`), so no API key is needed and a pull request can be checked as it is. `--live` and
`--compare-live` read the live routes through the export (ops/export.py), which writes them in the
stack file's names, and evaluate them the same way: before and after differ only where the routes do.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.names import ATTRIBUTE_SUBJECT, NameResolutionError, match_one, resolve
from components.routing_tests import (
    Change,
    Finding,
    Outcome,
    StackRoutes,
    change_summary,
    compare,
    failures,
    findings,
    matrix,
    mismatches,
    symbolic_routes,
)
from components.settings import (
    ROUTE_CONFIG_KEYS,
    Expectation,
    Lookup,
    RoutingTest,
    StackAlert,
    alert_problems,
    name_tables,
    route_config_problems,
    routing_coverage,
    routing_test_problems,
    routing_tests,
)
from ops import stack_file as stack_file_yaml
from ops.cli import EXIT_FAILED, EXIT_OK, InputError, OperationError, Progress, command_parser, connect, run
from ops.export import export, project_name
from providers.api import IncidentIoApi, JsonDict
from providers.directory import fetch_directory
from providers.http import API_URL_ENV, DEFAULT_API_URL, TOKEN_ENV

# Starts the pull request comment of one stack, so that the workflow finds and updates it.
MARKER = "<!-- routing-matrix: {stack} -->"
# A pull request comment holds at most 65536 characters; unchanged rows beyond these are counted only.
_UNCHANGED_ROWS_SHOWN = 150


_EXIT_CODES = (
    "0 done (and every expectation and routing test holds; --compare-live: the comparison was printed), "
    "1 an expectation or a routing test fails, or the API failed, 2 bad input (arguments, an alert naming what "
    "the stack file does not declare, a stack file that cannot be read or whose names do not match incident.io)"
)


def parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "route-test.sh",
        "Show where an alert goes: the routes that act on it, whom they page and where they post, from "
        "the stack file's declarations (offline, no API key) or, with --live, from the live routes in "
        "incident.io. E.g. `route-test.sh --stack-file Pulumi.production.yaml source=alertmanager "
        "severity=critical`. Names are the stack file's: source = a key of alertSources, attributes = "
        "keys of references, pages = keys of escalationPaths, slack = keys of slackChannels. A route that "
        "matches only under some readings of undocumented matching rules is marked (possibly), with the "
        "doubt; an expectation holds only if it holds under every reading.",
        scopes="the scope 'View data'",
        exit_codes=_EXIT_CODES,
    )
    # Unlike the other commands, the key is needed only to read incident.io.
    parser.epilog = (
        f"Environment, for --live and --compare-live only: {TOKEN_ENV} (an incident.io API key with the scope "
        f"'View data'), {API_URL_ENV} (default {DEFAULT_API_URL}). Exit codes: {_EXIT_CODES}."
    )
    parser.add_argument("--stack-file", type=Path, required=True, help="the stack file whose names and routes to use")
    parser.add_argument(
        "alert",
        nargs="*",
        metavar="KEY=VALUE",
        help="the alert: source=<key of alertSources>, then <key of references>=<value> for each attribute it "
        "has (an attribute left out is unset)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--live", action="store_true", help="evaluate the live routes instead of the declared ones")
    where.add_argument(
        "--compare-live",
        action="store_true",
        help="the whole matrix before (live routes) and after (the stack file), changed alerts first",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="the whole matrix: every alert derived from the conditions (each source, each value they name, each "
        "attribute unset) and every routing test, with the tests' results and routing coverage",
    )
    for member, what in (("routes", "route names"), ("pages", "escalationPaths keys"), ("slack", "slackChannels keys")):
        parser.add_argument(
            f"--expect-{member}",
            action="append",
            metavar="NAMES",
            help=f"exit 1 unless the alert reaches exactly these {what} under every reading (comma-separated or "
            "repeated; '' for none)",
        )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON")
    output.add_argument("--markdown", action="store_true", help="with --compare-live: print the pull request comment")
    return parser


def _usage_problem(args: argparse.Namespace) -> str | None:
    expects = any(getattr(args, f"expect_{member}") is not None for member in ("routes", "pages", "slack"))
    if args.markdown and not args.compare_live:
        return "--markdown goes with --compare-live"
    if args.compare_live or args.all:
        if args.alert:
            return "give either an alert (KEY=VALUE ...) or --all / --compare-live, not both"
        if expects:
            return "--expect-* checks one alert; the routing tests in the stack file check the whole matrix"
        return None
    if not args.alert:
        return "say which alert: source=<key of alertSources> [<attribute>=<value> ...], or --all"
    return None


@dataclass(frozen=True)
class StackFile:
    path: Path
    stack: str
    config: JsonDict
    tests: tuple[RoutingTest, ...]


def read_stack_file(path: Path) -> StackFile:
    """The stack's route-declaring keys and routing tests, checked as `pulumi preview` checks them."""
    config = stack_file_yaml.read_config(path, project_name())
    problems = route_config_problems({key: config[key] for key in ROUTE_CONFIG_KEYS if key in config})
    problems = problems or routing_test_problems(config)
    if problems:
        listed = "\n  - ".join(problems)
        raise InputError(f"{path}: the stack file needs fixing:\n  - {listed}")
    match = re.fullmatch(r"Pulumi\.(.+)\.ya?ml", path.name)
    stack = match.group(1) if match else str(config.get("environment") or path.stem)
    return StackFile(path, stack, config, routing_tests(config))


def _value(text: str) -> str | list[str]:
    """`[a, b]` is an array attribute's value, as the matrix and the PR comment write it."""
    if text.startswith("[") and text.endswith("]"):
        return [item.strip() for item in text[1:-1].split(",") if item.strip()]
    return text


def parse_alert(pairs: list[str], config: JsonDict) -> StackAlert:
    values: dict[str, str | list[str]] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise InputError(f"{pair!r}: expected KEY=VALUE, e.g. source=alertmanager or severity=critical")
        if not value:
            raise InputError(f"{pair!r}: give a value, or leave {key} out for an alert where it is unset")
        if key in values:
            raise InputError(f"{key} is given twice ({key}={values[key]} and {pair})")
        values[key] = value if key == "source" else _value(value)
    if "source" not in values:
        known = ", ".join(config["alertSources"])
        raise InputError(f"say which alert source: source=<key of alertSources> (known: {known})")
    source = str(values.pop("source"))
    problems = alert_problems(source, values, config)
    if problems:
        raise InputError("; ".join(f"{path}: {problem}" for path, problem in problems))
    return StackAlert.of(source, values)


def _names(given: list[str] | None) -> frozenset[str] | None:
    if given is None:
        return None
    return frozenset(name.strip() for text in given for name in text.split(",") if name.strip())


@dataclass(frozen=True)
class LiveRouting:
    routes: StackRoutes
    # Attribute types by key of references of the stack file, as incident.io has them.
    types: dict[str, str]
    # Live routes kept for the stack that the stack file does not declare (by name or id).
    undeclared: tuple[str, ...]


def _attribute_types(references: JsonDict, attributes: list[JsonDict]) -> dict[str, str]:
    types = {}
    for key, entry in references.items():
        subject = str(entry.get("subject") or "")
        lookup = (
            Lookup(id=subject.removeprefix(ATTRIBUTE_SUBJECT))
            if subject
            else Lookup(entry.get("attribute"), entry.get("id"))
        )
        found, _ = match_one("", "", lookup, attributes)
        if found is not None:
            types[key] = str(found.get("type", ""))
    return types


def read_live(api: IncidentIoApi, progress: Progress, stack_file: StackFile) -> LiveRouting:
    """The live routes that act on this stack's sources (or that it declares), in the stack file's names."""
    config = stack_file.config
    directory = fetch_directory(api, sources=True, attributes=True, escalation_paths=True)
    try:
        resolved = resolve(name_tables(config), directory)
    except NameResolutionError as error:
        raise InputError(f"{stack_file.path}: {error}") from None
    tables = {key: config[key] for key in ROUTE_CONFIG_KEYS if key != "routes" and key in config}
    live: JsonDict = {**tables, "routes": []}
    names = {route["name"] for route in config["routes"]}
    ids = {route["id"] for route in config["routes"] if route.get("id")}
    if next(iter(api.list_routes()), None) is not None:
        # With the file's routes, so that each live route is named the way its declaration names things.
        result = export(api, progress, existing={**tables, "routes": config["routes"]}, directory=directory)
        stack_sources = set(resolved.source_ids.values())
        unreadable = [
            failure.describe()
            for failure in result.failed
            if failure.name in names or failure.id in ids or stack_sources & set(failure.source_ids)
        ]
        if unreadable:
            raise OperationError("live routes of this stack cannot be evaluated: " + "; ".join(unreadable))
        live = {**result.config, "routes": result.live_routes}
    declared_sources = set(config["alertSources"])
    kept = [
        route
        for route in live["routes"]
        if route["name"] in names
        or route.get("id") in ids
        or any(match["source"] in declared_sources for match in route["sources"])
    ]
    used = declared_sources | {match["source"] for route in kept for match in route["sources"]}
    live_config = {
        **live,
        "alertSources": {key: entry for key, entry in live["alertSources"].items() if key in used},
        "routes": kept,
    }
    attributes = directory.attributes or []
    return LiveRouting(
        symbolic_routes(live_config, _attribute_types(live_config.get("references") or {}, attributes)),
        _attribute_types(config.get("references") or {}, attributes),
        tuple(route["name"] for route in kept if route["name"] not in names),
    )


def _outcome_json(outcome: Outcome) -> JsonDict:
    return {
        "routes": [
            {
                "name": effect.route,
                "pages": list(effect.pages),
                "slack": list(effect.slack),
                "incident": effect.incident,
                "certain": effect.certain,
            }
            for effect in outcome.effects
        ],
        "doubts": list(outcome.doubts),
    }


def _outcome_text(outcome: Outcome) -> list[str]:
    lines = [effect.describe() for effect in outcome.effects]
    lines += [f"{route}: cannot evaluate whether it acts (see the doubts)" for route in outcome.undecided]
    return (lines or ["nowhere: no route acts on this alert"]) + [f"doubt: {doubt}" for doubt in outcome.doubts]


def _all_text(outcomes: list[Outcome], failed: list[str], found: list[Finding], tests: int) -> list[str]:
    width = max((len(outcome.alert.describe()) for outcome in outcomes), default=0)
    lines = [f"{outcome.alert.describe():<{width}}  ->  {outcome.describe()}" for outcome in outcomes]
    return lines + _results_text(failed, found, tests)


def _results_text(failed: list[str], found: list[Finding], tests: int) -> list[str]:
    """The routing tests' results and routing coverage, a line each."""
    lines = [f"routing tests: {tests - len(failed)} of {tests} pass"]
    lines += [f"FAIL {failure}" for failure in failed]
    lines += [f"warning: routing coverage ({finding.kind}): {finding.message}" for finding in found]
    return lines


def _md(text: str) -> str:
    """Text for a table cell: nothing in it can end the cell or open HTML."""
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("`", "'")
        .replace("\n", " ")
    )


def _cell(outcome: Outcome) -> str:
    said = [_md(effect.describe()) for effect in outcome.effects]
    said += [f"{_md(route)} (cannot evaluate)" for route in outcome.undecided]
    return "<br>".join(said) or "*nowhere*"


def markdown(
    stack_file: StackFile, changes: list[Change], failed: list[str], found: list[Finding], live: LiveRouting
) -> str:
    """The pull request comment: a one-line summary, then the matrix before and after, changed rows first."""
    name = stack_file.path.name
    lines = [
        MARKER.format(stack=stack_file.stack),
        f"### Where alerts go: {stack_file.stack}",
        "",
        f"**{change_summary(changes)}.**",
        "",
        f"Before: the live routes in incident.io. After: `{name}` in this pull request. One row per alert "
        "the routes' conditions name (each source, each value named, each attribute unset) and per routing "
        "test, in the stack file's names; changed rows first. *(possibly)*: only under some readings of how "
        "incident.io matches (see the doubts below).",
        "",
        "| change | alert | before | after |",
        "| --- | --- | --- | --- |",
    ]
    unchanged = [change for change in changes if not change.kind]
    for change in [change for change in changes if change.kind] + unchanged[:_UNCHANGED_ROWS_SHOWN]:
        after = _cell(change.after) if change.kind else "unchanged"
        label = f"**{change.label}**" if change.kind else ""
        lines.append(f"| {label} | `{_md(change.alert.describe())}` | {_cell(change.before)} | {after} |")
    if len(unchanged) > _UNCHANGED_ROWS_SHOWN:
        lines += ["", f"…and {len(unchanged) - _UNCHANGED_ROWS_SHOWN} more unchanged alerts (`route-test.sh --all`)."]
    if live.undeclared:
        lines += [
            "",
            f"Live routes on this stack's sources that `{name}` does not declare (renamed, removed, or made "
            f"outside Pulumi; they are in *before* only): {_md(', '.join(live.undeclared))}.",
        ]
    tests = len(stack_file.tests)
    lines += ["", f"Routing tests ({name}): " + (f"all {tests} pass." if not failed else f"**{len(failed)} fail**:")]
    lines += [f"- {_md(failure)}" for failure in failed]
    lines += ["", "Routing coverage: " + ("nothing to report." if not found else f"{len(found)} warnings:")]
    lines += [f"- **{finding.kind}**: {_md(finding.message)}" for finding in found]
    doubts = [(change.alert, doubt) for change in changes for doubt in change.after.doubts]
    if doubts:
        lines += ["", "Doubts (after):"]
        lines += [f"- `{_md(alert.describe())}`: {_md(doubt)}" for alert, doubt in doubts]
    return "\n".join(lines) + "\n"


def _compare_text(changes: list[Change]) -> list[str]:
    lines = [change_summary(changes)]
    for change in changes:
        if change.kind:
            lines += [
                f"CHANGED ({change.label}) {change.alert.describe()}",
                f"  before: {change.before.describe()}",
                f"  after:  {change.after.describe()}",
            ]
        else:
            lines.append(f"unchanged {change.alert.describe()}: {change.after.describe()}")
    return lines


def main(argv: list[str]) -> int:
    command = parser()
    args = command.parse_args(argv)
    problem = _usage_problem(args)
    if problem:
        command.error(problem)
    stack_file = read_stack_file(args.stack_file)
    config = stack_file.config
    alert = parse_alert(args.alert, config) if args.alert else None
    progress = Progress()
    live = read_live(connect(progress), progress, stack_file) if args.live or args.compare_live else None
    if args.compare_live and live is not None:
        after = symbolic_routes(config, live.types)
        changes = compare(live.routes, after, stack_file.tests)
        failed = failures(after, stack_file.tests)
        found = findings(after, matrix(after, stack_file.tests), stack_file.tests)
        if args.markdown:
            sys.stdout.write(markdown(stack_file, changes, failed, found, live))
        elif args.json:
            rows = [{"change": c.kind, "before": c.before.row(), "after": c.after.row()} for c in changes]
            print(json.dumps({"summary": change_summary(changes), "rows": rows}, indent=2))
        else:
            print("\n".join([*_compare_text(changes), *_results_text(failed, found, len(stack_file.tests))]))
        # What changes is for people to judge; the preview fails on failing routing tests.
        return EXIT_OK
    routes = live.routes if live is not None else symbolic_routes(config)
    if alert is None:
        outcomes = matrix(routes, stack_file.tests)
        failed = failures(routes, stack_file.tests)
        found = findings(routes, outcomes, stack_file.tests)
        if args.json:
            report: dict[str, Any] = {
                "rows": [outcome.row() for outcome in outcomes],
                "failures": failed,
                "findings": [{"kind": finding.kind, "message": finding.message} for finding in found],
            }
            print(json.dumps(report, indent=2))
        else:
            print("\n".join(_all_text(outcomes, failed, found, len(stack_file.tests))))
        errors = [finding for finding in found if finding.kind in routing_coverage(config).fail_on]
        return EXIT_FAILED if failed or errors else EXIT_OK
    outcome = routes.outcome(alert)
    print(json.dumps(_outcome_json(outcome), indent=2) if args.json else "\n".join(_outcome_text(outcome)))
    expect = Expectation(*(_names(getattr(args, f"expect_{member}")) for member in ("routes", "pages", "slack")))
    mismatched = mismatches(outcome, expect)
    if mismatched:
        print(f"route-test.sh: {alert.describe()}: {'; '.join(mismatched)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    run(main)
