"""Stack files as YAML: read, and written the way the committed stack files write them.

ruamel.yaml's round trip keeps a stack file's comments, key order, quoting and one-line entries when
keys are updated in place; values it has to write anew get the files' style (name entries, conditions
and condition values on one line, everything else as blocks).
"""

from __future__ import annotations

import difflib
import io
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from components.routes_file import RoutesFileError, StackRoutesConfig, read_routes_file, with_routes_file
from ops.cli import InputError, OperationError

JsonDict = dict[str, Any]
# The config keys whose values are tables of name -> entry (written one entry per line).
TABLE_KEYS = ("alertSources", "references", "escalationPaths", "slackChannels")


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 120
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load(path: Path) -> tuple[str, CommentedMap]:
    """The stack file's text and its document, which must be a mapping with a `config:` key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"{path}: cannot read the stack file ({error.strerror})") from None
    try:
        document = _yaml().load(text)
    except YAMLError as error:
        raise InputError(f"{path}: not a YAML file ({error})") from None
    if not isinstance(document, CommentedMap) or not isinstance(document.get("config"), CommentedMap):
        raise InputError(f"{path}: not a stack file (a YAML mapping with a `config:` key)")
    return text, document


def read_config(path: Path, project: str) -> JsonDict:
    """The stack's own config keys (without the `<project>:` prefix), as plain values."""
    _, document = _load(path)
    config = document["config"]
    prefix = f"{project}:"
    return {key.removeprefix(prefix): plain(value) for key, value in config.items() if key.startswith(prefix)}


def read_stack(path: Path, project: str) -> StackRoutesConfig:
    """The stack's config from its stack file and, when the stack has one, its routes file (routes/<stack>.yaml
    in the stack file's directory), as the program reads them."""
    config = read_config(path, project)
    match = re.fullmatch(r"Pulumi\.(.+)\.ya?ml", path.name)
    if match is None:
        return StackRoutesConfig(config)
    try:
        return with_routes_file(match.group(1), config, read_routes_file(match.group(1), path.parent))
    except RoutesFileError as error:
        raise InputError(str(error)) from None


def plain(value: Any) -> Any:
    """Round-trip nodes as ordinary dicts, lists and scalars."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def styled(value: Any, kind: str | None = None) -> Any:
    """A new node in the stack files' style. `kind`: what `value` is within a stack file ("table",
    "entry", "conditions", "condition", "values"), None for anything else."""
    if isinstance(value, dict):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = styled(item, _child_kind(kind, key))
        if kind in ("entry", "condition"):
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        seq = CommentedSeq(styled(item, _item_kind(kind)) for item in value)
        if kind == "values":
            seq.fa.set_flow_style()
        return seq
    return value


def _child_kind(kind: str | None, key: str) -> str | None:
    if kind == "table":
        return "entry"
    if key == "when":
        return "conditions"
    if key == "values":
        return "values"
    return None


def _item_kind(kind: str | None) -> str | None:
    return "condition" if kind == "conditions" else None


def _merged(node: Any, value: Any, kind: str | None) -> Any:
    """`node` changed as little as it takes to hold `value`: what is equal keeps its comments and style."""
    if plain(node) == value:
        return node
    if isinstance(node, CommentedMap) and isinstance(value, dict):
        for key in [key for key in node if key not in value]:
            del node[key]
        for key, item in value.items():
            child = _child_kind(kind, key)
            node[key] = _merged(node[key], item, child) if key in node else styled(item, child)
        return node
    if isinstance(node, CommentedSeq) and isinstance(value, list):
        items = [
            _merged(node[index], item, _item_kind(kind)) if index < len(node) else styled(item, _item_kind(kind))
            for index, item in enumerate(value)
        ]
        del node[len(value) :]
        for index, item in enumerate(items):
            if index < len(node):
                node[index] = item
            else:
                node.append(item)
        return node
    return styled(value, kind)


def _kind_of(key: str) -> str | None:
    return "table" if key in TABLE_KEYS else None


def _config_node(config: JsonDict, project: str, comments: Mapping[tuple[str, str], str]) -> CommentedMap:
    node = CommentedMap()
    for key, value in config.items():
        node[f"{project}:{key}"] = styled(value, _kind_of(key))
    _comment(node, project, comments)
    return node


def _comment(section: CommentedMap, project: str, comments: Mapping[tuple[str, str], str]) -> None:
    for (key, name), text in comments.items():
        table = section.get(f"{project}:{key}")
        if isinstance(table, CommentedMap) and name in table:
            table.yaml_add_eol_comment(text, name)


def _dump(document: Any) -> str:
    buffer = io.StringIO()
    _yaml().dump(document, buffer)
    return buffer.getvalue()


def render(config: JsonDict, project: str, header: list[str], comments: Mapping[tuple[str, str], str]) -> str:
    """A stack-config fragment (`config:` with these keys), after a comment header."""
    lines = "".join(f"# {line}\n" for line in header)
    return lines + _dump(CommentedMap([("config", _config_node(config, project, comments))]))


def _set(section: CommentedMap, values: JsonDict, prefix: str) -> None:
    """Each key set to its value, changing as little of what is there as it takes."""
    for key, value in values.items():
        full = f"{prefix}{key}"
        if full in section:
            section[full] = _merged(section[full], value, _kind_of(key))
        else:
            section[full] = styled(value, _kind_of(key))


def updated(path: Path, project: str, config: JsonDict, comments: Mapping[tuple[str, str], str]) -> tuple[str, str]:
    """The stack file's text, and its text with these config keys set, everything else as it was."""
    text, document = _load(path)
    section = document["config"]
    _set(section, config, f"{project}:")
    _comment(section, project, comments)
    return text, _dump(document)


def updated_routes_file(path: Path, values: JsonDict) -> tuple[str, str]:
    """A routes file's text (components/routes_file.py: its keys unprefixed, at the top), and its text with
    these keys set, everything else as it was."""
    try:
        text = path.read_text(encoding="utf-8")
        document = _yaml().load(text)
    except OSError as error:
        raise InputError(f"{path}: cannot read the routes file ({error.strerror})") from None
    except YAMLError as error:
        raise InputError(f"{path}: not a YAML file ({error})") from None
    if not isinstance(document, CommentedMap):
        raise InputError(f"{path}: not a routes file (a YAML mapping with the key `routes`)")
    _set(document, values, "")
    return text, _dump(document)


def unified_diff(before: str, after: str, path: Path) -> str:
    return "".join(
        difflib.unified_diff(before.splitlines(True), after.splitlines(True), fromfile=str(path), tofile=str(path))
    )


def write(path: Path, text: str) -> None:
    """Replace the file in one step: a failure leaves the old file as it was."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.absolute().parent)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))
        os.replace(temporary, path)
    except OSError as error:
        raise OperationError(f"{path}: cannot write the stack file ({error.strerror}); it is unchanged") from None
