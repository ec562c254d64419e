"""A local emulator of the incident.io API subset we use, shaped like moto: state, rendering,
HTTP handling and routing apart. Start one in tests with `running_emulator()`, or by hand with
`python -m tests.emulator --port 8080`."""

try:
    import incident_io  # noqa: F401 - only to tell what is missing before anything else fails
except ModuleNotFoundError:
    raise SystemExit(
        "the emulator checks every request and answer against incident.io's official SDK (`incident-io` on "
        "PyPI), a development requirement: run ./scripts/test.sh once, or .venv/bin/pip install -r "
        "requirements-dev.txt"
    ) from None

from tests.emulator.faults import Fault
from tests.emulator.server import Emulator, running_emulator
from tests.emulator.state import EmulatorState

__all__ = ["Emulator", "EmulatorState", "Fault", "running_emulator"]
