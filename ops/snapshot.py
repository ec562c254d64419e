"""A backup of the org's alert routes and sources on disk, and how it is taken.

Layout (every file JSON with sorted keys, so that a committed backup diffs line by line):

    DIR/index.json                 format marker, and id/name/version of every object
    DIR/alert_routes/<id>.json     a route as the detail endpoint returns it (current version)
    DIR/alert_routes_v3/<id>.json  in an org on incident.io's new alert grouping engine only: the same route
                                   as the v3 detail endpoint returns it, which alone holds the settings
                                   v2 cannot say (a fixed grouping window, summary messages)
    DIR/alert_sources/<id>.json    a source, with its credentials redacted

A backup is written to a temporary sibling directory and swapped into place only when complete, so
a failed run leaves the previous backup as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.cli import InputError, OperationError, Progress
from providers.api import IncidentIoApi, JsonDict
from providers.http import REDACTED, Redactor

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "backups" / "incident.io"
FORMAT = "unkey-alert-routing/incident-io-backup/v1"
INDEX = "index.json"
ROUTES = "alert_routes"
ROUTES_V3 = "alert_routes_v3"
SOURCES = "alert_sources"
OWN_ENTRIES = frozenset({INDEX, ROUTES, ROUTES_V3, SOURCES})
_NOUNS = {ROUTES: "alert route", ROUTES_V3: "alert route (its v3 answer)", SOURCES: "alert source"}

# Field names that hold credentials, whatever object they appear in.
_SECRET_NAME = re.compile(r"secret|token|password|passphrase|api_?key|private_?key|credential", re.IGNORECASE)
# Not named like secrets, but whoever knows them can send alerts into the source.
_CAPABILITY_FIELDS = frozenset({"email_address", "ping_url"})
_SAFE_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


@dataclass(frozen=True)
class Snapshot:
    routes: list[JsonDict]
    sources: list[JsonDict]
    # Route id -> the route's v3 answer; None for a backup of an org not on the new grouping engine (or one
    # taken before backups held them), which does not know the settings only v3 can say.
    routes_v3: dict[str, JsonDict] | None = None


def add_directory_argument(parser: argparse.ArgumentParser, purpose: str) -> None:
    parser.add_argument(
        "directory",
        nargs="?",
        type=Path,
        default=DEFAULT_DIR,
        metavar="DIR",
        help=f"{purpose} (default: backups/incident.io/ in the repository)",
    )


def redacted(value: Any, redactor: Redactor, key: str = "") -> Any:
    """A copy with credential fields replaced by a marker, and known secret strings removed anywhere."""
    if isinstance(value, dict):
        return {name: redacted(item, redactor, name) for name, item in value.items()}
    if isinstance(value, list):
        return [redacted(item, redactor) for item in value]
    if isinstance(value, str):
        if value and (_SECRET_NAME.search(key) or key in _CAPABILITY_FIELDS):
            return REDACTED
        return redactor(value)
    return value


def take(api: IncidentIoApi, progress: Progress) -> Snapshot:
    """Every route (all pages, each from the detail endpoint) and every source, redacted."""
    listed = list(api.list_routes())
    routes: list[JsonDict] = []
    routes_v3: dict[str, JsonDict] | None = {} if api.migrated() else None
    for index, entry in enumerate(listed, 1):
        progress.step("route", index, len(listed), str(entry.get("name") or entry["id"]))
        route = api.find_route(entry["id"])
        route_v3 = api.find_route_v3(entry["id"]) if routes_v3 is not None and route is not None else None
        if route is None or (routes_v3 is not None and route_v3 is None):
            progress.say(f"  route {entry['id']} was deleted while the backup ran; it is not in the backup")
            continue
        routes.append(route)
        if routes_v3 is not None and route_v3 is not None:
            routes_v3[str(route["id"])] = route_v3
    progress.say("alert sources")
    sources = list(api.list_sources())
    # The API key and every source token are known to the redactor once the sources are listed.
    redactor = api.client.redact
    return Snapshot(
        routes=[redacted(route, redactor) for route in routes],
        sources=[redacted(source, redactor) for source in sources],
        routes_v3=None if routes_v3 is None else {id_: redacted(route, redactor) for id_, route in routes_v3.items()},
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _file_name(kind: str, object_: JsonDict) -> str:
    id_ = str(object_.get("id", ""))
    if not _SAFE_ID.match(id_):
        raise OperationError(f"{kind}: the id {id_!r} cannot be a file name; expected letters, digits, - or _")
    return f"{kind}/{id_}.json"


def _index(snapshot: Snapshot) -> JsonDict:
    index: JsonDict = {
        "format": FORMAT,
        ROUTES: [
            {
                "id": route["id"],
                "name": route.get("name"),
                "enabled": route.get("enabled"),
                "version": route.get("version"),
                "file": _file_name(ROUTES, route),
            }
            for route in sorted(snapshot.routes, key=lambda item: str(item["id"]))
        ],
        SOURCES: [
            {
                "id": source["id"],
                "name": source.get("name"),
                "source_type": source.get("source_type"),
                "file": _file_name(SOURCES, source),
            }
            for source in sorted(snapshot.sources, key=lambda item: str(item["id"]))
        ],
    }
    if snapshot.routes_v3 is not None:
        index[ROUTES_V3] = [
            {"id": id_, "file": _file_name(ROUTES_V3, route)} for id_, route in sorted(snapshot.routes_v3.items())
        ]
    return index


def check_replaceable(directory: Path) -> None:
    """Only a backup this tool wrote (or an empty directory) may be replaced: never someone's files."""
    if not directory.exists():
        return
    if not directory.is_dir():
        raise InputError(f"{directory} exists and is not a directory; choose another backup directory")
    entries = {entry.name for entry in directory.iterdir()}
    if not entries:
        return
    foreign = sorted(entries - OWN_ENTRIES)
    if foreign or INDEX not in entries:
        shown = ", ".join(foreign[:5]) or f"no {INDEX}"
        raise InputError(
            f"{directory} holds files this tool did not write ({shown}); refusing to replace it. "
            "Choose an empty or new directory, or move those files away."
        )
    _read_index(directory)


def check_writable(directory: Path) -> None:
    """DIR may be replaced, and its parent exists or can be made."""
    check_replaceable(directory)
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"{directory}: cannot create the backup directory here ({error.strerror})") from None
    if not os.access(directory.parent, os.W_OK):
        raise InputError(f"{directory}: {directory.parent} is not writable; choose another directory")


def _write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def write(snapshot: Snapshot, directory: Path) -> None:
    """Write the backup beside `directory`, then swap it in. On any failure `directory` is untouched."""
    directory = directory.absolute()
    check_writable(directory)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{directory.name}-", dir=directory.parent))
    except OSError as error:
        raise OperationError(f"{directory}: cannot write the backup ({error.strerror}); nothing was changed") from None
    try:
        index = _index(snapshot)
        routes_v3 = list((snapshot.routes_v3 or {}).values())
        for kind, objects in ((ROUTES, snapshot.routes), (ROUTES_V3, routes_v3), (SOURCES, snapshot.sources)):
            for object_ in objects:
                _write_file(staging / _file_name(kind, object_), _dumps(object_))
        _write_file(staging / INDEX, _dumps(index))
        _swap_in(staging, directory)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise OperationError(
            f"{directory}: writing the backup failed ({error.strerror}); the previous backup is unchanged"
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_in(staging: Path, directory: Path) -> None:
    if not directory.exists():
        staging.rename(directory)
        return
    retired = directory.parent / f".old-{directory.name}-{secrets.token_hex(4)}"
    directory.rename(retired)
    try:
        staging.rename(directory)
    except BaseException:
        retired.rename(directory)
        raise
    shutil.rmtree(retired)


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: missing; the backup is incomplete") from None
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not readable JSON ({error})") from None


def _read_index(directory: Path) -> JsonDict:
    path = directory / INDEX
    if not path.exists():
        raise InputError(f"{directory}: no {INDEX}; this is not a backup made by backup-incident-io.sh")
    index = _load(path)
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise InputError(f"{path}: not a backup index of format {FORMAT!r}")
    return index


def read(directory: Path) -> Snapshot:
    index = _read_index(directory)
    loaded: dict[str, list[JsonDict]] = {ROUTES: [], ROUTES_V3: [], SOURCES: []}
    for kind, objects in loaded.items():
        for entry in index.get(kind) or []:
            # The path comes from the id, not the index's `file`, so an edited index cannot point elsewhere.
            path = directory / _file_name(kind, entry)
            object_ = _load(path)
            if not isinstance(object_, dict) or object_.get("id") != entry.get("id"):
                raise InputError(f"{path}: does not hold the {_NOUNS[kind]} {entry.get('id')}")
            objects.append(object_)
    routes_v3 = {str(route["id"]): route for route in loaded[ROUTES_V3]} if ROUTES_V3 in index else None
    return Snapshot(routes=loaded[ROUTES], sources=loaded[SOURCES], routes_v3=routes_v3)
