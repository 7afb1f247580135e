"""The chat commands as data: one entry per command, read by everything that lists or routes them.

The router (which handler runs, who may reach it), the menu buttons (per role), the /help text
(per role) and every channel's command menu (e.g. Telegram's set_my_commands) all read
``COMMANDS``; adding a command is adding one entry here.

Audiences are sets of roles; ``STRANGER`` stands for someone who has not redeemed an invite yet.
A command whose ``who`` includes ``STRANGER`` is public; the others need a bound person, and the
handlers still check finer rules themselves (a chair may only see their own unit, …) so that
everyone gets a polite answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.i18n import N_, _
from bot.messages import MenuCommand, Option
from bot.models import Role
from handlers import ask, linking, menu, notices, onboarding, remind_now, report, review, staff, web
from handlers.base import Ctx

Handler = Callable[[Ctx, str], None]

STRANGER = ""  # the role of someone who has not redeemed an invite
LEADERS = frozenset({Role.OFFICER, Role.STAFF, Role.ADMIN})
MEMBERS = frozenset({Role.CHAIR}) | LEADERS
PUBLIC = frozenset({STRANGER}) | MEMBERS


@dataclass(frozen=True)
class HelpLine:
    """One line of /help (a msgid marked with N_) and who sees it."""

    text: str
    audience: frozenset[str] = PUBLIC


@dataclass(frozen=True)
class Command:
    """A chat command: /name (and its aliases) runs handler for the people in who."""

    name: str
    handler: Handler
    about: str  # a short description for channels' command menus (msgid marked with N_)
    who: frozenset[str] = MEMBERS
    aliases: tuple[str, ...] = ()
    menu: str | None = None  # the menu button's label (msgid), None: not in the menu
    menu_row: int = 0  # buttons with the same row number share a row, rows in increasing order
    menu_for: frozenset[str] | None = None  # who sees the button (default: who)
    help: tuple[HelpLine, ...] = ()  # /help lines, in the order of COMMANDS

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def public(self) -> bool:
        return STRANGER in self.who


COMMANDS: list[Command] = [
    Command("baocao", report.cmd_report, N_("Report figures"),
            menu=N_("Report"), menu_row=1,
            help=(HelpLine(N_("/baocao — report the figures of an open reporting round")),)),
    # questions about targets, progress and deadlines (free text goes to ask.answer via menu.fallback)
    Command("chitieu", ask.cmd_targets, N_("Targets"),
            menu=N_("Targets"), menu_row=2,
            help=(HelpLine(N_("/chitieu — your unit's targets for this year and the term")),)),
    Command("tiendo", ask.cmd_progress, N_("Progress against targets"),
            menu=N_("Progress"), menu_row=2,
            help=(HelpLine(N_("/tiendo — progress against each target and what is still missing")),)),
    Command("hannop", ask.cmd_deadlines, N_("Reporting deadlines"),
            menu=N_("Deadlines"), menu_row=2,
            help=(HelpLine(N_("/hannop — open reporting rounds, deadlines and whether you have submitted")),)),
    Command("menu", menu.cmd_menu, N_("Menu"),
            help=(HelpLine(N_("/menu — show the menu")),)),
    Command("huy", menu.cmd_cancel, N_("Cancel"), aliases=("cancel",),
            help=(HelpLine(N_("/huy — cancel what you are doing (a report draft is kept)")),)),
    Command("help", menu.cmd_help, N_("Help"), who=PUBLIC, aliases=("trogiup",),
            menu=N_("Help"), menu_row=9),
    Command("ngonngu", menu.cmd_language, N_("Language"), who=PUBLIC, aliases=("language",),
            menu=N_("Language"), menu_row=9,
            help=(HelpLine(N_("/ngonngu — switch between Vietnamese and English")),)),
    # the staff view (chairs: their own unit only; see handlers/staff.py)
    Command("tonghop", staff.cmd_summary, N_("Who has reported, figures against targets"),
            menu=N_("Summary"), menu_row=3, menu_for=LEADERS,
            help=(HelpLine(N_("/tonghop [round] [unit] — who has reported, and the figures against the targets"),
                           LEADERS),
                  HelpLine(N_("/tonghop — your unit's report and figures against its targets"),
                           frozenset({Role.CHAIR})))),
    Command("xephang", staff.cmd_ranking, N_("Emulation ranking"),
            menu=N_("Ranking"), menu_row=3, menu_for=LEADERS,
            help=(HelpLine(N_("/xephang [round] [unit] — emulation ranking by how well targets are met"), LEADERS),)),
    Command("xuatexcel", staff.cmd_export, N_("Excel file of a round"), who=LEADERS,
            menu=N_("Excel"), menu_row=4,
            help=(HelpLine(N_("/xuatexcel [round] [unit] — the round as an Excel file"), LEADERS),)),
    Command("bieudo", staff.cmd_chart, N_("Chart of a round"), who=LEADERS,
            menu=N_("Chart"), menu_row=4,
            help=(HelpLine(N_("/bieudo [round] [unit] — a chart of reporting and progress against targets"),
                           LEADERS),)),
    # notices: staff and officers broadcast and follow them; recipients acknowledge (a button)
    Command("thongbao", notices.cmd_compose, N_("Send a notice"), who=LEADERS,
            menu=N_("Send a notice"), menu_row=5,
            help=(HelpLine(N_("/thongbao — send a notice to your units; /thongbao_ds — who received and acknowledged it"),
                           LEADERS),)),
    Command("thongbao_ds", notices.cmd_list, N_("Sent notices"), who=LEADERS,
            menu=N_("Sent notices"), menu_row=5),
    Command("duyet", review.cmd_review, N_("Review reports sent by your units"), who=LEADERS,
            menu=N_("Review"), menu_row=3,
            help=(HelpLine(N_("/duyet [round] [unit] — approve reports or return them with a comment"), LEADERS),)),
    Command("nhaclai", remind_now.cmd_remind_now, N_("Remind units that still owe a report"), who=LEADERS),
    Command("web", web.cmd_web, N_("Sign in to the web view"),
            help=(HelpLine(N_("/web — a one-time link to the web view: completeness, figures, reminders"), LEADERS),
                  HelpLine(N_("/web — a one-time link to your unit's page on the web"), frozenset({Role.CHAIR})))),
    Command("danhan", notices.cmd_ack, N_("Acknowledge a notice")),
    Command("start", onboarding.cmd_start, N_("Start, or enter an invite code"), who=PUBLIC),
    # one person on several channels (Telegram and Zalo): see handlers/linking.py
    Command("lienket", linking.cmd_link, N_("Link your account on another chat app"), who=PUBLIC,
            help=(HelpLine(N_("/lienket — a code to use this assistant from your other chat app (Telegram or Zalo) "
                              "as the same person"), MEMBERS),)),
    Command("kenh", linking.cmd_push_here, N_("Get reminders and notices in this chat"),
            help=(HelpLine(N_("/kenh — get reminders and notices in this chat (when you use several chat apps)"),
                           MEMBERS),)),
]


def role_of(ctx: Ctx) -> str:
    """The role the registry's audiences are checked against (STRANGER before an invite)."""
    return ctx.person.role if ctx.person is not None else STRANGER


def find(name: str) -> Command | None:
    """The command called /name (or one of its aliases)."""
    for command in COMMANDS:
        if name in command.names:
            return command
    return None


def menu_rows(role: str) -> list[list[Option]]:
    """Menu buttons for a role, grouped by menu_row; their data are the commands themselves."""
    rows: dict[int, list[Option]] = {}
    for command in COMMANDS:
        if command.menu is not None and role in (command.menu_for or command.who):
            rows.setdefault(command.menu_row, []).append(Option(_(command.menu), f"/{command.name}"))
    return [rows[row] for row in sorted(rows)]


def help_lines(role: str) -> list[str]:
    """The /help lines about commands a role sees, in the order of COMMANDS."""
    return [_(line.text) for command in COMMANDS for line in command.help if role in line.audience]


def channel_menu(roles: frozenset[str] = MEMBERS) -> list[MenuCommand]:
    """Every command someone with one of roles may use, for a channel's command menu (aliases left out)."""
    return [MenuCommand(command.name, _(command.about)) for command in COMMANDS if command.who & roles]
