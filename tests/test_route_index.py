"""The route index (providers/route_evaluation.py `IndexedRoutes`) gives exactly what evaluating every route
gives: the same matches, possible matches, undecided routes and doubts, on generated routes and alerts that
mix every operation, case and substring, array values, references, expressions and navigated subjects."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.alert_route_spec import OPERATIONS
from providers.route_evaluation import Alert, IndexedRoutes, evaluate

JsonDict = dict[str, Any]

SOURCES = ("S1", "S2", "S3")
# Text that makes substrings and case matter: "ß" folds to "ss", "A" to "a".
TEXT = st.sampled_from(["", "a", "A", "ab", "aB", "b", "ß", "SS", "ss", "crit", "Critical", "x-1"])
ATTRIBUTES = ("alert.attributes.a", "alert.attributes.b", "alert.title")
SUBJECTS = (*ATTRIBUTES, "alert.attributes.b.owner", 'expressions["x"]')
OPERATION = st.sampled_from([*sorted(OPERATIONS), "is_blank"])


@st.composite
def bindings(draw: st.DrawFn) -> list[JsonDict]:
    item = st.one_of(
        TEXT.map(lambda text: {"literal": text}),
        st.just({"reference": "alert.attributes.a"}),
    )
    binding = st.one_of(
        st.lists(item, max_size=3).map(lambda items: {"array_value": items}),
        item.map(lambda value: {"value": value}),
    )
    return draw(st.lists(binding, max_size=2))


CONDITION = st.fixed_dictionaries(
    {"subject": st.sampled_from(SUBJECTS), "operation": OPERATION, "param_bindings": bindings()}
)
GROUPS = st.lists(st.fixed_dictionaries({"conditions": st.lists(CONDITION, max_size=3)}), max_size=2)


@st.composite
def routes(draw: st.DrawFn) -> list[JsonDict]:
    drawn = []
    for index in range(draw(st.integers(min_value=0, max_value=8))):
        route: JsonDict = {
            "name": f"Route {index}",
            "alert_sources": draw(
                st.lists(
                    st.fixed_dictionaries({"alert_source_id": st.sampled_from(SOURCES), "condition_groups": GROUPS}),
                    max_size=3,
                )
            ),
            "condition_groups": draw(GROUPS),
            "channel_config": draw(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "condition_groups": GROUPS,
                            "slack_targets": st.just({"binding": {"array_value": [{"literal": "C1"}]}}),
                        }
                    ),
                    max_size=2,
                )
            ),
            "escalation_config": {"escalation_targets": [{"escalation_paths": {"array_value": [{"literal": "P1"}]}}]},
            "incident_config": draw(st.fixed_dictionaries({"enabled": st.booleans(), "condition_groups": GROUPS})),
        }
        enabled = draw(st.sampled_from([True, False, None]))
        if enabled is not None:
            route["enabled"] = enabled
        drawn.append(route)
    return drawn


VALUE = st.one_of(TEXT, st.lists(TEXT, max_size=3).map(tuple))
ALERT = st.builds(
    Alert,
    source_id=st.sampled_from([*SOURCES, "S4"]),
    attributes=st.dictionaries(st.sampled_from(ATTRIBUTES), VALUE, max_size=3),
)
TYPES = st.dictionaries(st.sampled_from(SUBJECTS), st.sampled_from(["String", "Number", 'CatalogEntry["x"]', ""]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(routes=routes(), alerts=st.lists(ALERT, min_size=1, max_size=6), types=TYPES)
def test_the_index_evaluates_exactly_as_every_route_does(
    routes: list[JsonDict], alerts: list[Alert], types: dict[str, str]
) -> None:
    indexed = IndexedRoutes(routes)
    for alert in alerts:
        assert indexed.evaluate(alert, subject_types=types).to_json() == (
            evaluate(routes, alert, subject_types=types).to_json()
        )


def _route(name: str, source: str, values: list[str]) -> JsonDict:
    condition = {
        "subject": "alert.attributes.a",
        "operation": "one_of",
        "param_bindings": [{"array_value": [{"literal": value} for value in values]}],
    }
    return {
        "name": name,
        "alert_sources": [{"alert_source_id": source, "condition_groups": [{"conditions": [condition]}]}],
    }


def test_the_index_leaves_out_the_routes_no_reading_lets_act() -> None:
    routes = [
        _route("Critical", "S1", ["critical"]),
        _route("Warning", "S1", ["warning"]),
        _route("Other source", "S2", ["critical"]),
        _route("Crit", "S1", ["CRIT"]),  # a substring, case aside: possibly, under some readings
        {"name": "Any", "alert_sources": [{"alert_source_id": "S1"}]},
    ]
    indexed = IndexedRoutes(routes)

    assert indexed.candidates(Alert("S1", {"alert.attributes.a": "Critical"})) == [0, 3, 4]
    assert indexed.candidates(Alert("S1", {})) == [4]
    # A subject that navigates into a given value cannot be decided: every route on it stays.
    assert indexed.candidates(Alert("S1", {"alert.title": "x"})) == [4]
    assert indexed.candidates(Alert("S1", {"alert.attributes": "x"})) == [0, 1, 3, 4]
