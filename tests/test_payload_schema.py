"""The provider validates specs against a committed schema; it must stay the SDK's create payload."""

from __future__ import annotations

import incident_io.models as sdk

from providers.alert_route_spec import from_live, payload_schema
from providers.route_compare import same_spec
from tests import sdk_oracle
from tests.conftest import route_spec
from tests.emulator import Emulator


def test_committed_schema_is_the_sdk_create_payload() -> None:
    assert payload_schema() == sdk_oracle.payload_schema(), (
        "providers/schemas/alert_route_payload_v2.json is out of date with the incident-io SDK; regenerate it "
        "with `python -m tests.sdk_oracle > providers/schemas/alert_route_payload_v2.json`"
    )


def test_sample_spec_is_a_valid_create_payload() -> None:
    assert sdk_oracle.shape_errors(sdk.AlertRoutesCreatePayloadV2, route_spec()) == []


def test_projection_of_a_rich_answer_is_a_valid_payload(emulator: Emulator) -> None:
    stored = emulator.state.create_route(route_spec())
    answer = emulator.state.render_route(stored)
    assert "label" in str(answer["alert_sources"][0]["condition_groups"][0]["conditions"][0]["subject"])
    projected = from_live(answer)
    assert sdk_oracle.shape_errors(sdk.AlertRoutesCreatePayloadV2, projected) == []
    assert same_spec(route_spec(), projected)
