"""scripts/pulumi-cli.sh for real: it builds the Pulumi CLI pinned in tools/pulumi/go.mod from the Go module
proxy (minutes the first time on a machine; then Go's caches and .cache/pulumi-cli make it a lookup).
Nothing here is skipped without Go: the build is what this tests, so a machine without Go fails it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "pulumi-cli.sh"


def pinned_version() -> str:
    """pkg/v3's version in tools/pulumi/go.mod: the CLI's."""
    for line in (ROOT / "tools" / "pulumi" / "go.mod").read_text().splitlines():
        words = line.split()
        if words[:1] == ["github.com/pulumi/pulumi/pkg/v3"]:
            return words[1]
    raise AssertionError("tools/pulumi/go.mod requires no github.com/pulumi/pulumi/pkg/v3")


def build(env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    result = subprocess.run(  # noqa: S603 - our own script
        [str(SCRIPT)], capture_output=True, text=True, env=env, timeout=1800, check=False
    )
    return result, time.monotonic() - start


def test_it_builds_the_pinned_cli_once_then_reuses_it(tmp_path: Path) -> None:
    first, _ = build()
    assert first.returncode == 0, first.stderr  # 127 where Go is missing: a failure here, by design
    cli_dir = Path(first.stdout.strip())
    assert first.stdout == f"{cli_dir}\n" and cli_dir.name == pinned_version()
    for name in ("pulumi", "pulumi-language-python-exec", "pulumi-resource-pulumi-python"):
        assert os.access(cli_dir / name, os.X_OK), name
    env = dict(os.environ, PULUMI_HOME=str(tmp_path / "home"), PULUMI_SKIP_UPDATE_CHECK="true")
    version = subprocess.run(  # noqa: S603 - the CLI just built
        [str(cli_dir / "pulumi"), "version"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert (version.returncode, version.stdout) == (0, f"{pinned_version()}\n"), version.stderr

    stamp = cli_dir / ".built-from"
    built_at = stamp.stat().st_mtime_ns
    second, seconds = build()
    assert second.returncode == 0, second.stderr
    assert (second.stdout, second.stderr) == (first.stdout, "")
    assert stamp.stat().st_mtime_ns == built_at and seconds < 10


def test_without_go_it_says_what_to_install(tmp_path: Path) -> None:
    result, _ = build(env=dict(os.environ, PATH="/usr/bin:/bin", PULUMI_CLI_CACHE=str(tmp_path)))
    assert result.returncode == 127 and result.stdout == ""
    assert "install Go 1.24" in result.stderr and "https://www.pulumi.com/docs/install/" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_real_language_host_beside_the_repository_is_put_beside_the_cli_and_kept_current(tmp_path: Path) -> None:
    """A build already in the cache (go.mod's stamp, every executable) and ../shared/tools/pulumi-language-python
    beside the repository: the host is copied beside the CLI, replaced when it changes, left alone otherwise."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, repo / "scripts" / SCRIPT.name)
    shutil.copytree(ROOT / "tools" / "pulumi", repo / "tools" / "pulumi")
    stamp = hashlib.sha256(b"".join((repo / "tools" / "pulumi" / name).read_bytes() for name in ("go.mod", "go.sum")))
    cache = tmp_path / "cache"
    built = cache / pinned_version()
    built.mkdir(parents=True)
    (built / ".built-from").write_text(stamp.hexdigest() + "\n")
    for name in ("pulumi", "pulumi-language-python-exec", "pulumi-resource-pulumi-python"):
        (built / name).write_text("#!/bin/sh\n")
        (built / name).chmod(0o755)
    shared = tmp_path / "shared" / "tools" / "pulumi-language-python" / "pulumi-language-python"
    shared.parent.mkdir(parents=True)
    shared.write_text("#!/bin/sh\necho the real host, first build\n")
    shared.chmod(0o555)
    # No Go on PATH: a complete build needs none.
    env = dict(os.environ, PATH="/usr/bin:/bin", PULUMI_CLI_CACHE=str(cache))

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - a copy of our own script
            [str(repo / "scripts" / SCRIPT.name)], capture_output=True, text=True, env=env, timeout=60, check=False
        )

    first = run()
    assert (first.returncode, first.stdout) == (0, f"{built}\n"), first.stderr
    host = built / "pulumi-language-python"
    assert host.read_bytes() == shared.read_bytes() and os.access(host, os.X_OK)
    assert "Copied the Python language host" in first.stderr
    again = run()
    assert (again.returncode, again.stdout, again.stderr) == (0, f"{built}\n", "")
    shared.chmod(0o755)
    shared.write_text("#!/bin/sh\necho the real host, rebuilt\n")
    changed = run()
    assert changed.returncode == 0 and host.read_bytes() == shared.read_bytes()
    assert sorted(path.name for path in built.iterdir()) == sorted(
        [
            ".built-from",
            "pulumi",
            "pulumi-language-python",
            "pulumi-language-python-exec",
            "pulumi-resource-pulumi-python",
        ]
    ), "no temporary file left behind"
