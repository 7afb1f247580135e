"""/web: a single-use link (10 minutes) that signs the person in to the web dashboard.

Staff and officers see their province or union there; a chair sees their own unit. The
link's address is PUBLIC_BASE_URL, or the bot's own HTTP server; without either the web
view is off and the person is told so.
"""

from __future__ import annotations

from bot.i18n import _
from bot.messages import esc
from bot.services import web_login
from bot.web.links import base_url
from handlers.base import Ctx

LOGIN_PATH = "/dashboard/login/"


def cmd_web(ctx: Ctx, args: str) -> None:
    """/web: send a sign-in link to the web dashboard."""
    person = ctx.person
    if not web_login.may_sign_in(person):
        ctx.say(_("The web view is for registered chairs, officers and staff."))
        return
    assert person is not None
    base = base_url(ctx.settings)
    if base is None:
        ctx.say(_("The web view is not enabled on this bot. Ask the operator to turn on its web address "
                  "(PUBLIC_BASE_URL)."))
        return
    token = web_login.issue(ctx.session, person, ctx.now)
    if token is None:
        ctx.say(_("You asked for several sign-in links just now. Use the newest one, or try again in 10 minutes."))
        return
    url = base + LOGIN_PATH + token
    ctx.say("\n".join([
        _("Your sign-in link to the web view (works once, for {minutes} minutes):").format(
            minutes=web_login.LINK_MINUTES),
        esc(url),
        _("Do not forward it: whoever opens it sees your figures. You stay signed in for {hours} hours.").format(
            hours=web_login.SESSION_HOURS),
    ]))
