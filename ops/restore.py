"""restore-incident-io.sh: put the alert routes back as a backup has them, after showing every change.

Matching: a backed-up route is the live route with the same id; when that id is gone, the one live
route with the same name that is not in the backup (a route recreated by an earlier restore, so a
re-run changes nothing). Live routes the backup does not mention are listed and left alone.

In an org on incident.io's new alert grouping engine a route may hold settings the v2 API cannot say
(a fixed grouping window, summary messages; docs/api-behaviour.md, "v3 alert routes"). A backup of
such an org holds them (alert_routes_v3/), and restore puts them back through v3; a backup that does
not (an older one) leaves the live route's as they are, and writes through v3 too where the route has
any, so a restore never drops them with a v2 write.
"""

from __future__ import annotations

import argparse
import enum
import json
import sys
from dataclasses import dataclass
from typing import Any

from ops import snapshot
from ops.cli import (
    EXIT_DECLINED,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    OperationError,
    Progress,
    command_parser,
    connect,
    run,
)
from providers.alert_route_spec import from_live, normalize, validation_errors
from providers.alert_route_v3 import settings_said, unsayable_in_v3, v3_only_settings, v3_payload, with_v3
from providers.api import IncidentIoApi, JsonDict, LiveRoute, is_version_conflict
from providers.http import IncidentIoError, ResponseLostError
from providers.route_compare import changed_fields, differences, same_spec


class Action(enum.Enum):
    UNCHANGED = "="
    UPDATE = "~"
    RECREATE = "+"
    BLOCKED = "!"


class RestoreConflictError(OperationError):
    """A route changed in incident.io between the plan and the write; it was not overwritten."""


@dataclass
class RoutePlan:
    name: str
    backup_id: str
    spec: JsonDict
    action: Action
    live: LiveRoute | None = None
    problem: str = ""
    # The settings only v3 can say, as the backup holds them; None when the backup does not know them.
    backup_v3: JsonDict | None = None

    @property
    def live_id(self) -> str | None:
        return None if self.live is None else self.live.id

    def v3_settings(self, live: LiveRoute | None) -> JsonDict:
        """The settings only v3 can say that the restored route is to have: the backup's, or where it does
        not know them, the live route's as they are."""
        if self.backup_v3 is not None:
            return self.backup_v3
        return live.v3_settings if live is not None else {}

    def declared(self, live: LiveRoute | None) -> JsonDict:
        """The route as the restore writes it, for the one comparison."""
        route: JsonDict = with_v3(self.spec, self.v3_settings(live))
        return route

    @property
    def matched_by_name(self) -> bool:
        return self.live_id is not None and self.live_id != self.backup_id


@dataclass
class Outcome:
    plan: RoutePlan
    ok: bool
    message: str
    new_id: str | None = None


def _routes_by_name(listed: list[JsonDict], excluded_ids: set[str]) -> dict[str, list[str]]:
    by_name: dict[str, list[str]] = {}
    for entry in listed:
        if entry["id"] not in excluded_ids:
            by_name.setdefault(str(entry.get("name")), []).append(str(entry["id"]))
    return by_name


def make_plan(api: IncidentIoApi, backup: snapshot.Snapshot, progress: Progress) -> tuple[list[RoutePlan], list[str]]:
    """What restoring would do to each backed-up route, and the live routes the backup does not know."""
    listed = list(api.list_routes())
    backup_ids = {str(route["id"]) for route in backup.routes}
    successors = _routes_by_name(listed, backup_ids)
    routes = sorted(backup.routes, key=lambda route: (str(route.get("name")), str(route["id"])))
    plans: list[RoutePlan] = []
    for index, route in enumerate(routes, 1):
        progress.step("route", index, len(routes), str(route.get("name")))
        plans.append(_plan_route(api, route, successors, backup.routes_v3))
    claimed = {plan.live_id for plan in plans}
    unknown = [
        f"{entry.get('name')} ({entry['id']})"
        for entry in listed
        if entry["id"] not in backup_ids and entry["id"] not in claimed
    ]
    return plans, unknown


def _successor(api: IncidentIoApi, plan: RoutePlan, successors: dict[str, list[str]]) -> LiveRoute | None:
    """The live route that took the place of a deleted one: the only one with its name, or the one
    with its name and spec. Each is taken once, so a re-run after recreating routes that share a
    name matches each to its own copy."""
    candidates = successors.get(plan.name, [])
    if len(candidates) == 1:
        return api.read_route(candidates.pop())
    for candidate in list(candidates):
        live = api.read_route(candidate)
        if live is not None and same_spec(plan.declared(live), live.route(plan.spec)):
            candidates.remove(candidate)
            return live
    if candidates:
        plan.action = Action.BLOCKED
        plan.problem = (
            f"deleted since the backup, and {len(candidates)} live routes now carry its name "
            f"({', '.join(candidates)}), none with its spec; restore cannot tell which one replaces it. "
            "Delete or rename the extra ones, then run restore again."
        )
    return None


def _plan_route(
    api: IncidentIoApi, route: JsonDict, successors: dict[str, list[str]], routes_v3: dict[str, JsonDict] | None
) -> RoutePlan:
    name, backup_id = str(route.get("name")), str(route["id"])
    spec = normalize(from_live(route))
    backup_v3 = None if routes_v3 is None or backup_id not in routes_v3 else v3_only_settings(routes_v3[backup_id])
    plan = RoutePlan(name=name, backup_id=backup_id, spec=spec, action=Action.UNCHANGED, backup_v3=backup_v3)
    problems = validation_errors(spec)
    if problems:
        plan.action = Action.BLOCKED
        plan.problem = f"{snapshot.ROUTES}/{backup_id}.json is not a valid route: " + "; ".join(
            f"{path}: {reason}" for path, reason in problems
        )
        return plan
    plan.live = api.read_route(backup_id) or _successor(api, plan, successors)
    if plan.action is Action.BLOCKED:
        return plan
    if plan.live is None:
        plan.action = Action.RECREATE
    elif not same_spec(plan.declared(plan.live), plan.live.route(spec)):
        plan.action = Action.UPDATE
    if plan.action is not Action.UNCHANGED:
        problem = _v3_problem(api, plan, plan.live)
        if problem:
            plan.action, plan.problem = Action.BLOCKED, problem
    return plan


def _v3_problem(api: IncidentIoApi, plan: RoutePlan, live: LiveRoute | None) -> str:
    """Why the route cannot be written through v3, where it must be (it is to have, or has, settings only
    v3 can say): "" when it can, or need not."""
    settings = plan.v3_settings(live)
    if not settings and not (live is not None and live.v3_settings):
        return ""
    if not api.migrated():
        return (
            f"the backup holds settings only incident.io's v3 API can say ({'; '.join(settings_said(settings))}), "
            "and this org is not on the new alert grouping engine (GET /v3/alert_routes answered 403 "
            "api_not_yet_available)"
        )
    lost = unsayable_in_v3(plan.spec)
    if not lost:
        return ""
    return (
        f"it is to have settings only incident.io's v3 API can say "
        f"({'; '.join(settings_said(settings or (live.v3_settings if live else {})))}), so it is written "
        f"through v3, which has no field for what the backup also says: {', '.join(path for path, _ in lost)}; "
        "a v2 write would drop the former, a v3 write the latter. Change one of them in the dashboard first."
    )


def _shown(value: Any) -> str:
    return "(absent)" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def describe(plans: list[RoutePlan], unknown: list[str]) -> list[str]:
    lines: list[str] = []
    for plan in plans:
        title = f"{plan.action.value} {plan.name}"
        if plan.action is Action.BLOCKED:
            lines.append(f"{title} ({plan.backup_id}): cannot restore: {plan.problem}")
            continue
        if plan.action is Action.RECREATE:
            lines.append(
                f"{title}: deleted since the backup; will be created again with a new id (was {plan.backup_id})"
            )
            continue
        assert plan.live is not None
        where = (
            f"{plan.live_id}, matched by name; the backup had id {plan.backup_id}"
            if plan.matched_by_name
            else plan.backup_id
        )
        if plan.action is Action.UNCHANGED:
            lines.append(f"{title} ({where}): unchanged")
            continue
        lines.append(f"{title} ({where}): update, version {plan.live.version} -> {plan.live.version + 1}")
        for difference in differences(plan.declared(plan.live), plan.live.route(plan.spec)):
            lines.append(f"    {difference.path}: {_shown(difference.live)} -> {_shown(difference.declared)}")
    if unknown:
        lines.append(f"Live routes not in the backup, left alone: {', '.join(unknown)}")
    counts = {action: sum(1 for plan in plans if plan.action is action) for action in Action}
    lines.append(
        f"Plan: {counts[Action.UPDATE]} to update, {counts[Action.RECREATE]} to recreate, "
        f"{counts[Action.UNCHANGED]} unchanged, {counts[Action.BLOCKED]} cannot be restored."
    )
    return lines


def apply(api: IncidentIoApi, plan: RoutePlan) -> Outcome:
    if plan.action is Action.RECREATE:
        created = _create(api, plan)
        return Outcome(plan, True, f"created again with new id {created.id} (was {plan.backup_id})", created.id)
    assert plan.live is not None and plan.live_id is not None
    current = api.read_route(plan.live_id)
    if current is None:
        raise RestoreConflictError("deleted in incident.io after the plan was shown; run restore again")
    if same_spec(plan.declared(current), current.route(plan.spec)):
        return Outcome(plan, True, "already as in the backup")
    edited = _edited_since(plan, plan.live, current)
    if edited:
        raise RestoreConflictError(_edited_message(plan.live, current, edited))
    problem = _v3_problem(api, plan, current)
    if problem:
        raise RestoreConflictError(f"not written: {problem}")
    settings = plan.v3_settings(current)
    try:
        if settings or current.v3_settings:
            # What v2 cannot say is written too, so that a v2 write never drops it.
            updated = api.update_route_v3(plan.live_id, v3_payload(plan.spec, settings), current.version + 1)
        else:
            updated = api.update_route(plan.live_id, plan.spec, current.version + 1)
    except ResponseLostError:
        return _settled_update(api, plan)
    except IncidentIoError as error:
        if not is_version_conflict(error):
            raise
        latest = api.read_route(plan.live_id)
        if latest is not None and same_spec(plan.declared(latest), latest.route(plan.spec)):
            return Outcome(plan, True, f"restored, now version {latest.version}")
        changed = _edited_since(plan, current, latest) if latest is not None else ["(deleted)"]
        raise RestoreConflictError(_edited_message(current, latest, changed)) from None
    return Outcome(plan, True, f"restored, now version {updated['version']}")


def _settled_update(api: IncidentIoApi, plan: RoutePlan) -> Outcome:
    """After a PUT whose answer never came (after every retry): the route read again (through v3 too, in a
    migrated org) says whether it went through, rather than a failure reported for a write that may have landed."""
    assert plan.live_id is not None
    lost = "its answer never arrived"
    try:
        latest = api.read_route(plan.live_id)
    except IncidentIoError:
        return Outcome(
            plan,
            False,
            f"{lost}, and reading it again failed too: it may or may not be restored; run restore again, which "
            "changes only what still differs",
        )
    if latest is None:
        return Outcome(
            plan,
            False,
            f"{lost}, and the route read again is gone (deleted in incident.io); run restore again, which creates "
            "it again",
        )
    if same_spec(plan.declared(latest), latest.route(plan.spec)):
        return Outcome(plan, True, f"restored, now version {latest.version}; {lost}, the route read again says so")
    return Outcome(plan, False, f"{lost}, and the route read again is not restored; run restore again")


def _edited_since(plan: RoutePlan, seen: LiveRoute, current: LiveRoute) -> list[str]:
    """The fields someone changed since the route was read: none when the version did not move, or
    when a save changed nothing (that moves the version too)."""
    if seen.version == current.version:
        return []
    return changed_fields(seen.route(plan.spec), current.route(plan.spec))


def _edited_message(seen: LiveRoute, current: LiveRoute | None, changed: list[str]) -> str:
    fields = ", ".join(changed)
    now = "deleted" if current is None else f"became {current.version}"
    return (
        f"someone changed it in incident.io while the restore ran (version {seen.version} {now}; changed: "
        f"{fields or 'nothing visible'}). Their change was NOT overwritten; run restore again to review it."
    )


def _create(api: IncidentIoApi, plan: RoutePlan) -> LiveRoute:
    settings = plan.v3_settings(None)
    try:
        if settings:
            answer = api.create_route_v3(v3_payload(plan.spec, settings))
            created = api.read_route(str(answer["id"]))
            if created is None:
                raise RestoreConflictError("created, then deleted in incident.io before it could be read back")
            return created
        return LiveRoute(api.create_route(plan.spec), {}, migrated=False)
    except ResponseLostError:
        landed = api.find_route_like(plan.spec, settings)
        if landed is None:
            raise
        return landed


def _confirmed(question: str) -> bool:
    print(f"{question} Only 'yes' is accepted: ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if not answer:
        print("(no answer: standard input is closed)", file=sys.stderr)
    return answer.strip() == "yes"


def report(outcomes: list[Outcome], pending: list[tuple[RoutePlan, str]], plans: list[RoutePlan]) -> list[str]:
    """What the restore did, route by route, whatever stopped it; and what to do next."""
    done = sum(1 for outcome in outcomes if outcome.ok)
    lines = [f"Restored {done} of {len(outcomes) + len(pending)} routes."]
    for outcome in outcomes:
        status = "ok    " if outcome.ok else "FAILED"
        lines.append(
            f"  {status} {outcome.plan.name} ({outcome.new_id or outcome.plan.live_id or outcome.plan.backup_id}): "
            f"{outcome.message}"
        )
    for plan, why in pending:
        lines.append(f"  not done {plan.name} ({plan.live_id or plan.backup_id}): {why}")
    if any(not outcome.ok for outcome in outcomes) or pending:
        lines.append(
            "Nothing restored above was undone. Running restore again is safe: it only changes what still differs."
        )
    lines += recreated_lines(outcomes, plans)
    if done:
        lines.append(
            "Run `pulumi refresh` on the stacks that manage these routes so their state records the restored "
            "versions; until then `pulumi up` refuses to overwrite them, and `pulumi preview` shows how the "
            "restored routes differ from the stack config."
        )
    return lines


def recreated_lines(outcomes: list[Outcome], plans: list[RoutePlan]) -> list[str]:
    """Every route of the backup that lives on under a new id: created by this run, or by an earlier one
    (found by name), with what to do about Pulumi state."""
    created_now = {id(outcome.plan) for outcome in outcomes if outcome.new_id}
    recreated = [(o.plan.name, o.plan.backup_id, str(o.new_id)) for o in outcomes if o.new_id]
    recreated += [
        (plan.name, plan.backup_id, str(plan.live_id))
        for plan in plans
        if plan.matched_by_name and id(plan) not in created_now
    ]
    if not recreated:
        return []
    return [
        "Recreated routes have new ids: "
        + ", ".join(f"{name} {old} -> {new}" for name, old, new in recreated)
        + ". Pulumi state still holds the old ids. In each stack that manages them: if the stack config "
        "pins the route with `id:`, change it to the new id; then run `pulumi refresh` (it drops the "
        "deleted ids from the state) and `pulumi up`, which adopts the route of the same name and "
        "spec instead of creating a duplicate."
    ]


def settle(api: IncidentIoApi, plan: RoutePlan) -> tuple[Outcome | None, str]:
    """After an interruption: the outcome of the write under way when it came, if it went through (its
    answer never arrived); otherwise None and what to say about it."""
    try:
        if plan.action is Action.RECREATE:
            landed = api.find_route_like(plan.spec, plan.v3_settings(None))
            if landed is not None:
                message = f"created again with new id {landed.id} (was {plan.backup_id}); its answer never arrived"
                return Outcome(plan, True, message, landed.id), ""
        else:
            current = api.read_route(str(plan.live_id))
            if current is not None and same_spec(plan.declared(current), current.route(plan.spec)):
                return Outcome(plan, True, f"restored, now version {current.version}; its answer never arrived"), ""
    except (IncidentIoError, KeyboardInterrupt):
        return None, (
            "interrupted; could not check whether it was written: run restore again, which finds a recreated "
            "route by name and changes only what still differs"
        )
    return None, "interrupted; incident.io does not show it written"


def parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "restore-incident-io.sh",
        "Restore incident.io alert routes from a backup made by backup-incident-io.sh. Shows every change "
        "route by route and field by field, then asks for confirmation before writing. Routes deleted since "
        "the backup are created again (with new ids). Alert sources are not restored: the backup keeps them "
        "for the record, without their tokens.",
        scopes="the scopes 'View data' and 'Create and manage on-call resources'",
        exit_codes="0 restored or nothing to do, 1 a route could not be restored (the others are reported), "
        "2 bad arguments or unreadable backup, 3 not confirmed (nothing changed), 130 interrupted",
    )
    snapshot.add_directory_argument(parser, "the backup to restore")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--yes", action="store_true", help="do not ask for confirmation (for automation)")
    mode.add_argument("--dry-run", action="store_true", help="only show what would change; write nothing")
    return parser


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    backup = snapshot.read(args.directory)
    progress = Progress()
    api = connect(progress)
    plans, unknown = make_plan(api, backup, progress)
    print(f"Restore of {args.directory} to {api.client.display_url}:")
    print("\n".join(describe(plans, unknown)), flush=True)
    blocked = any(plan.action is Action.BLOCKED for plan in plans)
    changes = [plan for plan in plans if plan.action in (Action.UPDATE, Action.RECREATE)]
    if not changes:
        print(
            "\n".join(
                ["Nothing to restore: every restorable route already matches the backup.", *recreated_lines([], plans)]
            )
        )
        return EXIT_FAILED if blocked else EXIT_OK
    if args.dry_run:
        print("Dry run: nothing was changed.")
        return EXIT_FAILED if blocked else EXIT_OK
    if not args.yes and not _confirmed(f"Write {len(changes)} route(s) to {api.client.display_url}?"):
        print("Not confirmed: nothing was changed.")
        return EXIT_DECLINED
    outcomes: list[Outcome] = []
    for index, plan in enumerate(changes, 1):
        progress.step("writing route", index, len(changes), plan.name)
        try:
            outcomes.append(apply(api, plan))
        except (OperationError, IncidentIoError) as error:
            outcomes.append(Outcome(plan, False, str(error)))
        except KeyboardInterrupt:
            progress.say("interrupted: checking whether the write under way went through...")
            landed, why = settle(api, plan)
            pending = [(later, "not started") for later in changes[index:]]
            if landed is None:
                pending.insert(0, (plan, why))
            print("\n".join(["Interrupted.", *report([*outcomes, *([landed] if landed else [])], pending, plans)]))
            return EXIT_INTERRUPTED
    print("\n".join(report(outcomes, [], plans)))
    return EXIT_FAILED if blocked or not all(outcome.ok for outcome in outcomes) else EXIT_OK


if __name__ == "__main__":
    run(main)
