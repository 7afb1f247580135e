"""Every word the playground page shows, marked for the catalogs (the templates hold none)."""

from __future__ import annotations

from bot.i18n import N_, _

PAGE = {
    "title": N_("Trợ lý Công đoàn — playground"),
    "lead": N_("Try the assistant as anyone in the demo province of Lai Châu. Everything here is demo data "
               "in its own database: nothing reaches a real person."),
    "personas": N_("Who are you?"),
    "add": N_("+ Another role"),
    "choose": N_("Choose a role"),
    "chair": N_("Chair of a CĐCS"),
    "chair_hint": N_("Reports figures, asks about targets, receives reminders and notices."),
    "officer": N_("Upper-level union officer"),
    "officer_hint": N_("Sees the units under their union, gets the digest of who is missing, reminds them."),
    "staff": N_("Provincial staff"),
    "staff_hint": N_("Sends notices, follows completeness, exports Excel and charts."),
    "unit": N_("Unit"),
    "start": N_("Start"),
    "type": N_("Type a message or a number…"),
    "send": N_("Send"),
    "menu": N_("Menu"),
    "empty": N_("Choose a role above to start chatting."),
    "clock": N_("Simulate time"),
    "clock_lead": N_("Run the reminder planner as if it were this date and time (Vietnam time). Reminders go "
                     "only to the roles chosen on this page; quiet hours (21:00–07:00) send nothing."),
    "date": N_("Date"),
    "time": N_("Time"),
    "run": N_("Run the planner"),
    "rounds": N_("Open rounds (press one to pick three days before its deadline, 09:00):"),
    "deadline": N_("deadline"),
    "download": N_("Download"),
    "new": N_("new"),
    "error": N_("Something went wrong; please try again."),
    "push": N_("pushed"),
    "attach": N_("Send a file (PDF or DOCX); the text typed beside it goes as its caption"),
}


def page_texts() -> dict[str, str]:
    """The page's words in the current language."""
    return {key: _(msgid) for key, msgid in PAGE.items()}
