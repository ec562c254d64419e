"""benchmarks/engine_benchmark.py imports what it needs from the e2e harness and the emulator (their private
parts included), and its options parse: checked with --help, which runs nothing."""

from __future__ import annotations

import pytest

from benchmarks import engine_benchmark


def test_help_names_the_options_and_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        engine_benchmark.main(["--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    for option in ("--routes", "--latency-ms", "--repeat", "--parallel", "--host-workers", "--stalling-api"):
        assert option in shown
