"""`congdoan …` sub-commands for operators and staff.

Every command upgrades the database schema first, so a fresh install needs no
separate migration step.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.channels.base import invite_links
from bot.config import Settings
from bot.db import session_scope
from bot import logsafe
from bot.i18n import N_, _, ngettext, use_language
from bot.models import Level, Role

log = logging.getLogger(__name__)

MAX_INVITE_DAYS = 365


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.app import open_database

    return open_database(settings)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import AlreadyRunning, PortTaken, run_bot
    from bot.channels.telegram import BadToken
    from bot.web.playground.world import NothingToRun

    logsafe.install([settings.telegram_token])  # no token in any line, no error a million times
    try:
        run_bot(settings)
    except PortTaken as exc:
        print(_("Another program already listens on {address}. Stop it, or choose a free port, for example "
                "CONGDOAN_HTTP_PORT=8081 congdoan run").format(address=exc.args[0]), file=sys.stderr)
        return 2
    except NothingToRun:
        print(_("Nothing to run: no channel token is set and the playground is off (CONGDOAN_PLAYGROUND=0). "
                "Set TELEGRAM_BOT_TOKEN or ZALO_BOT_TOKEN, or try `congdoan chat`."), file=sys.stderr)
        return 2
    except BadToken:
        print(_("Telegram refused the bot token (TELEGRAM_BOT_TOKEN): check it with @BotFather."),
              file=sys.stderr)
        return 2
    except AlreadyRunning as exc:
        print(_("Another `congdoan run` is already using the database {path}; stop it first.").format(
            path=exc.args[0]), file=sys.stderr)
        return 2
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_chat

    if not args.verbose:  # the operator's log lines (audit, imports) stay out of the conversation
        logging.getLogger().setLevel(logging.WARNING)

    run_chat(settings)
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    _engine(settings)
    print(_("The database schema is up to date."))
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import load_demo

    engine = _engine(settings)
    with session_scope(engine) as session:
        summary = load_demo(session)
    print(demo_summary_text(summary))
    return 0


def demo_summary_text(summary) -> str:  # type: ignore[no-untyped-def]
    """What `congdoan demo` holds and what this run changed, in words (not a Python object)."""
    from bot.i18n import current_language
    from bot.textvn import format_number

    def n(value: int) -> str:
        return format_number(value, locale=current_language())

    held = _("Demo province: {units} units ({uppers} upper-level unions, {grassroots} CĐCS, {members} members), "
             "{indicators} indicators, {targets} targets, {rounds} reporting rounds.").format(
        units=n(summary.units), uppers=n(summary.upper_units), grassroots=n(summary.grassroots_units),
        members=n(summary.members), indicators=n(summary.indicators), targets=n(summary.targets),
        rounds=n(summary.rounds))
    if not summary.changed:
        return held + "\n" + _("Nothing changed: the demo data was already in place.")
    return held + "\n" + _("This run: {created} new, {updated} updated, {unchanged} unchanged.").format(
        created=n(summary.created), updated=n(summary.updated), unchanged=n(summary.unchanged))


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import imports

    if args.kind == "restructure":
        from bot.cli_units import cmd_import_restructure

        return cmd_import_restructure(args, settings)

    importer = {"indicators": imports.import_indicators, "units": imports.import_units,
                "targets": imports.import_targets, "rounds": imports.import_rounds}[args.kind]
    path = Path(args.file)
    if not path.is_file():
        print(_("File not found: {path}").format(path=path), file=sys.stderr)
        return 2
    engine = _engine(settings)
    with session_scope(engine) as session:
        report = importer(session, path, actor="cli")
        if report.errors:
            session.rollback()
    if report.errors:
        print(_("Nothing was imported: {n} row(s) have errors. Fix them and import the file again.")
              .format(n=len(report.errors)), file=sys.stderr)
        for line, message in report.errors:
            print(_("  line {line}: {message}").format(line=line, message=message), file=sys.stderr)
        return 1
    print(_("Imported {path}: {created} new, {updated} updated, {unchanged} unchanged.").format(
        path=path.name, created=report.created, updated=report.updated, unchanged=report.unchanged))
    return 0


def cmd_invite(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import cells, registry

    if not args.all and not args.unit_code:
        print(_("Give a unit code, or --all for every active CĐCS."), file=sys.stderr)
        return 2
    if not 1 <= args.days <= MAX_INVITE_DAYS:
        print(_("An invite must stay valid for 1 to {max} days; {days} is not possible. "
                "Write for example --days 30.").format(max=MAX_INVITE_DAYS, days=args.days), file=sys.stderr)
        return 2
    engine = _engine(settings)
    with session_scope(engine) as session:
        if args.all:
            from datetime import timedelta

            from bot.clock import utcnow

            now = utcnow()
            units = registry.active_grassroots(session)
            # a second run hands out the same codes (still valid for a week or more) unless --new
            still_valid = registry.open_invites(session, [u.id for u in units], Role.CHAIR,  # type: ignore[misc]
                                                now + timedelta(days=min(7, args.days)))
            if args.new:
                registry.expire_invites(session, list(registry.open_invites(
                    session, [u.id for u in units], Role.CHAIR, now).values()), now)  # type: ignore[misc]
                still_valid = {}
            rows = []
            for unit in units:
                invite = still_valid.get(unit.id)  # type: ignore[arg-type]
                if invite is None:
                    invite = registry.create_invite(session, unit, Role.CHAIR,
                                                    valid_days=args.days, created_by="cli", now=now)
                rows.append([unit.code, unit.name, Role.CHAIR.value, invite.code,
                             " ".join(invite_links(settings, invite.code))])
            out = Path(args.out or "invites.csv")
            with out.open("w", newline="", encoding="utf-8-sig") as f:
                writer = csv.writer(f)
                writer.writerow(["unit_code", "unit_name", "role", "code", "link"])
                writer.writerows(cells.csv_row(row) for row in rows)  # a name never runs as a formula
            print(_("Wrote {n} invites to {path}.").format(n=len(rows), path=out))
            if still_valid:
                print(_("{kept} of them were issued earlier and are still valid (the same codes as before); "
                        "--new replaces every unused code.").format(kept=len(still_valid)))
            return 0
        unit = registry.unit_by_code(session, args.unit_code)
        if unit is None:
            print(_("No unit has the code {code}.").format(code=args.unit_code), file=sys.stderr)
            return 1
        if not unit.active:
            print(_("The unit {code} is not active.").format(code=unit.code), file=sys.stderr)
            return 1
        role = Role(args.role)
        if role == Role.CHAIR and unit.level != Level.GRASSROOTS:
            print(_("A chair invite is for a CĐCS; {code} is not one. Use --role officer or staff.")
                  .format(code=unit.code), file=sys.stderr)
            return 1
        invite = registry.create_invite(session, unit, role, valid_days=args.days, created_by="cli")
        print(_("Invite for {unit} ({role}), valid until {until}:").format(
            unit=unit.name, role=registry.role_label(role), until=_local_date(invite.expires_at)))
        print(invite.code)
        for link in invite_links(settings, invite.code):
            print(link)
    return 0




def find_round(session, code: str):  # type: ignore[no-untyped-def]
    """The round with this code, or None after telling the operator there is none."""
    from bot.services import reporting

    rnd = reporting.round_by_code(session, code)
    if rnd is None:
        print(_("No round has the code {code}.").format(code=code), file=sys.stderr)
    return rnd


def cmd_round_lock(args: argparse.Namespace, settings: Settings) -> int:
    from bot.clock import utcnow
    from bot.services import reporting

    engine = _engine(settings)
    with session_scope(engine) as session:
        rnd = find_round(session, args.code)
        if rnd is None:
            return 1
        if rnd.locked:
            print(_("Round {code} was already locked.").format(code=rnd.code))
            return 0
        reporting.lock_round(session, rnd, utcnow(), actor="cli")
    print(_("Round {code} is locked: chairs can no longer submit or correct it.").format(code=args.code))
    return 0


def cmd_round_review(args: argparse.Namespace, settings: Settings) -> int:
    """Show or change whether a round's reports are reviewed by the level above."""
    from bot.services import audit

    engine = _engine(settings)
    with session_scope(engine) as session:
        rnd = find_round(session, args.code)
        if rnd is None:
            return 1
        changes = {}
        if args.review is not None and rnd.requires_review != args.review:
            changes["requires_review"] = args.review
        notice = None if args.approval_notice is None else args.approval_notice == "on"
        if notice is not None and rnd.approval_notice != notice:
            changes["approval_notice"] = notice
        if changes and rnd.locked:
            print(_("Round {code} is locked; unlock it before changing it.").format(code=rnd.code), file=sys.stderr)
            return 1
        from bot.clock import utcnow
        from bot.services import review

        if "approval_notice" in changes:
            rnd.approval_notice = changes["approval_notice"]
        if "requires_review" in changes:
            changes["submissions"] = review.set_required(session, rnd, changes["requires_review"], utcnow())
        if changes:
            session.add(rnd)
            audit.record(session, "round.review", entity="round", entity_id=rnd.id, actor="cli", detail=changes)
        print(_("Round {code}: review by the level above {state}; the chair is told of an approval: {notice}.").format(
            code=rnd.code, state=_("required") if rnd.requires_review else _("not required"),
            notice=_("yes") if rnd.approval_notice else _("no")))
    return 0


def parse_local_datetime(text: str):  # type: ignore[no-untyped-def]
    """'2026-12-17 09:00', '17/12/2026 09:00' or a date alone (00:00), in Asia/Ho_Chi_Minh → UTC."""
    from datetime import datetime, time

    from bot.clock import to_utc
    from bot.services.periods import parse_local_date

    parts = text.strip().replace("T", " ").split()
    day = parse_local_date(parts[0])
    clock = time(0, 0)
    if len(parts) > 1:
        hours, _sep, minutes = parts[1].partition(":")
        clock = time(int(hours), int(minutes or 0))
    return to_utc(datetime.combine(day, clock))


def cmd_plan_reminders(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import timedelta

    from bot.clock import utcnow
    from bot.services import reminders
    from bot.textvn import format_datetime

    try:
        now = parse_local_datetime(args.at) if args.at else utcnow()
    except ValueError:
        print(_("Cannot read the time {text}: write it as 17/12/2026 09:00 or 2026-12-17 09:00.")
              .format(text=args.at), file=sys.stderr)
        return 2
    if now > utcnow() + timedelta(minutes=1) and not args.dry_run and not args.send_now:
        print(_("{time} is in the future: nothing was queued. Add --dry-run to see what will be due then, "
                "or --send-now to queue those pushes now (the running bot sends them right away, "
                "not at {time}).").format(time=format_datetime(now)), file=sys.stderr)
        return 2
    engine = _engine(settings)
    with session_scope(engine) as session:
        due, new = reminders.run_planner_as_of(session, now, utcnow(), dry_run=args.dry_run)
        fresh = [d for d in due if not d.already_queued]
        print(_("As of {time}: {n} push(es) due, {old} already queued earlier.").format(
            time=format_datetime(now), n=len(fresh), old=len(due) - len(fresh)))
        for d in fresh:
            what = _("digest") if d.is_digest else _("reminder")
            print(_("  {round} · step {step} · {what} · {unit} · {person}").format(
                round=d.round_code, step=d.step, what=what, unit=d.unit_name, person=d.person_name or "—"))
        if args.dry_run:
            print(_("Dry run: nothing was queued."))
            session.rollback()
            return 0
    print(_("Queued {n} push(es); the running bot sends them.").format(n=new))
    if now > utcnow() + timedelta(minutes=1):
        print(_("They go out now, not at {time} (--send-now).").format(time=format_datetime(now)))
    return 0


def cmd_outbox(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import outbox
    from bot.textvn import format_datetime

    engine = _engine(settings)
    with session_scope(engine) as session:
        st = outbox.stats(session)
        print(_("Outbox: {pending} pending, {sending} being sent, {sent} sent, {failed} failed, {skipped} skipped.")
              .format(pending=st.pending, sending=st.sending, sent=st.sent, failed=st.failed, skipped=st.skipped))
        if st.oldest_pending is not None:
            row = st.oldest_pending
            print(_("Oldest pending: #{id} {kind} to {channel}:{chat}, due {time}, {attempts} attempt(s).").format(
                id=row.id, kind=row.kind, channel=row.channel, chat=row.chat_id,
                time=format_datetime(row.not_before), attempts=row.attempts))
        print_sender_status(st.senders)
    return 0


def print_sender_status(senders: list) -> None:  # type: ignore[type-arg]
    """The last successful send and the last error of the outbox senders (`congdoan outbox`)."""
    from bot.textvn import format_datetime

    if not senders:
        print(_("No sender has run yet (it runs inside `congdoan run`)."))
        return
    sent = [s.last_sent_at for s in senders if s.last_sent_at is not None]
    if sent:
        print(_("Last successful send: {time}.").format(time=format_datetime(max(sent))))
    else:
        print(_("Last successful send: none yet."))
    failed = [s for s in senders if s.last_error_at is not None]
    if failed:
        last = max(failed, key=lambda s: s.last_error_at)
        print(_("Last error ({time}): {error}").format(time=format_datetime(last.last_error_at), error=last.last_error))
    newest = senders[0]
    print(_("Sender last seen {time} ({owner}).").format(time=format_datetime(newest.heartbeat_at), owner=newest.owner))


def cmd_round_reminders(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import reminders

    engine = _engine(settings)
    with session_scope(engine) as session:
        rnd = find_round(session, args.code)
        if rnd is None:
            return 1
        plan = reminders.Plan.of(rnd)
        try:
            steps = reminders.parse_steps(args.steps) if args.steps else list(plan.steps)
            quiet = args.quiet.split("-") if args.quiet else [plan.quiet_start.strftime("%H:%M"),
                                                               plan.quiet_end.strftime("%H:%M")]
            new_plan = reminders.Plan(tuple(steps), reminders.parse_clock(quiet[0]), reminders.parse_clock(quiet[1]),
                                      args.skip_sundays if args.skip_sundays is not None else plan.skip_sundays)
        except (ValueError, IndexError):
            print(_("Cannot read the plan. Steps look like open,-3@09:00,-1@09:00,0@07:30,+1@09:00 and quiet hours like 21:00-07:00."),
                  file=sys.stderr)
            return 2
        if args.steps or args.quiet or args.skip_sundays is not None:
            rnd.reminder_plan = new_plan.as_json()
            session.add(rnd)
        print(_("Reminder plan of {code}:").format(code=rnd.code))
        from bot.textvn import format_datetime

        for step in new_plan.steps:
            print(f"  {step:>10}  →  {format_datetime(reminders.step_time(rnd, step, new_plan))}")
        print(_("Quiet hours {start}–{end}; Sundays skipped: {sunday}.").format(
            start=new_plan.quiet_start.strftime("%H:%M"), end=new_plan.quiet_end.strftime("%H:%M"),
            sunday=_("yes") if new_plan.skip_sundays else _("no")))
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from sqlmodel import select

    from bot.models import Unit
    from bot.services import export_xlsx, registry

    engine = _engine(settings)
    with session_scope(engine) as session:
        rnd = find_round(session, args.round)
        if rnd is None:
            return 1
        if args.unit:
            unit = registry.unit_by_code(session, args.unit)
            if unit is None:
                print(_("No unit has the code {code}.").format(code=args.unit), file=sys.stderr)
                return 1
            root_id = unit.id
        else:  # the one province of the database, or every unit when there are several roots
            roots = session.exec(select(Unit.id).where(Unit.parent_id == None)).all()  # noqa: E711
            root_id = roots[0] if len(roots) == 1 else None
        content = export_xlsx.build_workbook(session, rnd, root_id, approved_only=args.approved_only)
    out = Path(args.out or f"tonghop-{rnd.code}.xlsx")
    out.write_bytes(content)
    print(_("Wrote {path} ({size} bytes).").format(path=out, size=len(content)))
    return 0


def cmd_weights(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import scoring

    changes: dict[str, float] = {}
    try:
        for pair in args.pairs:
            code, _sep, weight = pair.partition("=")
            changes[code.strip().upper()] = float(weight.replace(",", "."))
        if args.file:
            from bot.services.imports import read_table

            for row in read_table(args.file).rows:
                changes[row.get("indicator").upper()] = float(row.get("weight").replace(",", "."))
    except (ValueError, AttributeError):
        print(_("Write weights as CODE=NUMBER, for example DV_MOI=2 TT_CHINHSACH=1,5."), file=sys.stderr)
        return 2
    engine = _engine(settings)
    with session_scope(engine) as session:
        if changes:
            try:
                changed = scoring.set_weights(session, changes, actor="cli")
            except scoring.WeightError as exc:
                session.rollback()
                print(_("Not saved: unknown indicator or bad weight: {what}").format(what=exc), file=sys.stderr)
                return 1
            print(_("{n} weight(s) changed.").format(n=changed))
        print(_("Emulation score weights (0 leaves an indicator out):"))
        for indicator, weight, stored in scoring.weight_table(session):
            mark = "" if stored else " " + _("(default)")
            print(f"  {indicator.code:<14} {weight:g}{mark}  {indicator.name_vi}")
    return 0


def _local_date(dt) -> str:  # type: ignore[no-untyped-def]
    from bot.textvn import format_date

    return format_date(dt)


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from bot import backup

    target = Path(args.file)
    source = backup.sqlite_path(settings.database_url)
    if source is None:
        print(_("The database is not a SQLite file. Back up PostgreSQL with its own tool, for example:"))
        print("  " + backup.pg_dump_command(settings.database_url, str(target)))
        print(_("(give the password with PGPASSWORD or ~/.pgpass; restore with pg_restore, see README)"))
        return 2
    if not source.is_file():
        print(_("There is no database file at {path}.").format(path=source), file=sys.stderr)
        return 1
    if target.resolve() == source.resolve():
        print(_("The backup must be a different file from the database itself."), file=sys.stderr)
        return 1
    if target.exists() and not args.force:
        print(_("The file {path} already exists. Choose another name, or add --force to replace it.")
              .format(path=target), file=sys.stderr)
        return 1
    try:
        size = backup.backup_sqlite(source, target)
    except (OSError, backup.sqlite3.Error, backup.BackupError) as exc:
        print(_("The backup failed: {error}. Nothing was written to {path}.").format(error=exc, path=target),
              file=sys.stderr)
        return 1
    print(_("Backup written to {path} ({size} bytes): a consistent copy of {source}.").format(
        path=target, size=size, source=source))
    return 0


# argparse's own words (usage, options, its error messages) come from the stdlib's gettext;
# they are marked here so that the catalogs carry them, and argparse is pointed at ours.
ARGPARSE_MESSAGES = (
    N_("usage: "), N_("options"), N_("positional arguments"), N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"), N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"), N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"), N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"), N_("expected at most one argument"), N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"), N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"), N_("ignored explicit argument %r"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
)


def translate_argparse() -> None:
    """Make argparse speak the current language (its help and errors are English otherwise)."""
    argparse._ = _  # type: ignore[attr-defined]
    argparse.ngettext = ngettext  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="congdoan",
        description=_("Trợ lý Công đoàn: the chat assistant for union reports. "
                      "Settings come from the environment: TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE_URL, "
                      "TELEGRAM_FILE_BASE_URL, DATABASE_URL (default sqlite:///db.sqlite)."),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=_("log more detail"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help=_("run the bot (every channel whose token is set; the browser playground "
                                     "at http://127.0.0.1:8080 when none is)"))
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("chat", help=_("chat in the terminal as the chair of a demo CĐCS"))
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("migrate", help=_("upgrade the database schema (every command does this too)"))
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("demo", help=_("load the demo province (safe to run twice)"))
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("import", help=_("import indicators, units, targets or rounds from CSV or XLSX "
                                        "(all or nothing)"))
    p.add_argument("kind", choices=["indicators", "units", "targets", "rounds", "restructure"],
                   help=_("what the file holds"))
    p.add_argument("file", help=_("a .csv (UTF-8) or .xlsx file with a header row"))
    p.add_argument("--dry-run", action="store_true", help=_("restructure only: print what would change, write nothing"))
    p.set_defaults(func=cmd_import)

    from bot.cli_units import add_unit_parser

    add_unit_parser(sub)

    p = sub.add_parser("invite", help=_("create invite codes"))
    p.add_argument("unit_code", nargs="?", help=_("the unit the invite binds to"))
    p.add_argument("--role", choices=[r.value for r in Role if r != Role.ADMIN], default=Role.CHAIR.value,
                   help=_("role of the person invited (default: chair)"))
    p.add_argument("--all", action="store_true", help=_("one chair invite per active CĐCS"))
    p.add_argument("--out", help=_("CSV file to write with --all (default invites.csv)"))
    p.add_argument("--days", type=int, default=30, help=_("days the code stays valid (default 30)"))
    p.add_argument("--new", action="store_true",
                   help=_("with --all: replace the unused codes still valid with new ones (default: hand out the same)"))
    p.set_defaults(func=cmd_invite)

    p = sub.add_parser("round", help=_("manage reporting rounds"))
    round_sub = p.add_subparsers(dest="round_command", metavar="ACTION", required=True)
    q = round_sub.add_parser("lock", help=_("lock a round: no more submissions or corrections by chairs"))
    q.add_argument("code", help=_("the round code, e.g. 2026-Q1"))
    q.set_defaults(func=cmd_round_lock)
    q = round_sub.add_parser("review", help=_("show or change whether the level above reviews a round's reports"))
    q.add_argument("code", help=_("the round code, e.g. 2026-Q1"))
    q.add_argument("--on", dest="review", action="store_true", default=None,
                   help=_("reports wait for approval by the level above"))
    q.add_argument("--off", dest="review", action="store_false", help=_("no review (the default)"))
    q.add_argument("--approval-notice", dest="approval_notice", choices=["on", "off"],
                   help=_("tell the chair in one line when a report is approved (default on)"))
    q.set_defaults(func=cmd_round_review)
    q = round_sub.add_parser("reminders", help=_("show or change a round's reminder plan"))
    q.add_argument("code", help=_("the round code, e.g. 2026-Q1"))
    q.add_argument("--steps", help=_("e.g. open,-3@09:00,-1@09:00,0@07:30,+1@09:00,+3@09:00 (days from the deadline @ local time)"))
    q.add_argument("--quiet", help=_("quiet hours, e.g. 21:00-07:00"))
    q.add_argument("--skip-sundays", dest="skip_sundays", action="store_true", default=None,
                   help=_("send nothing on Sundays"))
    q.add_argument("--send-sundays", dest="skip_sundays", action="store_false", help=_("allow Sundays again"))
    q.set_defaults(func=cmd_round_reminders)

    p = sub.add_parser("plan-reminders", aliases=["remind"],
                       help=_("run the reminder planner once and queue what is due"))
    p.add_argument("--at", help=_("as of this local time, e.g. '17/12/2026 09:00' (default: now)"))
    p.add_argument("--dry-run", action="store_true", help=_("only print what is due; queue nothing"))
    p.add_argument("--send-now", dest="send_now", action="store_true",
                   help=_("with a future --at: queue what is due then, to go out now (for trials)"))
    p.set_defaults(func=cmd_plan_reminders)

    p = sub.add_parser("outbox", help=_("show pending, sent and failed pushes"))
    p.set_defaults(func=cmd_outbox)

    p = sub.add_parser("export", help=_("write the Excel workbook of a round (completeness, indicators, summary)"))
    p.add_argument("round", help=_("the round code, e.g. 2026-Q1"))
    p.add_argument("--out", help=_("the .xlsx file to write (default tonghop-ROUND.xlsx)"))
    p.add_argument("--unit", help=_("only this unit and the units under it (default: the province)"))
    p.add_argument("--approved-only", action="store_true",
                   help=_("count only approved reports (rounds that require review; default: all submitted)"))
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("backup", help=_("copy the database to a file while the bot runs (SQLite; "
                                        "for PostgreSQL it shows the pg_dump command)"))
    p.add_argument("file", help=_("the backup file to write, e.g. backup-2026-12-01.sqlite"))
    p.add_argument("--force", action="store_true", help=_("replace the file if it exists"))
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("weights", help=_("show or set the emulation score weight of indicators"))
    p.add_argument("pairs", nargs="*", metavar="CODE=WEIGHT", help=_("e.g. DV_MOI=2 (0 leaves it out)"))
    p.add_argument("--file", help=_("a .csv or .xlsx file with columns indicator, weight"))
    p.set_defaults(func=cmd_weights)
    return parser


def log_level() -> int:
    """CONGDOAN_LOG_LEVEL (DEBUG, INFO, WARNING, ERROR; default INFO)."""
    name = (os.environ.get("CONGDOAN_LOG_LEVEL") or "INFO").upper()
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.INFO


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `congdoan` console script."""
    settings = Settings.from_env()
    with use_language(settings.default_language):
        translate_argparse()
        parser = build_parser()
        args = parser.parse_args(argv)
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else log_level(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        for noisy in ("httpx", "httpcore", "alembic", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        return int(args.func(args, settings) or 0)


if __name__ == "__main__":
    sys.exit(main())
