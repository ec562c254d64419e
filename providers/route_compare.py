"""What counts as a change to an alert route, and what does not.

incident.io answers richer than it is asked (docs/api-behaviour.md lists every way, with sources).
Rather than a special case per quirk, one comparison states what a declaration means:

- Only what the declaration says is compared. Keys it does not have (defaults the API fills in,
  bindings it echoes, fields it adds) are not changes.
- Empty values are one value: absent, null, [] and {}.
- Set-like lists (SET_LIKE) compare without regard to order; other lists compare item by item.
- A condition's operation compares through the aliases the API stores instead (OPERATION_ALIASES).
- A binding's literal that holds JSON compares as JSON (key order, whitespace and escaping aside).

Anything else the declaration says is compared by value, so a different value of a declared field
is always a change. The same rules serve `diff`, the no-op check before a write, the lost-create
lookup, adoption, and backup/restore/export.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from providers.alert_route_spec import STORED_ALIASES

# Lists whose order carries no meaning: the API may answer them in another order than they were
# sent (alert sources, channel config, escalation targets, grouping keys, expressions: see
# docs/api-behaviour.md), and conditions, condition groups and a binding's values are sets by
# their logic (all of / any of / one of).
SET_LIKE = frozenset(
    {
        "alert_sources",
        "channel_config",
        "escalation_targets",
        "grouping_keys",
        "expressions",
        "owning_team_ids",
        "custom_fields",
        "condition_groups",
        "conditions",
        "array_value",
    }
)

# An operation the API accepts, and the name it stores and answers with instead. The substitution
# depends on the subject's type (the alias is canonical on other types), so only this direction is
# an equivalence: the declared alias against the stored canonical name.
OPERATION_ALIASES = {alias: stored for aliases in STORED_ALIASES.values() for alias, stored in aliases.items()}

# Members that identify an item of a set-like list, used to pair items that differ so that a
# message names the field that changed rather than the whole item.
_IDENTITY_KEYS = ("alert_source_id", "custom_field_id", "reference", "subject")

_MISSING = object()


@dataclass(frozen=True)
class Difference:
    """One declared value that the live route does not have. `path` is like `alert_sources[0].name`."""

    path: str
    declared: Any
    live: Any


def is_empty(value: Any) -> bool:
    return value is None or value is _MISSING or value == [] or value == {}


def differences(declared: Any, live: Any) -> list[Difference]:
    """Each way the live route (payload shape) differs from what the declaration says."""
    return list(_differences(declared, live, "", None))


def same_spec(declared: Any, live: Any) -> bool:
    return next(_differences(declared, live, "", None), None) is None


def changed_fields(declared: Any, live: Any) -> list[str]:
    """Top-level fields that differ, for messages."""
    return sorted({_top_level(difference.path) for difference in differences(declared, live)})


def _top_level(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _differences(declared: Any, live: Any, path: str, key: str | None) -> Iterator[Difference]:
    if is_empty(declared):
        if not is_empty(live) and not (isinstance(declared, dict) and isinstance(live, dict)):
            yield Difference(path, None if declared is _MISSING else declared, live)
        return
    if isinstance(declared, dict):
        if not isinstance(live, dict):
            yield Difference(path, declared, None if live is _MISSING else live)
            return
        for name, value in declared.items():
            yield from _differences(value, live.get(name, _MISSING), _join(path, name), name)
        return
    if isinstance(declared, list):
        if not isinstance(live, list):
            yield Difference(path, declared, None if live is _MISSING else live)
        elif key in SET_LIKE:
            yield from _set_differences(declared, live, path)
        else:
            for index in range(max(len(declared), len(live))):
                want = declared[index] if index < len(declared) else _MISSING
                have = live[index] if index < len(live) else _MISSING
                if want is _MISSING:
                    yield Difference(_join(path, index), None, have)
                else:
                    yield from _differences(want, have, _join(path, index), key)
        return
    if not _same_scalar(declared, live, key):
        yield Difference(path, declared, None if live is _MISSING else live)


def _same_scalar(declared: Any, live: Any, key: str | None) -> bool:
    if isinstance(declared, bool) or isinstance(live, bool):
        return isinstance(declared, bool) and isinstance(live, bool) and declared == live
    if declared == live:
        return True
    if key == "operation":
        return isinstance(declared, str) and OPERATION_ALIASES.get(declared) == live
    if key == "literal" and isinstance(declared, str) and isinstance(live, str):
        return _json_or_none(declared) is not None and _json_or_none(declared) == _json_or_none(live)
    return False


def _json_or_none(text: str) -> Any:
    """The decoded value of a literal holding a JSON object or array; None for anything else."""
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


def _set_differences(declared: list[Any], live: list[Any], path: str) -> Iterator[Difference]:
    matched = _matching(declared, live, lambda want, have: same_spec(want, have))
    if len(matched) == len(declared) == len(live):
        return
    for want_index, have_index in _pair_leftovers(declared, live, matched):
        if want_index is None:
            if have_index is not None:
                yield Difference(_join(path, have_index), None, live[have_index])
        elif have_index is None:
            yield Difference(_join(path, want_index), declared[want_index], None)
        else:
            yield from _differences(declared[want_index], live[have_index], _join(path, want_index), None)


def _matching(declared: list[Any], live: list[Any], equal: Callable[[Any, Any], bool]) -> dict[int, int]:
    """A maximum matching of declared items to equal live items (augmenting paths; lists are short)."""
    candidates = [[index for index, have in enumerate(live) if equal(want, have)] for want in declared]
    owner: dict[int, int] = {}

    def assign(want_index: int, seen: set[int]) -> bool:
        for have_index in candidates[want_index]:
            if have_index in seen:
                continue
            seen.add(have_index)
            if have_index not in owner or assign(owner[have_index], seen):
                owner[have_index] = want_index
                return True
        return False

    for want_index in range(len(declared)):
        assign(want_index, set())
    return {want_index: have_index for have_index, want_index in owner.items()}


def _identity(item: Any) -> Any:
    if isinstance(item, dict):
        for key in _IDENTITY_KEYS:
            if key in item:
                return (key, json.dumps(item[key], sort_keys=True, default=str))
    return None


def _pair_leftovers(
    declared: list[Any], live: list[Any], matched: dict[int, int]
) -> list[tuple[int | None, int | None]]:
    """Unmatched declared and live items, paired by identity where they share one, else in order."""
    wants = [index for index in range(len(declared)) if index not in matched]
    haves = [index for index in range(len(live)) if index not in matched.values()]
    pairs: list[tuple[int | None, int | None]] = []
    for want_index in list(wants):
        identity = _identity(declared[want_index])
        same = [have for have in haves if identity is not None and _identity(live[have]) == identity]
        if same:
            pairs.append((want_index, same[0]))
            wants.remove(want_index)
            haves.remove(same[0])
    while wants and haves:
        pairs.append((wants.pop(0), haves.pop(0)))
    pairs += [(want_index, None) for want_index in wants]
    pairs += [(None, have_index) for have_index in haves]
    return pairs


def reconcile(live: Any, declared: Any, key: str | None = None) -> Any:
    """The live route written the way the declaration writes it.

    Where live and declared agree (by the rules above), the declared form is kept; where they
    differ, the live value is. Keys only the live route has are left out: the declaration does not
    speak about them. The result differs from the declaration exactly where the live route does,
    which is what a refreshed state should show.
    """
    if declared is _MISSING or declared is None:
        return copy.deepcopy(live)
    if same_spec(declared, live):
        return copy.deepcopy(declared)
    if isinstance(declared, dict) and isinstance(live, dict):
        return {name: reconcile(live[name], value, name) for name, value in declared.items() if name in live}
    if isinstance(declared, list) and isinstance(live, list):
        if key in SET_LIKE:
            matched = _matching(declared, live, lambda want, have: same_spec(want, have))
            pairs: list[tuple[int | None, int | None]] = [
                (want, matched[want]) for want in range(len(declared)) if want in matched
            ]
            pairs += [pair for pair in _pair_leftovers(declared, live, matched) if pair[1] is not None]
            return [
                copy.deepcopy(live[have]) if want is None else reconcile(live[have], declared[want], key)
                for want, have in pairs
                if have is not None
            ]
        return [
            reconcile(item, declared[index], key) if index < len(declared) else copy.deepcopy(item)
            for index, item in enumerate(live)
        ]
    return copy.deepcopy(live)


def canonical(value: Any, key: str | None = None) -> Any:
    """A form of a payload in which equal routes are equal values: empties dropped, set-like lists
    sorted, JSON literals decoded. For fingerprints, not for sending."""
    if isinstance(value, dict):
        result = {}
        for name, item in value.items():
            item = canonical(item, name)
            if not is_empty(item):
                result[name] = item
        return result
    if isinstance(value, list):
        items = [canonical(item, key) for item in value]
        if key in SET_LIKE:
            items.sort(key=lambda item: json.dumps(item, sort_keys=True, default=str))
        return items
    if key == "literal" and isinstance(value, str):
        decoded = _json_or_none(value)
        return value if decoded is None else {"json": decoded}
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def fingerprint(payload: dict[str, Any]) -> dict[str, str]:
    """A short digest of each top-level field of a live route: equal when the field has not changed,
    whatever order or encoding the API answered in this time."""
    shaped = canonical(payload)
    return {
        name: hashlib.sha256(json.dumps(shaped[name], sort_keys=True, default=str).encode()).hexdigest()[:16]
        for name in sorted(shaped)
    }


def fingerprint_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The top-level fields whose digests differ."""
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def changed_between(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The top-level fields that differ between two readings of a live route (payload shape)."""
    return fingerprint_changes(fingerprint(before), fingerprint(after))
