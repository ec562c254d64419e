"""What incident.io does with one alert, read from v2 alert route payloads: which routes act on it,
whom they page, where they post, and whether they open an incident.

Pure functions: no HTTP, no Pulumi, no stack. The rules, their sources and the readings taken where
incident.io is silent are in docs/routing.md. Where the vendor is silent the evaluator does not pick
one reading: it evaluates each plausible one and, when they disagree, reports the route as a possible
match with a doubt naming the reading it rests on, so that a routing matrix warns instead of
reassuring. What it cannot evaluate at all (an operation it does not know, an expression, a
reference where a literal was expected) is reported as such, never guessed as a match or a miss.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from providers.alert_route_spec import OPERATIONS, OPERATIONS_WITH_VALUES, stored_operation

JsonDict = dict[str, Any]
AttributeValue = str | tuple[str, ...]


@dataclass(frozen=True)
class Alert:
    """An alert as routes see it: the alert source it came from, and its values keyed by condition
    subject (`alert.attributes.<id>`, `alert.title`). A value is a string, or a tuple of strings for
    an array attribute; a subject that is absent is unset."""

    source_id: str
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)

    def to_json(self) -> JsonDict:
        return {
            "source_id": self.source_id,
            "attributes": {
                subject: value if isinstance(value, str) else list(value) for subject, value in self.attributes.items()
            },
        }


@dataclass(frozen=True)
class RouteMatch:
    """A route that acts on the alert, and what it does.

    `certain` is False when the route matches only under some readings of undocumented semantics;
    `doubts` names them. Targets list everything the route reaches under at least one reading; a
    target that depends on a reading has a doubt too. `cannot_evaluate` lists what the route does
    that the evaluator could not work out (e.g. an escalation path chosen by an expression).
    `creates_incident` is None when that depends on a reading or cannot be evaluated.
    """

    route_name: str
    certain: bool
    escalation_path_ids: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    slack_channel_ids: tuple[str, ...] = ()
    ms_teams_ids: tuple[str, ...] = ()
    creates_incident: bool | None = False
    doubts: tuple[str, ...] = ()
    cannot_evaluate: tuple[str, ...] = ()
    # What is known of the route's pages and chat posts, apart from the rest, so that a doubt about one
    # thing it does (say, whether it opens an incident) does not unsettle the others. `*_known`: nothing
    # chosen when the alert arrives, no channel condition that cannot be evaluated; `posts_certain`: each
    # channel it posts to, it posts to under every reading.
    pages_known: bool = True
    posts_known: bool = True
    posts_certain: bool = True

    @property
    def settled(self) -> bool:
        """Everything this match says holds under every reading and was evaluated."""
        return self.certain and not self.doubts and not self.cannot_evaluate

    def to_json(self) -> JsonDict:
        return {
            "route_name": self.route_name,
            "certain": self.certain,
            "escalation_path_ids": list(self.escalation_path_ids),
            "user_ids": list(self.user_ids),
            "slack_channel_ids": list(self.slack_channel_ids),
            "ms_teams_ids": list(self.ms_teams_ids),
            "creates_incident": self.creates_incident,
            "doubts": list(self.doubts),
            "cannot_evaluate": list(self.cannot_evaluate),
        }


@dataclass(frozen=True)
class Undecided:
    """A route whose match the evaluator cannot decide: it may or may not act on the alert."""

    route_name: str
    reasons: tuple[str, ...]

    def to_json(self) -> JsonDict:
        return {"route_name": self.route_name, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Evaluation:
    """Every route that acts on the alert (several can: routes have no order), every route that
    cannot be decided, and every doubt, each prefixed with the route it concerns."""

    alert: Alert
    matches: tuple[RouteMatch, ...]
    undecided: tuple[Undecided, ...]
    doubts: tuple[str, ...]

    @property
    def settled(self) -> bool:
        """The result holds under every reading and nothing was left unevaluated."""
        return not self.undecided and not self.doubts and all(match.settled for match in self.matches)

    def to_json(self) -> JsonDict:
        return {
            "alert": self.alert.to_json(),
            "matches": [match.to_json() for match in self.matches],
            "undecided": [route.to_json() for route in self.undecided],
            "doubts": list(self.doubts),
            "settled": self.settled,
        }


@dataclass(frozen=True)
class _Verdict:
    """Whether some conditions hold: True, False, or None when that rests on a reading (`doubts`)
    or cannot be evaluated (`unknowns`)."""

    holds: bool | None
    doubts: tuple[str, ...] = ()
    unknowns: tuple[str, ...] = ()


_HOLDS = _Verdict(True)
_FAILS = _Verdict(False)


def _unknown(reason: str) -> _Verdict:
    return _Verdict(None, unknowns=(reason,))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _open(verdicts: list[_Verdict]) -> _Verdict:
    return _Verdict(
        None,
        _unique(doubt for verdict in verdicts for doubt in verdict.doubts),
        _unique(unknown for verdict in verdicts for unknown in verdict.unknowns),
    )


def _all_of(verdicts: Iterable[_Verdict]) -> _Verdict:
    # One definite failure decides, whatever the doubts elsewhere: every operation here is monotone
    # in its readings (none negates), so undecided parts cannot turn a failure into a match.
    undecided = []
    for verdict in verdicts:
        if verdict.holds is False:
            return _FAILS
        if verdict.holds is None:
            undecided.append(verdict)
    return _open(undecided) if undecided else _HOLDS


def _any_of(verdicts: Iterable[_Verdict]) -> _Verdict:
    undecided = []
    for verdict in verdicts:
        if verdict.holds is True:
            return _HOLDS
        if verdict.holds is None:
            undecided.append(verdict)
    return _open(undecided) if undecided else _FAILS


@dataclass(frozen=True)
class _Reading:
    """One way to read a value operation, as the liberties it takes over the strictest reading:
    matching substrings, ignoring case, and letting one element of an array attribute stand for all."""

    substrings: bool = False
    any_case: bool = False
    one_element_enough: bool = True

    def compare(self, value: str, literal: str) -> bool:
        if self.any_case:
            value, literal = value.casefold(), literal.casefold()
        return literal in value if self.substrings else value == literal

    def holds(self, values: tuple[str, ...], literals: tuple[str, ...]) -> bool:
        each = (any(self.compare(value, literal) for literal in literals) for value in values)
        return any(each) if self.one_element_enough else all(each)

    def liberties(self, strictest: _Reading) -> frozenset[str]:
        taken = {
            "matches substrings": self.substrings and not strictest.substrings,
            "ignores case": self.any_case and not strictest.any_case,
            "lets one element of an array attribute match": self.one_element_enough
            and not strictest.one_element_enough,
        }
        return frozenset(liberty for liberty, is_taken in taken.items() if is_taken)


def _is_text(subject_type: str | None) -> bool:
    # An unknown type may be text, and text is where the readings multiply: assume it.
    return subject_type is None or stored_operation("one_of", subject_type) == "contains_one_of"


def _readings(operation: str, subject_type: str | None, is_array: bool) -> tuple[_Reading, ...]:
    """The plausible readings of a value operation (docs/routing.md, "Conditions"), strictest first.
    Each reading matches at least what the strictest does."""
    whole, substrings = ((False, False), (False, True)), ((True, False), (True, True))  # (substrings, any_case)
    if operation == "one_of" and not _is_text(subject_type):
        kinds: tuple[tuple[bool, bool], ...] = ((False, False),)
    elif operation in ("one_of", "contains_one_of"):
        kinds = whole + substrings
    elif operation == "is":
        kinds = whole
    else:  # contains, name_contains: on an array, "contains" may also mean "has an element equal to"
        kinds = whole + substrings if is_array else substrings
    element_rules = (False, True) if is_array and operation in ("one_of", "is") else (True,)
    return tuple(_Reading(substring, any_case, one) for one in element_rules for substring, any_case in kinds)


def _needed(readings: tuple[_Reading, ...], holding: list[_Reading]) -> str:
    """The least liberties under which the operation holds, in words."""
    options = {reading.liberties(readings[0]) for reading in holding}
    least = sorted(sorted(option) for option in options if not any(other < option for other in options))
    return " or ".join(" and ".join(option) for option in least)


@dataclass(frozen=True)
class _Scope:
    alert: Alert
    subject_types: Mapping[str, str]
    where: str

    def at(self, where: str) -> _Scope:
        return replace(self, where=where)


def _binding_items(binding: Any) -> list[Any]:
    if not isinstance(binding, Mapping):
        return []
    items = [binding["value"]] if isinstance(binding.get("value"), Mapping) else []
    return items + [item for item in binding.get("array_value") or [] if isinstance(item, Mapping)]


def _binding_values(bindings: Iterable[Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(literals, references) of some parameter bindings."""
    literals, references = [], []
    for binding in bindings:
        for item in _binding_items(binding):
            if item.get("literal") is not None:
                literals.append(str(item["literal"]))
            elif item.get("reference") is not None:
                references.append(str(item["reference"]))
    return _unique(literals), _unique(references)


def _given_values(alert: Alert, subject: str) -> tuple[str, ...] | None:
    """The alert's values for a subject: () when unset, None when the subject navigates into a value
    the alert gives (e.g. a catalog entry's owner), which the evaluator cannot follow."""
    given = alert.attributes.get(subject)
    if given is None:
        navigates_into_given = any(subject.startswith(f"{known}.") for known in alert.attributes)
        return None if navigates_into_given else ()
    values = (given,) if isinstance(given, str) else tuple(given)
    return tuple(value for value in values if value)


def _shown(values: tuple[str, ...], given: object) -> str:
    return repr(values[0]) if isinstance(given, str) else repr(list(values))


def _condition(condition: Mapping[str, Any], scope: _Scope) -> _Verdict:
    subject, operation = str(condition.get("subject") or ""), str(condition.get("operation") or "")
    said = f"{scope.where}: {subject} {operation}"
    if operation not in OPERATIONS:
        return _unknown(f"{said}: not an operation the evaluator knows")
    if subject.startswith("expressions["):
        return _unknown(f"{said}: the subject is an expression of the route, which the evaluator does not compute")
    if operation == "is_active":
        return _unknown(
            f"{said}: is_active tests a state at the time of the alert (working hours in incident.io's "
            "examples), which the evaluator cannot know"
        )
    values = _given_values(scope.alert, subject)
    if values is None:
        return _unknown(f"{said}: the subject navigates into an attribute's value, which the evaluator cannot follow")
    if operation == "is_set":
        return _Verdict(bool(values))
    if operation == "is_not_set":
        return _Verdict(not values)
    literals, references = _binding_values(condition.get("param_bindings") or [])
    if references:
        return _unknown(f"{said}: compares with {', '.join(references)}, a reference rather than a literal")
    if not literals:
        return _unknown(f"{said}: has no value to compare with")
    if not values:
        return _FAILS
    given = scope.alert.attributes[subject]
    readings = _readings(operation, scope.subject_types.get(subject), is_array=not isinstance(given, str))
    holding = [reading for reading in readings if reading.holds(values, literals)]
    if len(holding) == len(readings):
        return _HOLDS
    if not holding:
        return _FAILS
    return _Verdict(
        None,
        doubts=(
            f"{said} {list(literals)!r} holds for {_shown(values, given)} only if {operation} "
            f"{_needed(readings, holding)}",
        ),
    )


def _groups(groups: Any, scope: _Scope) -> _Verdict:
    """Condition groups: any group, all conditions within it; no groups at all put no condition."""
    if not groups:
        return _HOLDS
    return _any_of(
        _all_of(_condition(condition, scope) for condition in group.get("conditions") or [])
        for group in groups
        if isinstance(group, Mapping)
    )


@dataclass
class _Effects:
    """What a matching route does, gathered target by target."""

    escalation_path_ids: list[str] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)
    slack_channel_ids: list[str] = field(default_factory=list)
    ms_teams_ids: list[str] = field(default_factory=list)
    creates_incident: bool | None = False
    doubts: list[str] = field(default_factory=list)
    cannot_evaluate: list[str] = field(default_factory=list)
    pages_known: bool = True
    posts_known: bool = True
    posts_certain: bool = True

    def reach(self, where: str, binding: Any, into: list[str]) -> bool:
        """Add the binding's literal targets; False when some target is chosen only when the alert arrives."""
        literals, references = _binding_values([binding])
        into.extend(literals)
        self.cannot_evaluate.extend(
            f"{where}: chosen by {reference} when the alert arrives; cannot evaluate" for reference in references
        )
        return not references


def _escalations(route: Mapping[str, Any], effects: _Effects) -> None:
    # Escalation targets carry no conditions: the API drops any sent (TF issue #280).
    escalation = route.get("escalation_config") or {}
    for index, target in enumerate(escalation.get("escalation_targets") or []):
        where = f"escalation_config.escalation_targets[{index}]"
        if target.get("escalation_paths"):
            known = effects.reach(f"{where}.escalation_paths", target["escalation_paths"], effects.escalation_path_ids)
        elif target.get("users"):
            # `users` beside `escalation_paths` is the API's echo of the path, not a target (api-behaviour B1).
            known = effects.reach(f"{where}.users", target["users"], effects.user_ids)
        else:
            continue
        effects.pages_known = effects.pages_known and known


def _channels(route: Mapping[str, Any], scope: _Scope, effects: _Effects) -> None:
    for index, channel in enumerate(route.get("channel_config") or []):
        where = f"channel_config[{index}]"
        verdict = _groups(channel.get("condition_groups"), scope.at(where))
        if verdict.holds is False:
            continue
        if verdict.unknowns:
            effects.cannot_evaluate.extend(f"whether it posts ({where}): {unknown}" for unknown in verdict.unknowns)
            effects.posts_known = False
            continue
        effects.doubts.extend(verdict.doubts)
        if verdict.holds is not True:
            effects.posts_certain = False
        for kind, into in (("slack_targets", effects.slack_channel_ids), ("ms_teams_targets", effects.ms_teams_ids)):
            if channel.get(kind) and not effects.reach(f"{where}.{kind}", channel[kind].get("binding"), into):
                effects.posts_known = False


def _incident(route: Mapping[str, Any], scope: _Scope, effects: _Effects) -> None:
    config = route.get("incident_config") or {}
    if not config.get("enabled"):
        return
    verdict = _groups(config.get("condition_groups"), scope.at("incident_config"))
    effects.creates_incident = None if verdict.unknowns else verdict.holds
    effects.doubts.extend(verdict.doubts)
    effects.cannot_evaluate.extend(f"whether it creates an incident: {unknown}" for unknown in verdict.unknowns)


def _evaluate_route(route: Mapping[str, Any], scope: _Scope) -> RouteMatch | Undecided | None:
    name = str(route.get("name") or "(unnamed route)")
    if route.get("enabled") is False:
        return None
    sources = [source for source in route.get("alert_sources") or [] if isinstance(source, Mapping)]
    source_id = scope.alert.source_id
    index = next((i for i, source in enumerate(sources) if source.get("alert_source_id") == source_id), None)
    if index is None:
        return None
    source_scope = scope.at(f"alert_sources[{index}] ({source_id})")
    verdict = _all_of(
        [
            _groups(sources[index].get("condition_groups"), source_scope),
            _groups(route.get("condition_groups"), scope.at("condition_groups")),
        ]
    )
    if verdict.holds is False:
        return None
    if verdict.unknowns:
        return Undecided(name, verdict.unknowns)
    effects = _Effects(doubts=list(verdict.doubts))
    _escalations(route, effects)
    _channels(route, scope, effects)
    _incident(route, scope, effects)
    return RouteMatch(
        route_name=name,
        certain=verdict.holds is True,
        escalation_path_ids=_unique(effects.escalation_path_ids),
        user_ids=_unique(effects.user_ids),
        slack_channel_ids=_unique(effects.slack_channel_ids),
        ms_teams_ids=_unique(effects.ms_teams_ids),
        creates_incident=effects.creates_incident,
        doubts=_unique(effects.doubts),
        cannot_evaluate=_unique(effects.cannot_evaluate),
        pages_known=effects.pages_known,
        posts_known=effects.posts_known,
        posts_certain=effects.posts_certain,
    )


def _alert_doubts(alert: Alert) -> list[str]:
    return [
        f"the alert gives {subject} as empty; it is read as unset"
        for subject, value in alert.attributes.items()
        if value is not None and not _given_values(alert, subject)
    ]


def evaluate(
    routes: Sequence[Mapping[str, Any]], alert: Alert, *, subject_types: Mapping[str, str] | None = None
) -> Evaluation:
    """What the routes (v2 create payloads, or live routes through alert_route_spec.from_live) do
    with the alert. `subject_types` maps a condition subject to its engine type (`String`,
    `CatalogEntry["..."]`, from GET /v2/alert_attributes); a subject without one may be text."""
    return _evaluation(routes, alert, subject_types)


def _evaluation(
    routes: Iterable[Mapping[str, Any]], alert: Alert, subject_types: Mapping[str, str] | None
) -> Evaluation:
    scope = _Scope(alert, subject_types or {}, "")
    matches: list[RouteMatch] = []
    undecided: list[Undecided] = []
    for route in routes:
        result = _evaluate_route(route, scope)
        if isinstance(result, RouteMatch):
            matches.append(result)
        elif isinstance(result, Undecided):
            undecided.append(result)
    doubts = [*_alert_doubts(alert), *(f"{match.route_name}: {doubt}" for match in matches for doubt in match.doubts)]
    return Evaluation(alert, tuple(matches), tuple(undecided), _unique(doubts))


@dataclass(frozen=True)
class _Guard:
    """A condition a route cannot match without, for an index: its subject and its literals, case-folded."""

    subject: str
    keys: frozenset[str]


def _guard(condition: Any) -> _Guard | None:
    """The condition as a guard, when it can only hold for an alert that gives its subject a value of
    which one of its literals is a substring, case aside: the loosest reading of every value operation
    (docs/routing.md). Anything else (no literals, a reference, an expression, is_set...) is no guard."""
    if not isinstance(condition, Mapping):
        return None
    subject, operation = str(condition.get("subject") or ""), str(condition.get("operation") or "")
    bindings = condition.get("param_bindings")
    if operation not in OPERATIONS_WITH_VALUES or subject.startswith("expressions[") or not isinstance(bindings, list):
        return None
    literals, references = _binding_values(bindings)
    if references or not literals:
        return None
    return _Guard(subject, frozenset(literal.casefold() for literal in literals))


def _well_formed(groups: Any) -> bool:
    """Condition groups as the API writes them: a list of groups, each a list of condition objects."""
    if not groups:
        return True
    return isinstance(groups, list) and all(
        isinstance(group, Mapping)
        and isinstance(group.get("conditions") or [], list)
        and all(
            isinstance(condition, Mapping) and isinstance(condition.get("param_bindings") or [], list)
            for condition in group.get("conditions") or []
        )
        for group in groups
    )


def _guards(groups: Any) -> list[_Guard] | None:
    """Conditions of which one must hold for the groups to hold (one per group: any group, all of its
    conditions), or None when some group has no condition that can serve (or there are no groups)."""
    if not groups:
        return None
    guards = []
    for group in groups:
        found = next((g for g in map(_guard, group.get("conditions") or []) if g is not None), None)
        if found is None:
            return None
        guards.append(found)
    return guards


class IndexedRoutes:
    """Routes with an index of the ones that can act on an alert, for evaluating many alerts: evaluate()
    gives exactly what the module's evaluate() gives, without evaluating every route for every alert.

    By source: a route is a candidate for its alert sources only. Within a source, a route is skipped
    only when one of its conditions, needed for it to match, fails under the loosest reading of every
    value operation (substrings, any case, one element of an array enough): such a route does not act
    under any reading, and evaluate() reports nothing of it (no match, no doubt). A route whose
    conditions include no such guard in each group (is_set, references, expressions, operations the
    evaluator does not know, a payload it does not expect) is evaluated for every alert of its sources."""

    def __init__(self, routes: Sequence[Mapping[str, Any]]) -> None:
        self.routes = tuple(routes)
        # Source id -> routes evaluated for every alert from it.
        self._always: dict[str, list[int]] = {}
        # Source id -> subject -> case-folded literal -> routes that need a value containing it.
        self._guarded: dict[str, dict[str, dict[str, set[int]]]] = {}
        self._lengths: dict[str, dict[str, set[int]]] = {}
        # Routes evaluated for every alert whatever its source: their sources could not be indexed.
        self._everywhere: list[int] = []
        for index, route in enumerate(self.routes):
            self._add(index, route)

    def _add(self, index: int, route: Mapping[str, Any]) -> None:
        if route.get("enabled") is False:
            return
        sources = route.get("alert_sources") or []
        if not isinstance(sources, list) or not _well_formed(route.get("condition_groups")):
            self._everywhere.append(index)
            return
        first: dict[str, Mapping[str, Any]] = {}
        for source in sources:
            if isinstance(source, Mapping):
                source_id = source.get("alert_source_id")
                if isinstance(source_id, str):  # no other value is equal to an alert's source id
                    first.setdefault(str(source_id), source)
        for source_id, source in first.items():
            groups = source.get("condition_groups")
            guards = (_guards(groups) if _well_formed(groups) else None) or _guards(route.get("condition_groups"))
            if not _well_formed(groups) or guards is None:
                self._always.setdefault(source_id, []).append(index)
                continue
            for guard in guards:
                by_literal = self._guarded.setdefault(source_id, {}).setdefault(guard.subject, {})
                for key in guard.keys:
                    by_literal.setdefault(key, set()).add(index)
                self._lengths.setdefault(source_id, {}).setdefault(guard.subject, set()).update(map(len, guard.keys))

    def candidates(self, alert: Alert) -> list[int]:
        """The indexes of the routes that may act on the alert, in the routes' order."""
        found = set(self._everywhere)
        found.update(self._always.get(alert.source_id, ()))
        lengths = self._lengths.get(alert.source_id, {})
        for subject, by_literal in self._guarded.get(alert.source_id, {}).items():
            values = _given_values(alert, subject)
            if values is None:  # navigates into a given value: cannot be decided here
                found.update(route for routes in by_literal.values() for route in routes)
                continue
            for value in values:
                folded = value.casefold()
                for length in lengths[subject]:
                    for start in range(len(folded) - length + 1):
                        found.update(by_literal.get(folded[start : start + length], ()))
        return sorted(found)

    def evaluate(self, alert: Alert, *, subject_types: Mapping[str, str] | None = None) -> Evaluation:
        return _evaluation((self.routes[index] for index in self.candidates(alert)), alert, subject_types)


def _collect(into: dict[str, set[str]], groups: Any) -> None:
    for group in groups or []:
        for condition in group.get("conditions") or []:
            literals, _ = _binding_values(condition.get("param_bindings") or [])
            into.setdefault(str(condition.get("subject")), set()).update(literals)


def condition_values(routes: Sequence[Mapping[str, Any]]) -> dict[str | None, dict[str, set[str]]]:
    """Every literal the routes' conditions compare a subject with, by alert source id (conditions on
    that source's alerts only) and None (conditions on the whole route, its channels and its incident
    creation). Every listed source is a key, even without conditions, and every subject tested
    appears, even by is_set or is_not_set (with no values): enough to derive alerts for every source,
    every value named and every attribute unset."""
    found: dict[str | None, dict[str, set[str]]] = {}
    for route in routes:
        for source in route.get("alert_sources") or []:
            _collect(found.setdefault(str(source.get("alert_source_id")), {}), source.get("condition_groups"))
        route_level: dict[str, set[str]] = {}
        _collect(route_level, route.get("condition_groups"))
        for channel in route.get("channel_config") or []:
            _collect(route_level, channel.get("condition_groups"))
        _collect(route_level, (route.get("incident_config") or {}).get("condition_groups"))
        for subject, values in route_level.items():
            found.setdefault(None, {}).setdefault(subject, set()).update(values)
    return found
