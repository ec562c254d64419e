"""Where the stack's alerts go, said in the stack's own names: routing tests, routing coverage and the
routing matrix, on the route payloads the stack compiles (providers/route_evaluation.py evaluates them).

An uncertain answer never passes silently. The evaluator reports a route that matches only under some
readings of what incident.io leaves undocumented as a possible match, with doubts (docs/routing.md).
A routing test passes only if its expectation holds under every reading; otherwise it fails, saying
what holds for certain, what only possibly, and the readings that make the difference.

Coverage needs no tests: for every declared source, alerts are derived with every value the routes'
conditions name for each attribute they test, and with each such attribute unset. An alert that goes
nowhere, or that two routes page (or post to one Slack channel) for, is reported, and so is a route
no derived or tested alert reaches. A routing test that states an alert's routes (`expect.routes`,
`[]` for nowhere) acknowledges that alert: what it states is intended.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.names import ATTRIBUTE_SUBJECT
from components.route_compiler import compile_route
from components.settings import (
    PLACEHOLDER,
    AttributeValue,
    ConfigProblemsError,
    Expectation,
    Reference,
    RouteDecl,
    RouteVocabulary,
    RoutingCoverage,
    RoutingTest,
    StackAlert,
    name_tables,
    route_declarations,
)
from providers.route_evaluation import Alert, evaluate
from providers.route_evaluation import condition_values as _condition_values

JsonDict = dict[str, Any]
# The value derived for an attribute that conditions only test for being set (is_set, is_not_set).
ANY_VALUE = "(any value)"
# Beyond this many combinations of derived values for one source, each attribute is varied alone.
_MAX_COMBINATIONS = 256
MEMBERS = ("routes", "pages", "slack")


class RoutingTestsError(ConfigProblemsError):
    """Routing tests that fail; each line names the test, what it expected and what it got."""

    def __init__(self, stack: str, failures: list[str]) -> None:
        tests = "1 routing test" if len(failures) == 1 else f"{len(failures)} routing tests"
        verb = "fails" if len(failures) == 1 else "fail"
        super().__init__(
            f"stack {stack!r}: {tests} of Pulumi.{stack}.yaml (routingTests) {verb}; nothing was changed", failures
        )


class RoutingCoverageError(ConfigProblemsError):
    def __init__(self, stack: str, findings: list[str]) -> None:
        super().__init__(
            f"stack {stack!r}: routing coverage findings that routingCoverage.failOn makes errors; nothing was changed",
            findings,
        )


@dataclass(frozen=True)
class RouteEffect:
    """One route acting on an alert, its targets in the stack's names (an id where the stack has none)."""

    route: str
    certain: bool
    pages: tuple[str, ...]
    slack: tuple[str, ...]
    incident: bool | None
    # Its pages and Slack posts could be worked out (nothing chosen when the alert arrives), and each
    # channel it posts to, it posts to under every reading.
    pages_known: bool
    slack_known: bool
    slack_certain: bool

    def describe(self) -> str:
        does = [f"pages {', '.join(self.pages)}"] if self.pages else []
        does += [f"slack {', '.join(self.slack)}"] if self.slack else []
        if self.incident is not False:
            does.append("opens an incident" if self.incident else "may open an incident")
        return f"{self.route}{'' if self.certain else ' (possibly)'}: {', '.join(does) or 'no page, no Slack'}"


@dataclass(frozen=True)
class Reach:
    """What an alert reaches: under every reading (`sure`), under some (`possible`), and whether a
    route that cannot be evaluated may add to it (`open`)."""

    sure: frozenset[str]
    possible: frozenset[str]
    open: bool = False

    @property
    def settled(self) -> bool:
        return not self.open and self.sure == self.possible


@dataclass(frozen=True)
class Outcome:
    alert: StackAlert
    effects: tuple[RouteEffect, ...]
    # Routes that may or may not act: their conditions cannot be evaluated.
    undecided: tuple[str, ...]
    # The readings the result rests on and what could not be evaluated, each naming its route.
    doubts: tuple[str, ...]
    # Per member ("pages", "slack"): each name of the stack -> what it stands for, so that two names
    # for one escalation path or channel are the same target (a name not in it stands for itself).
    targets: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def same(self, member: str, names: Iterable[str]) -> frozenset[str]:
        """What these names stand for: two names of one target are one."""
        targets = self.targets.get(member, {})
        return frozenset(targets.get(name, name) for name in names)

    def reach(self, member: str) -> Reach:
        certain = [effect for effect in self.effects if effect.certain]
        if member == "routes":
            possible = {effect.route for effect in self.effects} | set(self.undecided)
            return Reach(frozenset(effect.route for effect in certain), frozenset(possible))
        if member == "pages":
            # Escalation targets have no conditions (docs/routing.md R8): a certain route pages for certain.
            sure = {page for effect in certain for page in effect.pages}
            unknown = bool(self.undecided) or any(not effect.pages_known for effect in self.effects)
            return Reach(frozenset(sure), frozenset(page for e in self.effects for page in e.pages), unknown)
        sure = {
            channel for effect in certain if effect.slack_certain and effect.slack_known for channel in effect.slack
        }
        unknown = bool(self.undecided) or any(not effect.slack_known for effect in self.effects)
        return Reach(frozenset(sure), frozenset(channel for e in self.effects for channel in e.slack), unknown)

    def describe(self) -> str:
        said = [effect.describe() for effect in self.effects]
        said += [f"{route} (cannot evaluate)" for route in self.undecided]
        return "; ".join(said) or "nowhere"

    def row(self) -> JsonDict:
        """The routing matrix row: everything reached under some reading, with the doubts when any."""
        row: JsonDict = self.alert.to_json()
        row.update({member: sorted(self.reach(member).possible) for member in MEMBERS})
        if self.doubts:
            row["doubts"] = list(self.doubts)
        return row


@dataclass(frozen=True)
class StackRoutes:
    """A stack's route payloads, with what it takes to evaluate alerts given in the stack's names and
    to read the answers back in them."""

    payloads: tuple[JsonDict, ...]
    # Declared source key -> alert source id, in the stack file's order.
    source_ids: Mapping[str, str]
    # Attribute name (key of references) -> condition subject.
    subjects: Mapping[str, str]
    subject_types: Mapping[str, str]
    # Escalation path and Slack channel -> its names in the stack (the first is shown where a route does
    # not name it itself), and per route the names its declaration uses.
    path_names: Mapping[str, tuple[str, ...]]
    channel_names: Mapping[str, tuple[str, ...]]
    declared_paths: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    declared_channels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self.source_ids)

    def outcome(self, alert: StackAlert) -> Outcome:
        attributes = {self.subjects.get(name, name): value for name, value in alert.attributes}
        source_id = self.source_ids.get(alert.source, alert.source)
        evaluation = evaluate(self.payloads, Alert(source_id, attributes), subject_types=self.subject_types)
        effects = tuple(
            RouteEffect(
                route=match.route_name,
                certain=match.certain,
                pages=_named(match.escalation_path_ids, self.declared_paths.get(match.route_name, {}), self.path_names)
                + tuple(f"user {user}" for user in match.user_ids),
                slack=_named(
                    match.slack_channel_ids, self.declared_channels.get(match.route_name, {}), self.channel_names
                ),
                incident=match.creates_incident,
                pages_known=match.pages_known,
                slack_known=match.posts_known,
                slack_certain=match.posts_certain,
            )
            for match in evaluation.matches
        )
        doubts = [
            *evaluation.doubts,
            *(f"{match.route_name}: {what}" for match in evaluation.matches for what in match.cannot_evaluate),
            *(f"{route.route_name}: {reason}" for route in evaluation.undecided for reason in route.reasons),
        ]
        return Outcome(
            alert,
            effects,
            tuple(route.route_name for route in evaluation.undecided),
            tuple(self._readable(doubt) for doubt in doubts),
            {"pages": self._targets(self.path_names), "slack": self._targets(self.channel_names)},
        )

    @staticmethod
    def _targets(names: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
        return {name: target for target, aliases in names.items() for name in aliases}

    def _readable(self, text: str) -> str:
        """Ids and subjects in the evaluator's words replaced by the stack's names."""
        names: dict[str, str] = {}
        for name, subject in self.subjects.items():
            names.setdefault(subject, name)
        for key, source_id in self.source_ids.items():
            if source_id not in self.source_ids:
                names.setdefault(source_id, key)
        for value in sorted(names, key=len, reverse=True):
            text = text.replace(value, names[value])
        return text


def _named(ids: Iterable[str], declared: Mapping[str, str], names: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Targets by the name the route's declaration gives them, else by the stack's first name for them
    (an id the stack has no name for, by its id)."""
    return tuple(declared.get(id_) or (names.get(id_) or (id_,))[0] for id_ in ids)


def _inverse(mapping: Mapping[str, str]) -> dict[str, str]:
    inverse: dict[str, str] = {}
    for key, value in mapping.items():
        inverse.setdefault(value, key)
    return inverse


def _all_names(mapping: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    names: dict[str, tuple[str, ...]] = {}
    for key, value in mapping.items():
        names[value] = (*names.get(value, ()), key)
    return names


def _representatives(table: Mapping[str, Any], identity: Callable[[Any], Any]) -> dict[str, str]:
    """Each key of a name table -> the first key whose entry names the same thing as its own (itself
    when none before it does; an entry whose identity is None is only itself)."""
    first: dict[Any, str] = {}
    return {
        key: key if identity(entry) is None else first.setdefault(identity(entry), key) for key, entry in table.items()
    }


def compiled_routes(
    routes: Sequence[RouteDecl], vocabulary: RouteVocabulary, source_ids: Mapping[str, str]
) -> StackRoutes:
    """The routes as the stack writes them to incident.io (names resolved, as `pulumi preview` has them)."""
    return StackRoutes(
        payloads=tuple(compile_route(route, vocabulary, dict(source_ids)) for route in routes),
        source_ids=dict(source_ids),
        subjects={name: reference.subject for name, reference in vocabulary.references.items()},
        subject_types={ref.subject: ref.type for ref in vocabulary.references.values() if ref.type},
        path_names=_all_names(vocabulary.escalation_paths),
        channel_names=_all_names(vocabulary.slack_channels),
        declared_paths={
            route.name: {vocabulary.escalation_paths[route.escalation]: route.escalation}
            for route in routes
            if route.escalation
        },
        declared_channels={
            route.name: {vocabulary.slack_channels[route.slack]: route.slack} for route in routes if route.slack
        },
    )


def symbolic_routes(config: JsonDict, attribute_types: Mapping[str, str] | None = None) -> StackRoutes:
    """The routes of a route-declaring config (valid: route_config_problems) compiled without
    incident.io: every source, escalation path and Slack channel stands for itself by its key, and
    an attribute named by `attribute` for its key. The alert and the routes come from the same
    names, so the evaluation is the one the resolved ids give. `attribute_types` (key -> engine type,
    when the API was asked) are used where known; an attribute of unknown type is read as text, which
    can add doubts but never hides one."""
    tables = name_tables(config)
    types = attribute_types or {}
    # Two keys whose entries name the same thing stand for the same symbol, as they resolve to one id.
    same_attribute = _representatives(
        tables.references, lambda declared: None if declared.subject else (declared.attribute, declared.id)
    )
    references = {
        key: Reference(
            declared.subject or f"{ATTRIBUTE_SUBJECT}{declared.id or same_attribute[key]}", types.get(key, "")
        )
        for key, declared in tables.references.items()
    }
    paths = _representatives(tables.escalation_paths, lambda lookup: (lookup.name, lookup.id))
    channels = _representatives(
        tables.slack_channels, lambda channel: None if channel.startswith(PLACEHOLDER) else channel
    )
    vocabulary = RouteVocabulary(references, paths, channels)
    sources = _representatives(tables.alert_sources, lambda lookup: (lookup.name, lookup.id))
    return compiled_routes(route_declarations(config), vocabulary, sources)


def _tested_attributes(routes: StackRoutes) -> dict[str, dict[str, list[str]]]:
    """Per declared source, each attribute the conditions on its alerts test and the values they name
    (ANY_VALUE for an attribute tested only for being set)."""
    found = _condition_values(routes.payloads)
    names = _inverse(routes.subjects)
    everywhere = found.get(None, {})
    tested: dict[str, dict[str, list[str]]] = {}
    for source in routes.sources:
        on_source = found.get(routes.source_ids[source])
        if on_source is None:
            tested[source] = {}  # no route lists the source: every alert from it goes nowhere
            continue
        subjects: dict[str, set[str]] = {}
        for subject, values in [*on_source.items(), *everywhere.items()]:
            subjects.setdefault(subject, set()).update(values)
        tested[source] = {
            names.get(subject, subject): sorted(values) or [ANY_VALUE] for subject, values in sorted(subjects.items())
        }
    return tested


def derived_alerts(routes: StackRoutes) -> list[StackAlert]:
    """Every declared source crossed with every value its conditions name and with each attribute
    unset. Only values the conditions name: a value no condition names goes wherever "unset" or
    "another value" go, which the stack cannot know to be intended or not."""
    alerts: list[StackAlert] = []
    for source, attributes in _tested_attributes(routes).items():
        choices = [[*((name, value) for value in values), None] for name, values in sorted(attributes.items())]
        count = 1
        for options in choices:
            count *= len(options)
        if count <= _MAX_COMBINATIONS:
            combinations: Iterable[tuple[tuple[str, AttributeValue] | None, ...]] = itertools.product(*choices)
        else:  # too many to cross: each attribute's values alone, the others unset
            combinations = [(), *((pair,) for options in choices for pair in options if pair is not None)]
        for combination in combinations:
            alerts.append(StackAlert(source, tuple(pair for pair in combination if pair is not None)))
    return alerts


def _matrix_alerts(
    routes: StackRoutes, tests: Sequence[RoutingTest], extra: Iterable[StackAlert] = ()
) -> list[StackAlert]:
    """Every derived alert, every tested alert and any `extra` one, once each, in the order of sources."""
    alerts = list(dict.fromkeys([*derived_alerts(routes), *(test.alert for test in tests), *extra]))
    order = {source: index for index, source in enumerate(routes.sources)}
    return sorted(alerts, key=lambda alert: order.get(alert.source, len(order)))


def matrix(routes: StackRoutes, tests: Sequence[RoutingTest] = ()) -> list[Outcome]:
    """The outcome of every derived and every tested alert."""
    return [routes.outcome(alert) for alert in _matrix_alerts(routes, tests)]


def _listed(names: Iterable[str]) -> str:
    ordered = sorted(names)
    return f"[{', '.join(ordered)}]" if ordered else "none"


def mismatches(outcome: Outcome, expect: Expectation) -> list[str]:
    """How the outcome differs from the expectation, under some reading; empty when it holds under all."""
    problems = []
    for member in MEMBERS:
        wanted = getattr(expect, member)
        if wanted is None:
            continue
        got = outcome.reach(member)
        if got.settled and outcome.same(member, got.sure) == outcome.same(member, wanted):
            continue
        expected = f"expected {member} {_listed(wanted)}" if wanted else f"expected no {member}"
        if got.settled:
            problems.append(f"{expected}, got {_listed(got.sure)}")
            continue
        maybe = _listed(got.possible - got.sure)
        if got.open:
            maybe += " and whatever a route that cannot be evaluated adds"
        problems.append(
            f"{expected}, which does not hold under every reading: "
            f"{_listed(got.sure)} for certain, {maybe} only under some readings"
        )
    return problems


def failures(routes: StackRoutes, tests: Sequence[RoutingTest]) -> list[str]:
    """One line per failing test: the test, what it expected, what it got and any doubts."""
    failed = []
    for test in tests:
        outcome = routes.outcome(test.alert)
        problems = mismatches(outcome, test.expect)
        if problems:
            doubts = f" Doubts: {'; '.join(outcome.doubts)}" if outcome.doubts else ""
            failed.append(f"{test.label}: {'; '.join(problems)}. It goes to: {outcome.describe()}.{doubts}")
    return failed


@dataclass(frozen=True)
class Finding:
    kind: str  # one of settings.COVERAGE_KINDS
    message: str


def _flow(alert: StackAlert) -> str:
    """The alert as a routing test writes it, on one line."""
    attributes = ", ".join(alert.written(": "))
    return f"{{source: {alert.source}" + (f", attributes: {{{attributes}}}" if attributes else "") + "}"


def _which(alert: StackAlert, tested: Iterable[str]) -> str:
    """`an alert from planetscale with branch unset`."""
    given = dict(alert.attributes)
    said = alert.written()
    said += [f"{name} unset" for name in tested if name not in given]
    return f"an alert from {alert.source}" + (f" with {' and '.join(said)}" if said else "")


def _acknowledge(alert: StackAlert, routes: Iterable[str]) -> str:
    return (
        "If that is intended, say so with a routing test: "
        f"{{alert: {_flow(alert)}, expect: {{routes: [{', '.join(sorted(routes))}]}}}}"
    )


def findings(routes: StackRoutes, outcomes: Sequence[Outcome], tests: Sequence[RoutingTest]) -> list[Finding]:
    """Alerts that go nowhere or twice, and routes nothing reaches (see the module's docstring)."""
    tested = _tested_attributes(routes)
    # A passing test that states the alert's routes says that what happens to it is intended; a
    # failing one says nothing of the kind.
    acknowledged = {
        test.alert
        for test in tests
        if test.expect.routes is not None
        and not mismatches(routes.outcome(test.alert), Expectation(routes=test.expect.routes))
    }
    found: list[Finding] = []
    for outcome in outcomes:
        alert = outcome.alert
        if alert in acknowledged:
            continue
        which = _which(alert, tested.get(alert.source, {}))
        reached = outcome.reach("routes")
        doubts = f" ({'; '.join(outcome.doubts)})" if outcome.doubts else ""
        if not reached.sure:
            maybe = "" if not reached.possible else f" under some readings: only {_listed(reached.possible)} may act"
            found.append(Finding("dropped", f"{which} goes nowhere{maybe}.{doubts} {_acknowledge(alert, [])}"))
        twice = []
        paging = [effect for effect in outcome.effects if effect.pages]
        if len(paging) > 1:
            may = "" if all(effect.certain for effect in paging) else "may "
            said = ", ".join(f"{effect.route} ({', '.join(effect.pages)})" for effect in paging)
            twice.append(f"{may}pages twice: {len(paging)} routes page for it: {said}")
        posts = Counter(channel for effect in outcome.effects for channel in outcome.same("slack", effect.slack))
        for channel in sorted(channel for channel, count in posts.items() if count > 1):
            posting = [effect for effect in outcome.effects if channel in outcome.same("slack", effect.slack)]
            called = sorted(
                {name for effect in posting for name in effect.slack if outcome.same("slack", [name]) == {channel}}
            )
            twice.append(
                f"is posted to Slack {' / '.join(called)} {len(posting)} times, by "
                + ", ".join(effect.route for effect in posting)
            )
        if twice:
            message = f"{which} {'; and '.join(twice)}.{doubts} {_acknowledge(alert, reached.possible)}"
            found.append(Finding("twice", message))
    reached_anywhere = {route for outcome in outcomes for route in outcome.reach("routes").possible}
    for payload in routes.payloads:
        name = str(payload.get("name"))
        # A disabled route acts on nothing by design (docs/routing.md R2).
        if payload.get("enabled") is not False and name not in reached_anywhere:
            found.append(
                Finding(
                    "unreached",
                    f"route {name!r} acts on no alert: none of the alerts derived from the conditions (each source, "
                    "each value the conditions name, each attribute unset) nor any routing test reaches it. Check "
                    "its conditions, or add a routing test that reaches it",
                )
            )
    return found


def verify(
    stack: str,
    routes: StackRoutes,
    tests: Sequence[RoutingTest],
    coverage: RoutingCoverage,
    warn: Callable[[str], None],
) -> dict[str, JsonDict]:
    """Run the routing tests (failing ones stop the run), report coverage (warnings, or errors for the
    kinds in routingCoverage.failOn) and return the routing matrix: each alert's row, by the alert as
    route-test.sh takes it (`source=alertmanager severity=critical`)."""
    failed = failures(routes, tests)
    if failed:
        raise RoutingTestsError(stack, failed)
    outcomes = matrix(routes, tests)
    errors = []
    for finding in findings(routes, outcomes, tests):
        message = f"routing coverage ({finding.kind}): {finding.message}"
        if finding.kind in coverage.fail_on:
            errors.append(message)
        else:
            warn(message)
    if errors:
        raise RoutingCoverageError(stack, errors)
    # Keyed by the alert, not a list: a route added or changed changes only the rows of the alerts it
    # reaches, so the preview's output diff shows those and nothing else.
    return {outcome.alert.describe(): outcome.row() for outcome in outcomes}


# Before/after: how an alert's destination changes, worst first; each (one alert, several alerts).
CHANGES = {
    "nowhere": ("now goes nowhere", "now go nowhere"),
    "twice": ("pages twice", "page twice"),
    "unpaged": ("no longer pages", "no longer page"),
    "paged": ("now pages", "now page"),
    "elsewhere": ("goes elsewhere", "go elsewhere"),
    "certainty": ("changes how certain it is", "change how certain they are"),
}


@dataclass(frozen=True)
class Change:
    alert: StackAlert
    before: Outcome
    after: Outcome
    kind: str | None  # a key of CHANGES; None when nothing changes

    @property
    def label(self) -> str:
        return CHANGES[self.kind][0] if self.kind else ""


def _paging(outcome: Outcome) -> int:
    return sum(1 for effect in outcome.effects if effect.pages)


def _targets_reached(outcome: Outcome, member: str) -> Reach:
    """What an alert reaches, two names of one target counted as one."""
    reach = outcome.reach(member)
    return Reach(outcome.same(member, reach.sure), outcome.same(member, reach.possible), reach.open)


def _change(before: Outcome, after: Outcome) -> str | None:
    was = {member: _targets_reached(before, member) for member in MEMBERS}
    now = {member: _targets_reached(after, member) for member in MEMBERS}
    if was == now:
        return None
    if was["routes"].possible and not now["routes"].possible:
        return "nowhere"
    if _paging(after) > 1 >= _paging(before):
        return "twice"
    if was["pages"].possible and not now["pages"].possible:
        return "unpaged"
    if now["pages"].possible and not was["pages"].possible:
        return "paged"
    if any(was[member].possible != now[member].possible for member in MEMBERS):
        return "elsewhere"
    return "certainty"


def compare(before: StackRoutes, after: StackRoutes, tests: Sequence[RoutingTest] = ()) -> list[Change]:
    """Every alert derived from either side or tested, evaluated on both; changed alerts first, worst
    change first."""
    changes = []
    for alert in _matrix_alerts(after, tests, derived_alerts(before)):
        was, now = before.outcome(alert), after.outcome(alert)
        changes.append(Change(alert, was, now, _change(was, now)))
    rank = {kind: index for index, kind in enumerate(CHANGES)}
    return sorted(changes, key=lambda change: rank.get(change.kind or "", len(rank)))


def change_summary(changes: Sequence[Change]) -> str:
    """One line: `2 alerts change where they go: 1 now goes nowhere, 1 pages twice`."""
    changed = Counter(change.kind for change in changes if change.kind)
    total = sum(changed.values())
    if not total:
        return "No alert changes where it goes"
    parts = [f"{count} {CHANGES[kind][0 if count == 1 else 1]}" for kind, count in changed.items()]
    head = "1 alert changes where it goes" if total == 1 else f"{total} alerts change where they go"
    return f"{head}: {', '.join(parts)}"
