"""route-test.sh: offline on the stack file, --live against the emulator holding today's org, and the
before/after matrix, run in-process through ops.cli.run as the wrapper runs it (one run goes through
contrib/route-test.sh itself)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops import route_test
from ops.cli import run
from tests.commands import ROOT, run_command
from tests.conftest import CANARY_API_KEY
from tests.emulator import Emulator
from tests.emulator.seed import runbook_routes
from tests.stack_harness import PROJECT
from tests.test_routing_tests import CRITICAL_COPY, RUNBOOK_TABLE

PRODUCTION = ROOT / "Pulumi.production.yaml"
# Derived and tested alerts of each stack file (tests/test_routing_tests.py lists them).
MATRIX_ROWS = {"production": 12, "staging": 2}


def route_test_sh(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str | Path) -> Any:
    """Run the command in-process, as contrib/route-test.sh runs it: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["route-test.sh", *map(str, args)])
    with pytest.raises(SystemExit) as exited:
        run(route_test.main)
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INCIDENT_IO_TOKEN", raising=False)
    monkeypatch.setenv("INCIDENT_IO_API_URL", "http://127.0.0.1:9")  # nothing listens: any call would fail


@pytest.fixture
def live_org(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Today's org (the runbook's six routes, as the dashboard stores them), and the environment to reach it."""
    for route in runbook_routes():
        emulator.state.create_route(route)
    monkeypatch.setenv("INCIDENT_IO_TOKEN", CANARY_API_KEY)
    monkeypatch.setenv("INCIDENT_IO_API_URL", emulator.url)
    return emulator


def _stack_file(tmp_path: Path, change: Any, stack: str = "production") -> Path:
    """A copy of a stack file, changed as a pull request would change it."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    change(document["config"])
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _alert_args(source: str, attributes: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"source={source}", *(f"{name}={value}" for name, value in attributes)]


def test_the_wrapper_answers_offline_from_the_stack_file_alone() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("INCIDENT_IO_")}
    result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [
            str(ROOT / "contrib" / "route-test.sh"),
            "--stack-file",
            str(PRODUCTION),
            "source=alertmanager",
            "severity=critical",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "Production Alerts: pages engineering_on_call, slack alerts\n",
        "",
    )


@pytest.mark.parametrize(("alert", "expected"), list(RUNBOOK_TABLE["production"].items()), ids=str)
@pytest.mark.usefixtures("offline")
def test_each_runbook_row_and_its_expected_routes(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    alert: tuple[str, tuple[tuple[str, str], ...]],
    expected: tuple[tuple[str, ...], Any],
) -> None:
    routes, _ = expected
    args: list[str | Path] = ["--stack-file", PRODUCTION, *_alert_args(*alert)]
    code, out, err = route_test_sh(monkeypatch, capsys, *args, "--expect-routes", ",".join(routes))
    assert (code, err) == (0, "")
    assert [line.split(":")[0] for line in out.splitlines()] == (list(routes) or ["nowhere"])
    wrong = "Unrouted Alerts" if routes != ("Unrouted Alerts",) else "Production Alerts"
    code, _, err = route_test_sh(monkeypatch, capsys, *args, "--expect-routes", wrong)
    assert code == 1 and f"expected routes [{wrong}], got " in err


@pytest.mark.usefixtures("offline")
def test_json_says_each_route_with_its_pages_slack_and_incident(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stack_file = _stack_file(tmp_path, lambda config: config[f"{PROJECT}:routes"].append(CRITICAL_COPY))
    code, out, _ = route_test_sh(
        monkeypatch, capsys, "--stack-file", stack_file, "source=alertmanager", "severity=critical", "--json"
    )
    assert code == 0
    assert json.loads(out) == {
        "routes": [
            {
                "name": name,
                "pages": ["engineering_on_call"],
                "slack": ["alerts"],
                "incident": False,
                "certain": True,
            }
            for name in ("Production Alerts", "Critical Copy")
        ],
        "doubts": [],
    }


@pytest.mark.usefixtures("offline")
def test_an_uncertain_match_is_marked_with_its_doubt_and_fails_an_expectation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--stack-file", PRODUCTION, "source=alertmanager", "severity=Critical")
    code, out, err = route_test_sh(monkeypatch, capsys, *args, "--expect-routes", "Production Alerts")
    assert code == 1
    assert out.splitlines() == [
        "Production Alerts (possibly): pages engineering_on_call, slack alerts",
        "doubt: Production Alerts: alert_sources[0] (alertmanager): severity one_of ['critical'] holds for 'Critical' "
        "only if one_of ignores case",
    ]
    assert "expected routes [Production Alerts], which does not hold under every reading" in err


@pytest.mark.parametrize(
    ("expect", "code"),
    [
        (["--expect-routes", ""], 0),  # nowhere
        (["--expect-routes", "Database Alerts"], 1),
        (["--expect-pages", ""], 0),
        (["--expect-slack", "alerts"], 1),
    ],
)
@pytest.mark.usefixtures("offline")
def test_an_alert_that_goes_nowhere(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], expect: list[str], code: int
) -> None:
    result = route_test_sh(monkeypatch, capsys, "--stack-file", PRODUCTION, "source=planetscale", *expect)
    assert result[:2] == (code, "nowhere: no route acts on this alert\n")


@pytest.mark.usefixtures("offline")
def test_expected_routes_are_a_set_given_comma_separated_or_repeated(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stack_file = _stack_file(tmp_path, lambda config: config[f"{PROJECT}:routes"].append(CRITICAL_COPY))
    alert = ("source=alertmanager", "severity=critical")
    for expect in (
        ["--expect-routes", "Critical Copy, Production Alerts"],
        ["--expect-routes", "Production Alerts", "--expect-routes", "Critical Copy"],
    ):
        assert route_test_sh(monkeypatch, capsys, "--stack-file", stack_file, *alert, *expect)[0] == 0
    assert (
        route_test_sh(monkeypatch, capsys, "--stack-file", stack_file, *alert, "--expect-routes", "Critical Copy")[0]
        == 1
    )


def _not_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text("config: [unclosed\n")
    return path


def _bad_test(tmp_path: Path) -> Path:
    return _stack_file(
        tmp_path,
        lambda config: config[f"{PROJECT}:routingTests"].append({"alert": {"source": "x"}, "expect": {"routes": []}}),
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["source=alertmanagr"], "source: unknown source 'alertmanagr'; known: alertmanager, axiom, checkly"),
        (["source=alertmanager", "sev=critical"], "attributes.sev: unknown attribute 'sev'; known: branch, severity"),
        (["source=alertmanager", "severity"], "'severity': expected KEY=VALUE"),
        (["source=alertmanager", "severity="], "'severity=': give a value, or leave severity out"),
        (["severity=critical"], "say which alert source: source=<key of alertSources>"),
        (["source=checkly", "source=axiom"], "source is given twice"),
        ([], "say which alert: source=<key of alertSources>"),
        (["--all", "source=checkly"], "give either an alert (KEY=VALUE ...) or --all / --compare-live"),
        (["--markdown", "source=checkly"], "--markdown goes with --compare-live"),
        (["--live", "--compare-live"], "not allowed with argument"),
    ],
)
@pytest.mark.usefixtures("offline")
def test_bad_input_is_a_message_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = route_test_sh(monkeypatch, capsys, "--stack-file", PRODUCTION, *args)
    assert (code, out) == (2, "")
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("stack_file", "message"),
    [
        (lambda tmp_path: tmp_path / "Pulumi.missing.yaml", "Pulumi.missing.yaml: cannot read the stack file"),
        (_not_yaml, "Pulumi.broken.yaml: not a YAML file"),
        (lambda _: ROOT / "Pulumi.yaml", "Pulumi.yaml: not a stack file (a YAML mapping with a `config:` key)"),
        (_bad_test, "routingTests[12].alert.source: unknown source 'x'"),
    ],
    ids=["missing", "not-yaml", "not-a-stack-file", "bad-routing-test"],
)
@pytest.mark.usefixtures("offline")
def test_a_stack_file_that_cannot_be_used_is_a_message_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, stack_file: Any, message: str
) -> None:
    code, out, err = route_test_sh(monkeypatch, capsys, "--stack-file", stack_file(tmp_path), "source=checkly")
    assert (code, out) == (2, "")
    assert message in err and "Traceback" not in err


def test_bad_input_through_the_wrapper_has_no_traceback(emulator: Emulator) -> None:
    result = run_command("route-test.sh", "--stack-file", PRODUCTION, "--live", "severity", emulator=emulator)
    assert result.returncode == 2 and "error: 'severity': expected KEY=VALUE" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert emulator.state.requests == []  # refused before any call


@pytest.mark.usefixtures("offline")
def test_all_prints_the_matrix_with_the_tests_and_fails_when_a_test_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = route_test_sh(monkeypatch, capsys, "--stack-file", PRODUCTION, "--all")
    lines = out.splitlines()
    assert code == 0 and lines[-1] == "routing tests: 12 of 12 pass"
    assert "source=planetscale                     ->  nowhere" in lines  # derived: branch unset
    assert "source=alertmanager severity=info      ->  nowhere" in lines  # tested only
    assert len(lines) == 13

    stack_file = _stack_file(tmp_path, lambda config: config[f"{PROJECT}:routes"].append(CRITICAL_COPY))
    code, out, _ = route_test_sh(monkeypatch, capsys, "--stack-file", stack_file, "--all")
    assert code == 1
    assert "FAIL routingTests[0] (source=alertmanager severity=critical): expected routes [Production Alerts]" in out
    assert "warning: routing coverage (twice): an alert from alertmanager with severity=critical pages twice" in out


@pytest.mark.parametrize("stack", ["production", "staging"])
def test_live_routes_of_todays_org_answer_as_the_stack_file_does_for_every_row(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], live_org: Emulator, stack: str
) -> None:
    stack_file = ROOT / f"Pulumi.{stack}.yaml"
    declared = route_test_sh(monkeypatch, capsys, "--stack-file", stack_file, "--all", "--json")
    live = route_test_sh(monkeypatch, capsys, "--stack-file", stack_file, "--all", "--json", "--live")
    assert declared[0] == live[0] == 0
    assert json.loads(live[1]) == json.loads(declared[1])
    assert json.loads(live[1])["failures"] == []
    assert len(json.loads(live[1])["rows"]) == MATRIX_ROWS[stack]
    for alert, (routes, _) in RUNBOOK_TABLE[stack].items():
        code, out, _ = route_test_sh(
            monkeypatch, capsys, "--stack-file", stack_file, "--live", *_alert_args(*alert), "--json"
        )
        assert code == 0 and [route["name"] for route in json.loads(out)["routes"]] == list(routes)


def test_live_needs_a_key_and_reports_a_refused_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], live_org: Emulator
) -> None:
    monkeypatch.delenv("INCIDENT_IO_TOKEN")
    code, _, err = route_test_sh(monkeypatch, capsys, "--stack-file", PRODUCTION, "--live", "source=checkly")
    assert code == 2 and "INCIDENT_IO_TOKEN is not set" in err
    monkeypatch.setenv("INCIDENT_IO_TOKEN", "inc_wrong_key_0123456789")
    code, _, err = route_test_sh(monkeypatch, capsys, "--stack-file", PRODUCTION, "--live", "source=checkly")
    assert code == 1 and "401" in err and "Traceback" not in err


def test_live_names_that_do_not_match_incident_io_are_bad_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], live_org: Emulator, tmp_path: Path
) -> None:
    stack_file = _stack_file(
        tmp_path, lambda config: config[f"{PROJECT}:alertSources"].update(axiom={"name": "Axiom logs"})
    )
    code, _, err = route_test_sh(monkeypatch, capsys, "--stack-file", stack_file, "--live", "source=axiom")
    assert code == 2 and "alertSources.axiom: no alert source named 'Axiom logs' in incident.io" in err


def test_compare_live_without_a_change_says_so_under_the_stacks_marker(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], live_org: Emulator
) -> None:
    code, out, _ = route_test_sh(monkeypatch, capsys, "--stack-file", PRODUCTION, "--compare-live", "--markdown")
    lines = out.splitlines()
    assert code == 0
    assert lines[:4] == [
        "<!-- routing-matrix: production -->",
        "### Where alerts go: production",
        "",
        "**No alert changes where it goes.**",
    ]
    rows = [line for line in lines if line.startswith("|  | `source=")]
    assert len(rows) == 12 and all(row.endswith(" | unchanged |") for row in rows)
    assert "Routing tests (Pulumi.production.yaml): all 12 pass." in lines
    assert live_org.state.count("POST", "/v2/alert_routes") == 0  # read only
    assert all(method == "GET" for method, _ in live_org.state.requests)


def _pull_request(config: dict[str, Any]) -> None:
    routes = config[f"{PROJECT}:routes"]
    (database,) = [route for route in routes if route["name"] == "Database Alerts"]
    database["sources"][0]["when"][0]["values"] = ["master"]
    routes.append(CRITICAL_COPY)


def test_compare_live_puts_what_changes_first_marked_under_a_one_line_summary(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], live_org: Emulator, tmp_path: Path
) -> None:
    stack_file = _stack_file(tmp_path, _pull_request)
    code, out, _ = route_test_sh(monkeypatch, capsys, "--stack-file", stack_file, "--compare-live", "--markdown")
    lines = out.splitlines()
    assert code == 0  # for people to judge; the preview fails on the failing tests
    assert lines[3] == "**3 alerts change where they go: 1 now goes nowhere, 1 pages twice, 1 now pages.**"
    rows = [line for line in lines if line.startswith("| ") and "`source=" in line]
    assert rows[:3] == [
        "| **now goes nowhere** | `source=planetscale branch=main` | Database Alerts: pages engineering_on_call, "
        "slack alerts | *nowhere* |",
        "| **pages twice** | `source=alertmanager severity=critical` | Production Alerts: pages engineering_on_call, "
        "slack alerts | Production Alerts: pages engineering_on_call, slack alerts<br>Critical Copy: pages "
        "engineering_on_call, slack alerts |",
        "| **now pages** | `source=planetscale branch=master` | *nowhere* | Database Alerts: pages "
        "engineering_on_call, slack alerts |",
    ]
    assert all(row.startswith("|  |") and row.endswith("| unchanged |") for row in rows[3:])
    assert "Routing tests (Pulumi.production.yaml): **2 fail**:" in lines

    code, out, _ = route_test_sh(monkeypatch, capsys, "--stack-file", stack_file, "--compare-live", "--json")
    report = json.loads(out)
    assert report["summary"] == "3 alerts change where they go: 1 now goes nowhere, 1 pages twice, 1 now pages"
    assert [row["change"] for row in report["rows"][:4]] == ["nowhere", "twice", "paged", None]


def test_compare_live_as_text_says_what_the_routing_tests_and_coverage_say(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], live_org: Emulator, tmp_path: Path
) -> None:
    code, out, _ = route_test_sh(monkeypatch, capsys, "--stack-file", PRODUCTION, "--compare-live")
    assert code == 0 and out.splitlines()[-1] == "routing tests: 12 of 12 pass"

    stack_file = _stack_file(tmp_path, _pull_request)
    code, out, _ = route_test_sh(monkeypatch, capsys, "--stack-file", stack_file, "--compare-live")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("3 alerts change where they go")
    assert "routing tests: 10 of 12 pass" in lines
    assert any(
        line.startswith("FAIL routingTests[0] (source=alertmanager severity=critical): expected routes")
        for line in lines
    )
    assert any(line.startswith("warning: routing coverage (twice):") for line in lines)


def _remove_informational(config: dict[str, Any]) -> None:
    config[f"{PROJECT}:routes"] = [route for route in config[f"{PROJECT}:routes"] if route["name"] != "Informational"]
    tests = config[f"{PROJECT}:routingTests"]
    config[f"{PROJECT}:routingTests"] = [test for test in tests if test["expect"].get("routes") != ["Informational"]]


def test_compare_live_names_live_routes_the_stack_file_no_longer_declares(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], live_org: Emulator, tmp_path: Path
) -> None:
    stack_file = _stack_file(tmp_path, _remove_informational)
    code, out, _ = route_test_sh(monkeypatch, capsys, "--stack-file", stack_file, "--compare-live", "--markdown")
    assert code == 0
    assert "**2 alerts change where they go: 2 now go nowhere.**" in out
    assert (
        "does not declare (renamed, removed, or made outside Pulumi; they are in *before* only): Informational." in out
    )
    assert "- **dropped**: an alert from axiom goes nowhere." in out


@pytest.mark.usefixtures("offline")
def test_help_says_what_the_exit_codes_mean(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = route_test_sh(monkeypatch, capsys, "--help")
    text = " ".join(out.split())
    assert code == 0
    assert "Exit codes: 0 done" in text and "1 an expectation or a routing test fails, or the API failed" in text
    assert "2 bad input" in text and "for --live and --compare-live only: INCIDENT_IO_TOKEN" in text


@pytest.mark.usefixtures("offline")
def test_an_array_value_is_read_back_as_the_matrix_writes_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The matrix and the PR comment write an array attribute as `[a, b]`: pasting that back asks about an
    # array alert (one element may match), not about the text "[main, other]".
    code, out, _ = route_test_sh(
        monkeypatch, capsys, "--stack-file", PRODUCTION, "source=planetscale", "branch=[main, other]", "--json"
    )
    answer = json.loads(out)
    assert code == 0 and [route["name"] for route in answer["routes"]] == ["Database Alerts"]
    assert any("one element of an array attribute" in doubt for doubt in answer["doubts"])
    assert not any("substring" in doubt for doubt in answer["doubts"])
