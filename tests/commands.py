"""The contrib/ commands, run as a user runs them, against an emulator."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import CANARY_API_KEY
from tests.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent


def run_command(
    name: str,
    *args: str | Path,
    emulator: Emulator,
    stdin: str = "",
    api_key: str = CANARY_API_KEY,
    api_url: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run contrib/<name> as a user would, pointed at the emulator (or at `api_url`)."""
    env = {**os.environ, "INCIDENT_IO_TOKEN": api_key, "INCIDENT_IO_API_URL": api_url or emulator.url}
    return subprocess.run(  # noqa: S603 - our own scripts, fixed arguments
        [str(ROOT / "contrib" / name), *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
