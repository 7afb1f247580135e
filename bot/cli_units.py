"""`congdoan unit move|rename|merge|close` and `congdoan import restructure FILE`.

Each command builds restructure actions, prints what they would change, and (without
--dry-run) applies them all or nothing; see bot/services/restructure.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.clock import utcnow
from bot.config import Settings
from bot.db import session_scope
from bot.i18n import _
from bot.services import restructure


def add_unit_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The `unit` command and its actions."""
    p = sub.add_parser("unit", help=_("restructure the union tree: move, rename, merge or close a unit"))
    unit_sub = p.add_subparsers(dest="unit_command", metavar="ACTION", required=True)
    date_help = _("the day the change takes effect, DD/MM/YYYY (not in the future)")
    dry_help = _("only print what would change; write nothing")

    q = unit_sub.add_parser("move", help=_("move a unit under another parent"))
    q.add_argument("code", help=_("the unit code"))
    q.add_argument("--to", required=True, help=_("the code of the new parent"))
    q.add_argument("--from", dest="effective", required=True, help=date_help)
    q.add_argument("--dry-run", action="store_true", help=dry_help)
    q.set_defaults(func=cmd_unit, action_kind=restructure.MOVE)

    q = unit_sub.add_parser("rename", help=_("give a unit a new name"))
    q.add_argument("code", help=_("the unit code"))
    q.add_argument("name", help=_("the new name"))
    q.add_argument("--from", dest="effective", required=True, help=date_help)
    q.add_argument("--dry-run", action="store_true", help=dry_help)
    q.set_defaults(func=cmd_unit, action_kind=restructure.RENAME)

    q = unit_sub.add_parser("merge", help=_("merge a unit into another of the same level"))
    q.add_argument("code", help=_("the unit that ends"))
    q.add_argument("--into", dest="to", required=True, help=_("the code of the surviving unit"))
    q.add_argument("--from", dest="effective", required=True, help=date_help)
    q.add_argument("--no-rebind", dest="rebind", action="store_false",
                   help=_("do not make the chairs of the merged unit chairs of the survivor"))
    q.add_argument("--dry-run", action="store_true", help=dry_help)
    q.set_defaults(func=cmd_unit, action_kind=restructure.MERGE)

    q = unit_sub.add_parser("close", help=_("close a unit (its history stays)"))
    q.add_argument("code", help=_("the unit code"))
    q.add_argument("--from", dest="effective", required=True, help=date_help)
    q.add_argument("--dry-run", action="store_true", help=dry_help)
    q.set_defaults(func=cmd_unit, action_kind=restructure.CLOSE)


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.app import open_database

    return open_database(settings)


def cmd_unit(args: argparse.Namespace, settings: Settings) -> int:
    now = utcnow()
    values = {"action": args.action_kind, "code": args.code, "from": args.effective,
              "to": getattr(args, "to", "") or "", "name": getattr(args, "name", "") or "",
              "rebind": "" if getattr(args, "rebind", True) else "không"}
    action, problems = restructure.parse_action_row(values, 0, restructure.today_local(now))
    if action is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 2
    return _plan_and_apply(settings, [action], [], dry_run=args.dry_run, now=now)


def cmd_import_restructure(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(_("File not found: {path}").format(path=path), file=sys.stderr)
        return 2
    now = utcnow()
    actions, errors = restructure.read_actions(path, restructure.today_local(now))
    return _plan_and_apply(settings, actions, errors, dry_run=getattr(args, "dry_run", False), now=now)


def _plan_and_apply(settings: Settings, actions: list[restructure.Action], errors: list[tuple[int, str]],
                    *, dry_run: bool, now) -> int:  # type: ignore[no-untyped-def]
    engine = _engine(settings)
    with session_scope(engine) as session:
        result = restructure.plan(session, actions, now) if not errors else restructure.Plan(errors=errors)
        if not result.ok:
            print(_("Nothing was changed: {n} line(s) have errors. Fix them and run the command again.")
                  .format(n=len(result.errors)), file=sys.stderr)
            for line, message in sorted(result.errors, key=lambda e: e[0]):
                prefix = _("  line {line}: ").format(line=line) if line else "  "
                print(prefix + message, file=sys.stderr)
            session.rollback()
            return 1
        for line in restructure.describe(session, result):
            print(line)
        if dry_run:
            print(_("Dry run: nothing was written ({n} change(s) would be made).").format(n=len(result.changes)))
            session.rollback()
            return 0
        changed = restructure.apply(session, result, actor="cli", now=now)
    if changed:
        print(_("Done: {n} change(s) applied.").format(n=changed))
    else:
        print(_("Nothing to change: the tree already looks like this."))
    return 0
