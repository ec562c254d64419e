"""A local emulator of the incident.io API subset we use, shaped like moto: state, rendering,
HTTP handling and routing apart. Start one in tests with `running_emulator()`, or by hand with
`python -m tests.emulator --port 8080`."""

from tests.emulator.faults import Fault
from tests.emulator.server import Emulator, running_emulator
from tests.emulator.state import EmulatorState

__all__ = ["Emulator", "EmulatorState", "Fault", "running_emulator"]
