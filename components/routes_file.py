"""A stack's routes file, `routes/<stack>.yaml`: its routes and routing tests, outside the stack config.

Pulumi hands a program its whole stack config in one environment variable (PULUMI_CONFIG), and Linux
refuses an environment string over 128 KiB, so a stack config holding many routes stops running at all
(about 680 generated routes; docs/benchmark.md). The routes file holds the keys that grow with the
routes, `routes`, `routingTests` and `routingCoverage`, in exactly the stack config's schema and names,
at its top level (no `<project>:` prefix). The program reads it from the project directory; the stack
file keeps every other key. Each key lives in one place: the stack file or the routes file, not both.

One loader serves the program, the ownership check (components/ownership.py reads the other stacks'
routes) and the operations commands, and it keeps each value's line, so that a problem in the file is
reported as `routes/production.yaml:42: routes[3] (Name).sources[0].source: ...`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

PROJECT_DIR = Path(__file__).resolve().parents[1]
ROUTES_DIR = "routes"
# The stack-config keys a routes file may hold: the ones that grow with the number of routes.
ROUTES_FILE_KEYS = ("routes", "routingTests", "routingCoverage")

Parts = tuple[str | int, ...]


class RoutesFileError(ValueError):
    """A routes file that cannot be read; the message names the file (and the line, where there is one)."""


def routes_file_name(stack: str) -> str:
    """The routes file of a stack, as messages name it: relative to the project directory."""
    return f"{ROUTES_DIR}/{stack}.yaml"


def stack_file_name(stack: str) -> str:
    return f"Pulumi.{stack}.yaml"


@dataclass(frozen=True)
class RoutesFile:
    """The keys a routes file declares (plain values) and the line of each value in it."""

    name: str
    values: dict[str, Any]
    lines: Mapping[Parts, int] = field(default_factory=dict)

    def locate(self, parts: Parts) -> str | None:
        """`routes/production.yaml:42` for the value at `parts` (or the nearest enclosing one that has a
        line); None for a key this file does not declare."""
        if not parts or parts[0] not in self.values:
            return None
        for end in range(len(parts), 0, -1):
            line = self.lines.get(parts[:end])
            if line is not None:
                return f"{self.name}:{line}"
        return self.name


def _yaml() -> YAML:
    return YAML(typ="rt")


def _plain(node: Any) -> Any:
    """Round-trip nodes as the values Pulumi would hand the program from a stack file: dicts, lists, JSON
    scalars (a date YAML resolves is the text it was written as)."""
    if isinstance(node, Mapping):
        return {str(key): _plain(item) for key, item in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, datetime.date):
        return node.isoformat()
    return str(node)


def _record_lines(node: Any, parts: Parts, into: dict[Parts, int]) -> None:
    """The 1-based line of every key and list item under `node`."""
    if isinstance(node, CommentedMap):
        for key, item in node.items():
            position = node.lc.data.get(key)
            if position is not None:
                into[(*parts, str(key))] = position[0] + 1
            _record_lines(item, (*parts, str(key)), into)
    elif isinstance(node, CommentedSeq):
        for index, item in enumerate(node):
            position = node.lc.data.get(index)
            if position is not None:
                into[(*parts, index)] = position[0] + 1
            _record_lines(item, (*parts, index), into)


def parse_routes_file(name: str, text: str) -> RoutesFile:
    """A routes file's text, checked for what only the file itself can say (YAML, a mapping, known keys)."""
    try:
        document = _yaml().load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise RoutesFileError(f"{where}: not valid YAML ({error.problem or error.context})") from None
    except YAMLError as error:
        raise RoutesFileError(f"{name}: not valid YAML ({error})") from None
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise RoutesFileError(f"{name}: must be a mapping with the keys {', '.join(ROUTES_FILE_KEYS)}")
    unknown = [str(key) for key in document if key not in ROUTES_FILE_KEYS]
    if unknown:
        problems = "; ".join(
            f"{name}:{document.lc.key(key)[0] + 1}: {key!r} is not a routes-file key (the routes file holds "
            f"{', '.join(ROUTES_FILE_KEYS)}; every other key stays in the stack file)"
            for key in unknown
        )
        raise RoutesFileError(problems)
    lines: dict[Parts, int] = {}
    _record_lines(document, (), lines)
    return RoutesFile(name, {str(key): _plain(value) for key, value in document.items()}, lines)


def read_routes_file(stack: str, project_dir: Path = PROJECT_DIR) -> RoutesFile | None:
    """The stack's routes file, or None when it has none (its routes are in the stack file)."""
    path = project_dir / routes_file_name(stack)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise RoutesFileError(f"{routes_file_name(stack)}: cannot be read ({error.strerror})") from None
    return parse_routes_file(routes_file_name(stack), text)


@dataclass(frozen=True)
class StackRoutesConfig:
    """A stack's config with its routes file's keys in it, and where each of those keys came from."""

    values: dict[str, Any]
    routes_file: RoutesFile | None = None

    def locate(self, parts: Parts) -> str | None:
        return self.routes_file.locate(parts) if self.routes_file else None

    def file_of(self, key: str, stack: str) -> str:
        """The file that declares `key` (routes, routingTests...) for this stack."""
        if self.routes_file is not None and key in self.routes_file.values:
            return self.routes_file.name
        return stack_file_name(stack)


def with_routes_file(stack: str, config: dict[str, Any], routes_file: RoutesFile | None) -> StackRoutesConfig:
    """The stack config (keys without the project prefix) with the routes file's keys added. A key that
    both declare is refused: which of the two would be meant is not for the program to guess."""
    if routes_file is None:
        return StackRoutesConfig(dict(config))
    twice = [key for key in ROUTES_FILE_KEYS if key in routes_file.values and key in config]
    if twice:
        raise RoutesFileError(
            "; ".join(
                f"{routes_file.locate((key,))}: {key} is declared here and in {stack_file_name(stack)} too; keep one "
                f"(contrib/move-routes-out.sh --stack {stack} moves them out of the stack file)"
                for key in twice
            )
        )
    return StackRoutesConfig({**config, **routes_file.values}, routes_file)
