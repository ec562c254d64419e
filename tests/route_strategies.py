"""Hypothesis strategies for v2 alert route create payloads the emulator's seeded org accepts.

Every field of every payload model (providers/schemas/alert_route_payload_v2.json, generated from the
SDK) can be drawn, optional ones present and absent, booleans both ways: bindings as a single value or
an array, literals and references (JSON literals included, which the API re-encodes), conditions on
every subject form the engine has (alert attributes of each type, alert fields, the route's own
expressions), every operation with and without values, escalation targets of both kinds, Slack and
Teams channels with and without conditions, every expression operation, and the incident and message
templates. What the API refuses is not drawn: a target that is both a path and users, a channel target
without a channel, a subject that is not an attribute, alert field or expression of the route, an
operation the engine does not have, values on an operation that takes none.

Routes have at least one alert source: a stack declaration needs one (`sources`), and the export names
a route without any instead of exporting it (tests/test_export_every_route.py shows both).
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from hypothesis import strategies as st

from providers.alert_route_spec import OPERATIONS_WITH_VALUES, OPERATIONS_WITHOUT_VALUES
from tests.emulator.seed import ALERTS_CHANNEL, BRANCH_ATTRIBUTE, ENGINEERING_ON_CALL, SEED_SOURCES, SEVERITY_ATTRIBUTE

JsonDict = dict[str, Any]
SERVICE_ATTRIBUTE = "01EMUATTRSERVICE0000000000"  # a CatalogEntry attribute of the seeded org
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# Text as people type it in the dashboard: letters of any script, digits, punctuation, spaces.
_PRINTABLE = st.characters(exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"))
names = st.text(_PRINTABLE, min_size=1, max_size=24).filter(lambda text: text.strip() != "")
words = st.text(_PRINTABLE, min_size=1, max_size=12)
ulids = st.text(_CROCKFORD, min_size=22, max_size=22).map(lambda tail: f"01HY{tail}")
# Literals: plain text, numbers and booleans as text, and JSON (which the API stores re-encoded).
json_literals = st.sampled_from(
    [
        '{"content": "paged by {{ alert.title }}"}',
        '{"b": 1.0, "a": ["<db>&x", true, null]}',
        "[1, 2.5, 3.0]",
        '{"url": "https://runbooks.example/<db>&x", "kind": "link"}',
    ]
)
literals = st.one_of(words, json_literals, st.sampled_from(["true", "false", "0", "null", "~", "- x", "a: b", "#"]))
references = st.sampled_from(["alert.title", "alert.description", f"alert.attributes.{SEVERITY_ATTRIBUTE}"])

ATTRIBUTE_SUBJECTS = [f"alert.attributes.{attribute}" for attribute in (SEVERITY_ATTRIBUTE, BRANCH_ATTRIBUTE)]
ALERT_FIELD_SUBJECTS = ["alert.title", "alert.description"]
CATALOG_SUBJECT = f"alert.attributes.{SERVICE_ATTRIBUTE}"
SOURCE_IDS = [id_ for id_, _, _ in SEED_SOURCES]


@cache
def _value() -> st.SearchStrategy[JsonDict]:
    return st.one_of(
        st.builds(lambda literal: {"literal": literal}, literals),
        st.builds(lambda reference: {"reference": reference}, references),
    )


@cache
def bindings(values: st.SearchStrategy[JsonDict] | None = None) -> st.SearchStrategy[JsonDict]:
    """A binding to one value or to an array of them (never empty: that is an unset binding)."""
    values = _value() if values is None else values
    return st.one_of(
        st.builds(lambda value: {"value": value}, values),
        st.builds(lambda array: {"array_value": array}, st.lists(values, min_size=1, max_size=2)),
    )


def _literal_binding(literal: st.SearchStrategy[str]) -> st.SearchStrategy[JsonDict]:
    return bindings(st.builds(lambda value: {"literal": value}, literal))


# Strategies are built once per set of subjects (a route's expressions add theirs): building them anew
# for every example costs more than drawing from them.
@cache
def conditions(subjects: tuple[str, ...]) -> st.SearchStrategy[JsonDict]:
    without_values = st.fixed_dictionaries(
        {
            "subject": st.sampled_from(subjects),
            "operation": st.sampled_from(sorted(OPERATIONS_WITHOUT_VALUES)),
            "param_bindings": st.just([]),
        }
    )
    with_values = st.fixed_dictionaries(
        {
            "subject": st.sampled_from(subjects),
            "operation": st.sampled_from(sorted(OPERATIONS_WITH_VALUES)),
            "param_bindings": st.lists(bindings(), min_size=1, max_size=2),
        }
    )
    return st.one_of(without_values, with_values)


@cache
def condition_groups(subjects: tuple[str, ...], max_size: int = 2) -> st.SearchStrategy[list[JsonDict]]:
    group = st.builds(lambda items: {"conditions": items}, st.lists(conditions(subjects), max_size=2))
    return st.lists(group, max_size=max_size)


@cache
def _returns() -> st.SearchStrategy[JsonDict]:
    return st.fixed_dictionaries({"array": st.booleans(), "type": st.sampled_from(["String", "Number", "Bool"])})


@cache
def _operation(subjects: tuple[str, ...]) -> st.SearchStrategy[JsonDict]:
    """An expression operation of each type, with the options that type takes."""
    reference = st.sampled_from(["title", "description", "attributes"])
    options: dict[str, st.SearchStrategy[JsonDict]] = {
        "navigate": st.fixed_dictionaries({"reference": reference}),
        "filter": st.fixed_dictionaries({"condition_groups": condition_groups(subjects)}),
        "parse": st.fixed_dictionaries({"source": st.sampled_from(["$.team", "$.owner"]), "returns": _returns()}),
        "concatenate": st.fixed_dictionaries({"reference": reference}),
        "cast": st.fixed_dictionaries({"returns": _returns()}),
        "branches": st.fixed_dictionaries(
            {
                "branches": st.lists(
                    st.fixed_dictionaries({"condition_groups": condition_groups(subjects), "result": bindings()}),
                    min_size=1,
                    max_size=2,
                ),
                "returns": _returns(),
            }
        ),
    }
    with_options = [
        st.builds(lambda opts, kind=kind: {"operation_type": kind, kind: opts}, strategy)
        for kind, strategy in options.items()
    ]
    bare = st.sampled_from(["count", "first", "max", "min", "random", "sum"]).map(lambda kind: {"operation_type": kind})
    return st.one_of(*with_options, bare)


@st.composite
def expressions(draw: st.DrawFn) -> list[JsonDict]:
    """A route's expressions, each with its own reference; their conditions may use the alert's subjects."""
    references_ = draw(st.lists(st.sampled_from(["team", "owner", "first_word"]), unique=True, max_size=2))
    return [{**draw(_expression()), "reference": reference} for reference in references_]


@cache
def _expression() -> st.SearchStrategy[JsonDict]:
    """An expression but its reference; its conditions may use the alert's own subjects."""
    subjects = (*ATTRIBUTE_SUBJECTS, *ALERT_FIELD_SUBJECTS)
    return st.fixed_dictionaries(
        {
            "label": words,
            "root_reference": st.sampled_from(["alert", "alert.attributes"]),
            "operations": st.lists(_operation(subjects), max_size=2),
        },
        optional={"else_branch": st.fixed_dictionaries({"result": bindings()})},
    )


@cache
def _channel_target() -> st.SearchStrategy[JsonDict]:
    channel = st.one_of(st.just(ALERTS_CHANNEL), st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=9, max_size=11))
    return st.fixed_dictionaries(
        {"binding": _literal_binding(channel), "channel_visibility": st.sampled_from(["public", "private"])}
    )


@cache
def _channel(subjects: tuple[str, ...]) -> st.SearchStrategy[JsonDict]:
    return st.fixed_dictionaries(
        {"condition_groups": condition_groups(subjects, max_size=1)},
        optional={"slack_targets": _channel_target(), "ms_teams_targets": _channel_target()},
    )


@cache
def _escalation_target() -> st.SearchStrategy[JsonDict]:
    path = st.one_of(st.just(ENGINEERING_ON_CALL), ulids)
    return st.one_of(
        st.builds(lambda binding: {"escalation_paths": binding}, _literal_binding(path)),
        st.builds(lambda binding: {"users": binding}, _literal_binding(ulids)),
    )


def _template_binding(optional_binding: bool = True) -> st.SearchStrategy[JsonDict]:
    if optional_binding:
        return st.fixed_dictionaries({}, optional={"binding": bindings()})
    return st.fixed_dictionaries({"binding": bindings()})


def _autogenerated() -> st.SearchStrategy[JsonDict]:
    return st.fixed_dictionaries({}, optional={"autogenerated": st.booleans(), "binding": bindings()})


@cache
def _incident_template() -> st.SearchStrategy[JsonDict]:
    custom_field = st.fixed_dictionaries(
        {
            "binding": bindings(),
            "custom_field_id": ulids,
            "merge_strategy": st.sampled_from(["append", "first-wins", "last-wins"]),
        }
    )
    severity = st.fixed_dictionaries(
        {"merge_strategy": st.sampled_from(["first-wins", "max"])}, optional={"binding": bindings()}
    )
    return st.fixed_dictionaries(
        {"name": _autogenerated()},
        optional={
            "summary": _autogenerated(),
            "severity": severity,
            "custom_fields": st.lists(custom_field, max_size=2),
            "incident_mode": _template_binding(),
            "incident_type": _template_binding(),
            "membership_teams": _template_binding(),
            "start_in_triage": _template_binding(),
            "workspace": _template_binding(),
        },
    )


@cache
def _incident_config(subjects: tuple[str, ...]) -> st.SearchStrategy[JsonDict]:
    seconds = st.integers(min_value=0, max_value=86_400)
    return st.fixed_dictionaries(
        {
            "enabled": st.booleans(),
            "auto_decline_enabled": st.booleans(),
            "condition_groups": condition_groups(subjects, max_size=1),
            "defer_time_seconds": seconds,
            "grouping_keys": st.lists(st.builds(lambda reference: {"reference": reference}, references), max_size=2),
            "grouping_window_seconds": seconds,
        },
        optional={"auto_relate_grouped_alerts": st.booleans()},
    )


@st.composite
def route_payloads(draw: st.DrawFn, name: st.SearchStrategy[str] = names) -> JsonDict:
    """A v2 create payload over every field of the schema, which the seeded emulator accepts."""
    route_expressions = draw(expressions())
    subjects = (
        *ATTRIBUTE_SUBJECTS,
        *ALERT_FIELD_SUBJECTS,
        CATALOG_SUBJECT,
        *(f'expressions["{expression["reference"]}"]' for expression in route_expressions),
        *(f'expressions["{expression["reference"]}"].value' for expression in route_expressions),
    )
    source_ids = draw(st.lists(st.sampled_from(SOURCE_IDS), min_size=1, max_size=3, unique=True))
    alert_sources = [
        {"alert_source_id": source_id, "condition_groups": draw(condition_groups(subjects, max_size=1))}
        for source_id in source_ids
    ]
    payload: JsonDict = {
        "name": draw(name),
        "enabled": draw(st.booleans()),
        "is_private": draw(st.booleans()),
        "alert_sources": alert_sources,
        "condition_groups": draw(condition_groups(subjects)),
        "channel_config": draw(st.lists(_channel(subjects), max_size=2)),
        "escalation_config": {
            "auto_cancel_escalations": draw(st.booleans()),
            "escalation_targets": draw(st.lists(_escalation_target(), max_size=2)),
        },
        "expressions": route_expressions,
        "incident_config": draw(_incident_config(subjects)),
        "incident_template": draw(_incident_template()),
    }
    if draw(st.booleans()):
        payload["owning_team_ids"] = draw(st.lists(ulids, max_size=2, unique=True))
    if draw(st.booleans()):
        payload["message_template"] = draw(bindings())
    return payload


# Where the emulator holds what only v3 can say of a route's grouping and incident (tests/emulator/v3.py).
V3_ONLY_INCIDENT_KEYS = ("window_type", "ai_enabled", "membership_teams", "incident_template")


@st.composite
def with_v3_only_settings(draw: st.DrawFn, payload: JsonDict) -> JsonDict:
    """`payload` as an org on incident.io's new alert grouping engine may hold it once someone has set, in
    the dashboard, what only the v3 API can say: a grouping window type and AI grouping (on a route that
    groups), a summary of each group on a channel target, and (while incident creation is on) the
    incident's teams and template of v3's incident config. In the emulator's held terms
    (tests/emulator/v3.py), each present and absent, booleans both ways."""
    held: JsonDict = copy.deepcopy(payload)
    incident = held["incident_config"]
    if incident.get("grouping_keys") or incident.get("grouping_window_seconds"):
        incident.update(
            draw(
                st.fixed_dictionaries(
                    {}, optional={"window_type": st.sampled_from(["rolling", "fixed"]), "ai_enabled": st.booleans()}
                )
            )
        )
    if incident.get("enabled"):
        incident.update(
            draw(st.fixed_dictionaries({}, optional={"membership_teams": bindings(), "incident_template": bindings()}))
        )
    for channel in held.get("channel_config") or []:
        for target in (channel.get(kind) for kind in ("slack_targets", "ms_teams_targets")):
            if target is not None and draw(st.booleans()):
                target["group_alerts_summary"] = draw(st.booleans())
    return held
