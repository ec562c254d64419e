"""The alert sources of the org described in ../shared/reference/incident-io-alert-routing.md.

The four Alertmanager and Checkly ids are the real ones (they are in the source URLs). The document
does not give the other sources' ids; those below are made up for the emulator only.
"""

from __future__ import annotations

from tests.emulator.state import EmulatorState

SEED_SOURCES = [
    ("01KHSNW67SZJ1KGWEMA9C0GPT7", "Alertmanager (Production)", "alertmanager"),
    ("01KH7FNXWPMH6KPCQTYJJY947G", "Alertmanager (Staging)", "alertmanager"),
    ("01HZ7GE7CASMF15RWV1QFCMKTQ", "Checkly (Production)", "checkly"),
    ("01KKZJERF1HQFJRE3XWFZ0NV19", "Checkly (Staging)", "checkly"),
    ("01EMU0000000000000000SEV00", "sev0@", "email"),
    ("01EMU0000000000000000GRAFA", "Grafana Cloud", "grafana"),
    ("01EMU0000000000000000PSCAL", "PlanetScale", "http"),
    ("01EMU0000000000000000AXIOM", "Axiom", "http"),
    ("01EMU0000000000000000SPVEW", "Status Page Views", "status_page_views"),
]


def seed_sources(state: EmulatorState, *, base_url: str, token_prefix: str = "emulated-source-token") -> None:
    for id_, name, source_type in SEED_SOURCES:
        # An email source's inbound address lets anyone who knows it raise alerts, like a token.
        options = (
            {
                "email_options": {
                    "email_address": f"{token_prefix}-{id_.lower()}@alerts.example.incident.io",
                    "redactions": [],
                }
            }
            if source_type == "email"
            else None
        )
        state.add_source(
            id_=id_,
            name=name,
            source_type=source_type,
            secret_token=f"{token_prefix}-{id_.lower()}",
            base_url=base_url,
            options=options,
        )
