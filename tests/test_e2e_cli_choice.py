"""Which Pulumi CLI the end-to-end tests run: the one $E2E_PULUMI_CLI names (the checks workflow installs the
released CLI and names it), else the one scripts/pulumi-cli.sh builds; and which Python language host it has."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import harness


@pytest.fixture
def fresh_lookup() -> Iterator[None]:
    """pulumi_cli_dir() is looked up once per session: start and end this test without that answer."""
    harness.pulumi_cli_dir.cache_clear()
    yield
    harness.pulumi_cli_dir.cache_clear()


def fake_cli(directory: Path, *, with_host: bool) -> Path:
    directory.mkdir(parents=True)
    names = ["pulumi", *(["pulumi-language-python"] if with_host else [])]
    for name in names:
        (directory / name).write_text("#!/bin/sh\n")
        (directory / name).chmod(0o755)
    return directory / "pulumi"


@pytest.mark.usefixtures("fresh_lookup")
def test_e2e_pulumi_cli_names_the_cli_by_path_or_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installed = fake_cli(tmp_path / "installed" / "bin", with_host=True)
    # A link to it on PATH, as installers make: the CLI's own directory is where its plugins are.
    (tmp_path / "on-path").mkdir()
    (tmp_path / "on-path" / "pulumi").symlink_to(installed)
    monkeypatch.setenv("PATH", f"{tmp_path / 'on-path'}:/usr/bin:/bin")
    monkeypatch.setenv(harness.CLI_ENV, "pulumi")
    assert harness.pulumi_cli_dir() == installed.parent
    harness.pulumi_cli_dir.cache_clear()
    monkeypatch.setenv(harness.CLI_ENV, str(installed))
    assert harness.pulumi_cli_dir() == installed.parent
    harness.pulumi_cli_dir.cache_clear()
    monkeypatch.setenv(harness.CLI_ENV, str(tmp_path / "nowhere" / "pulumi"))
    with pytest.raises(harness.CliUnavailableError, match="E2E_PULUMI_CLI="):
        harness.pulumi_cli_dir()


def test_the_language_host_is_the_real_one_where_it_is_beside_the_cli(tmp_path: Path) -> None:
    real = fake_cli(tmp_path / "with-host", with_host=True).parent
    bare = fake_cli(tmp_path / "without-host", with_host=False).parent
    assert harness.language_host(real).startswith("the real one")
    assert harness.language_host(bare).startswith("the stand-in")
    # Where the stand-in runs, it comes first on PATH, alone: the stand-in plugins are never found on PATH.
    environment = harness.cli_environment(
        cli_dir=bare,
        home=tmp_path / "home",
        backend=tmp_path / "state",
        log=tmp_path / "log",
        path_first=harness.stand_in_host_dir(tmp_path / "workspace"),
    )
    first = Path(environment["PATH"].split(":")[0])
    assert sorted(path.name for path in first.iterdir()) == ["pulumi-language-python"]
