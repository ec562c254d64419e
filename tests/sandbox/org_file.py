"""The sandbox's emulated org on disk, so that `./scripts/sandbox.sh down` then `up` finds it as it was.

The whole EmulatorState is kept (every field but its lock and request log), so what a later emulator holds is
kept without a change here. It is pickled: the file is written and read only by the sandbox's own emulator, in
the sandbox's own directory, never taken from elsewhere.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import pickle
from pathlib import Path
from typing import Any

from tests.emulator.state import EmulatorState

# Not the org: the lock is the process's; the request log grows with every request.
TRANSIENT = frozenset({"lock", "requests"})
IDS = "_ids"


def _next_id_number(state: EmulatorState) -> int:
    """The counter behind new route ids, read without using it up (count's repr is `count(N)`)."""
    return int(repr(state._ids).removeprefix("count(").removesuffix(")"))


def save(state: EmulatorState, path: Path) -> None:
    """Writes the org atomically: a reader (the next `up`) sees the previous file or this one, never half.

    The emulator's handler threads save after each write, several at once during a deploy: the org's lock is
    held until the file is in place, so that two saves never share the partial file and the last one written
    is the newest org."""
    with state.lock:
        fields: dict[str, Any] = {
            field.name: getattr(state, field.name)
            for field in dataclasses.fields(state)
            if field.name not in TRANSIENT | {IDS}
        }
        fields[IDS] = _next_id_number(state)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        partial.write_bytes(pickle.dumps(fields))
        os.replace(partial, path)


def load(path: Path) -> EmulatorState:
    fields = pickle.loads(path.read_bytes())  # written by the sandbox's own emulator (see above)
    next_id = fields.pop(IDS)
    state = EmulatorState(**fields)
    state._ids = itertools.count(next_id)
    return state
