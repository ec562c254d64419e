"""The stack config's names resolved against what incident.io has (a Directory, listed once per run).

Every name must match exactly one object. A name that matches none or several stops the program
before any resource is registered, with every such problem listed, each naming the config key, the
name and the candidates.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from components.settings import ConfigProblemsError, Lookup, NameTables, Reference, ReferenceDecl, RouteVocabulary
from providers.directory import Directory

JsonDict = dict[str, Any]
ATTRIBUTE_SUBJECT = "alert.attributes."
_SHOWN_CANDIDATES = 12


class NameResolutionError(ConfigProblemsError):
    """Names in the stack config that do not resolve; the message lists each one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("names in the stack config do not match incident.io", problems)


@dataclass(frozen=True)
class Resolved:
    vocabulary: RouteVocabulary
    # logical source name -> the alert source as the API answered (token included)
    sources: dict[str, JsonDict]

    @property
    def source_ids(self) -> dict[str, str]:
        return {key: str(source["id"]) for key, source in self.sources.items()}


@dataclass(frozen=True)
class Needed:
    """Which kinds a stack config names, so that only those are listed."""

    sources: bool
    attributes: bool
    escalation_paths: bool


def needed(tables: NameTables) -> Needed:
    return Needed(
        sources=bool(tables.alert_sources),
        attributes=any(reference.subject is None for reference in tables.references.values()),
        escalation_paths=bool(tables.escalation_paths),
    )


def _candidates(wanted: str | None, names: Sequence[str]) -> str:
    if not names:
        return "there are none"
    close = difflib.get_close_matches(wanted or "", names, n=3, cutoff=0.6)
    ordered = close + sorted(name for name in set(names) if name not in close)
    shown = ", ".join(repr(name) for name in ordered[:_SHOWN_CANDIDATES])
    more = f" and {len(ordered) - _SHOWN_CANDIDATES} more" if len(ordered) > _SHOWN_CANDIDATES else ""
    return f"candidates: {shown}{more}"


def match_one(where: str, kind: str, lookup: Lookup, items: list[JsonDict]) -> tuple[JsonDict | None, str | None]:
    """The one item with this lookup's id and/or name, or a problem naming the candidates."""
    matches = items
    if lookup.id is not None:
        matches = [item for item in matches if item.get("id") == lookup.id]
    if lookup.name is not None:
        matches = [item for item in matches if item.get("name") == lookup.name]
    if len(matches) == 1:
        return matches[0], None
    described = " and ".join(
        part
        for part in (f"named {lookup.name!r}" if lookup.name else "", f"with id {lookup.id}" if lookup.id else "")
        if part
    )
    if not matches:
        names = [str(item.get("name")) for item in items]
        return None, f"{where}: no {kind} {described} in incident.io; {_candidates(lookup.name, names)}"
    ids = ", ".join(str(item.get("id")) for item in matches)
    return None, f"{where}: {len(matches)} {kind}s {described} ({ids}); add `id:` to say which one"


def _reference(
    where: str, declared: ReferenceDecl, attributes: list[JsonDict] | None
) -> tuple[Reference | None, str | None]:
    if declared.subject is not None:
        attribute_id = declared.subject.removeprefix(ATTRIBUTE_SUBJECT)
        known = [item for item in attributes or [] if item.get("id") == attribute_id]
        return Reference(declared.subject, str(known[0].get("type", "")) if known else ""), None
    found, problem = match_one(where, "alert attribute", Lookup(declared.attribute, declared.id), attributes or [])
    if found is None:
        return None, problem
    return Reference(f"{ATTRIBUTE_SUBJECT}{found['id']}", str(found.get("type", ""))), None


def _each(
    table: dict[str, Any], resolve_one: Callable[[str, Any], tuple[Any, str | None]], problems: list[str]
) -> dict[str, Any]:
    """Every entry of a config table resolved, or its problem added to `problems`."""
    resolved = {}
    for key, declared in table.items():
        found, problem = resolve_one(key, declared)
        if found is not None:
            resolved[key] = found
        if problem:
            problems.append(problem)
    return resolved


def resolve(tables: NameTables, directory: Directory) -> Resolved:
    problems: list[str] = []
    sources = _each(
        tables.alert_sources,
        lambda key, lookup: match_one(f"alertSources.{key}", "alert source", lookup, directory.sources or []),
        problems,
    )
    references = _each(
        tables.references,
        lambda key, declared: _reference(f"references.{key}", declared, directory.attributes),
        problems,
    )
    paths = _each(
        tables.escalation_paths,
        lambda key, lookup: match_one(
            f"escalationPaths.{key}", "escalation path", lookup, directory.escalation_paths or []
        ),
        problems,
    )
    if problems:
        raise NameResolutionError(problems)
    vocabulary = RouteVocabulary(
        references, {key: str(path["id"]) for key, path in paths.items()}, dict(tables.slack_channels)
    )
    return Resolved(vocabulary, sources)
