"""The dashboard's routes: sign-in and sign-out, rounds, a round, a unit, notices.

Mounted at /dashboard by bot/web/app.py. Pages are server-rendered Jinja2 templates (no
scripts); database work runs in the thread pool, one short session per request. Every page
and action looks the session up (bot/services/web_login.py), every POST needs the session's
CSRF token, and bot/web/dashboard/views.py checks every id against what the person may see.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.clock import utcnow
from bot.textvn import format_datetime
from bot.config import Settings
from bot.db import session_scope
from bot.i18n import _, ngettext, use_language
from bot.models import Person
from bot.services import review, web_login
from bot.web.dashboard import views
from bot.web.dashboard.auth import COOKIE, MAX_AGE, SECURITY_HEADERS, Cookies, RateLimit

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
PREFIX = "/dashboard"
SIGN_IN_LIMIT = 20  # sign-in attempts per client address …
SIGN_IN_WINDOW = 600.0  # … within ten minutes
MAX_FORM_BYTES = 4096
MAX_REVIEW_FORM_BYTES = 16384  # a return's comment: up to 1000 letters, Vietnamese ones %-encoded in 9 bytes


class Signed:
    """The signed-in person of a request, with the session's token (for its CSRF token)."""

    def __init__(self, person: Person, token: str, csrf: str) -> None:
        self.person = person
        self.token = token
        self.csrf = csrf


def build_dashboard(settings: Settings, engine: Engine, secret: str) -> Starlette:
    """The dashboard as an ASGI app (mounted under /dashboard)."""
    cookies = Cookies(secret)
    limiter = RateLimit(SIGN_IN_LIMIT, SIGN_IN_WINDOW)
    secure = (settings.public_base_url or "").startswith("https://")
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(_=_, ngettext=ngettext, prefix=PREFIX)

    def render(template: str, status: int = 200, language: str | None = None, **values: Any) -> HTMLResponse:
        with use_language(language or settings.default_language):
            html = env.get_template(template).render(**values)
        return HTMLResponse(html, status_code=status)

    def message(title: str, text: str, status: int, signed: Signed | None = None) -> HTMLResponse:
        return render("message.html", status=status, title=title, text=text, signed=signed,
                      language=signed.person.language if signed else None)

    def in_session(work: Callable[[Session], Any]) -> Any:
        with session_scope(engine) as session:
            return work(session)

    async def signed_in(request: Request) -> Signed | None:
        token = cookies.session_token(request.cookies.get(COOKIE))
        if token is None:
            return None

        def look(session: Session) -> Person | None:
            person = web_login.session_person(session, token, utcnow())
            if person is not None:
                session.expunge(person)
            return person

        person = await run_in_threadpool(in_session, look)
        return Signed(person, token, cookies.csrf(token)) if person is not None else None

    def not_signed_in() -> HTMLResponse:
        return message(_("Please sign in"), _("Your session has ended or is not valid. Type /web in the chat with "
                                               "the bot to get a new sign-in link."), 401)

    def not_found(signed: Signed) -> HTMLResponse:
        return message(_("Not found"), _("There is nothing here that you can see."), 404, signed)

    def forbidden(signed: Signed) -> HTMLResponse:
        return message(_("Not allowed"), _("This is for upper-level unions and provincial staff."), 403, signed)

    def refused(signed: Signed, text: str) -> HTMLResponse:
        return message(_("Not done"), text, 409, signed)

    def page(handler: Callable[..., Any], *, post: bool = False, max_form: int = MAX_FORM_BYTES
             ) -> Callable[[Request], Any]:
        """Wrap a page: a live session, the CSRF token on POST, NotFound → 404, Forbidden → 403,
        a review the rules refuse → 409 with the reason."""

        async def endpoint(request: Request) -> Response:
            signed = await signed_in(request)
            if signed is None:
                return not_signed_in()
            form: dict[str, Any] = {}
            if post:
                form = await read_form(request, max_form)
                if not cookies.csrf_ok(signed.token, form.get("csrf")):
                    log.info("dashboard POST without a valid CSRF token refused")
                    return message(_("Not allowed"), _("This form has expired. Go back, reload the page and try "
                                                       "again."), 403, signed)
            try:
                return await run_in_threadpool(in_session, lambda s: in_language(handler, s, request, signed, form))
            except views.NotFound:
                return not_found(signed)
            except views.Forbidden:
                return forbidden(signed)
            except review.ReviewRefused as why:
                return refused(signed, str(why))

        return endpoint

    def in_language(handler: Callable[..., Any], *args: Any) -> Any:
        with use_language(args[2].person.language or settings.default_language):
            return handler(*args)

    def show(template: str, signed: Signed, **values: Any) -> HTMLResponse:
        return render(template, signed=signed, language=signed.person.language, **values)

    # ------------------------------------------------------------------ sign-in, sign-out

    def link_problem(state: web_login.LinkState) -> HTMLResponse:
        if state == web_login.LinkState.USED:
            text = _("This sign-in link has already been used. Type /web in the chat with the bot to get a new one.")
        elif state == web_login.LinkState.EXPIRED:
            text = _("This sign-in link has expired (links work for 10 minutes). Type /web in the chat with the "
                     "bot to get a new one.")
        else:
            text = _("This sign-in link is not valid. Type /web in the chat with the bot to get a new one.")
        return message(_("Cannot sign in"), text, 410 if state != web_login.LinkState.UNKNOWN else 404)

    def too_many() -> HTMLResponse:
        return message(_("Too many attempts"), _("Too many sign-in attempts from this address. Wait a few minutes "
                                                 "and try again."), 429)

    def client(request: Request) -> str:
        return request.client.host if request.client else "?"

    async def login_page(request: Request) -> Response:
        """The sign-in link: a page with a button (a POST spends the link; previews and scanners only GET)."""
        if not limiter.allow(client(request)):
            return too_many()
        token = request.path_params["token"]
        state = await run_in_threadpool(in_session, lambda s: web_login.peek(s, token, utcnow()))
        if state != web_login.LinkState.OK:
            return link_problem(state)
        return render("login.html", token=token, signed=None)

    async def login(request: Request) -> Response:
        if not limiter.allow(client(request)):
            return too_many()
        token = request.path_params["token"]
        done = await run_in_threadpool(in_session, lambda s: web_login.redeem(s, token, utcnow()))
        if done.state != web_login.LinkState.OK or done.session_token is None:
            return link_problem(done.state)
        log.info("dashboard sign-in of person %s", done.person_id)
        response = RedirectResponse(PREFIX + "/", status_code=303)
        response.set_cookie(COOKIE, cookies.value(done.session_token), max_age=MAX_AGE, path=PREFIX,
                            httponly=True, samesite="strict", secure=secure)
        return response

    async def logout(request: Request) -> Response:
        signed = await signed_in(request)
        if signed is not None:
            form = await read_form(request)
            if not cookies.csrf_ok(signed.token, form.get("csrf")):
                return message(_("Not allowed"), _("This form has expired. Go back, reload the page and try again."),
                               403, signed)
            await run_in_threadpool(in_session, lambda s: web_login.end(s, signed.token, utcnow()))
        response = message(_("Signed out"), _("You have signed out. Type /web in the chat with the bot to sign in "
                                              "again."), 200)
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict", secure=secure)
        return response

    # ------------------------------------------------------------------ pages

    def home(session: Session, request: Request, signed: Signed, form: dict) -> Response:
        person = signed.person
        return show("rounds.html", signed, rounds=views.rounds(session, person, utcnow()),
                    unit=views.own_unit(session, person), leader=views.is_leader(person))

    def round_view(session: Session, request: Request, signed: Signed, form: dict) -> Response:
        rid = views.parse_id(request.path_params["round_id"])
        assert rid is not None
        unit_id = views.parse_id(request.query_params.get("unit"))
        data = views.round_page(session, signed.person, rid, unit_id, utcnow(), settings.min_coverage,
                                approved_only=approved(request))
        return show("round.html", signed, p=data)

    def workbook(session: Session, request: Request, signed: Signed, form: dict) -> Response:
        rid = views.parse_id(request.path_params["round_id"])
        assert rid is not None
        name, content = views.workbook(session, signed.person, rid, views.parse_id(request.query_params.get("unit")),
                                       settings.min_coverage, approved_only=approved(request))
        return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"content-disposition": f'attachment; filename="{name}"'})

    def chart(session: Session, request: Request, signed: Signed, form: dict) -> Response:
        rid = views.parse_id(request.path_params["round_id"])
        assert rid is not None
        content = views.chart(session, signed.person, rid, views.parse_id(request.query_params.get("unit")),
                              approved_only=approved(request))
        return Response(content, media_type="image/png")

    def remind(session: Session, request: Request, signed: Signed, form: dict) -> Response:
        rid = views.parse_id(request.path_params["round_id"])
        assert rid is not None
        rnd, unit, done = views.remind(session, signed.person, rid, views.parse_id(form.get("unit")), utcnow())
        held = format_datetime(done.send_at, signed.person.language or settings.default_language) \
            if done is not None and done.send_at is not None else None
        return show("done.html", signed, title=_("Remind the units that have not reported"), rnd=rnd, unit=unit,
                    reminded=done, held=held, back=f"{PREFIX}/rounds/{rnd.id}?unit={unit.id}")

    def lock(session: Session, request: Request, signed: Signed, form: dict) -> Response:
        rid = views.parse_id(request.path_params["round_id"])
        assert rid is not None
        rnd = views.lock(session, signed.person, rid, utcnow())
        return show("done.html", signed, title=_("Lock the round"), rnd=rnd, unit=None, locked=True,
                    back=f"{PREFIX}/rounds/{rnd.id}")

    def review_submission(session: Session, request: Request, signed: Signed, form: dict) -> Response:
        """Approve or return one report (the unit page's forms)."""
        sid = views.parse_id(request.path_params["submission_id"])
        done = views.decide(session, signed.person, sid, form.get("action", ""), form.get("comment", ""),
                            views.parse_id(form.get("revision")), utcnow())
        return show("review_done.html", signed, title=_("Review"), d=done, bulk=None,
                    back=f"{PREFIX}/units/{done.unit.id}", up=f"{PREFIX}/rounds/{done.round.id}"
                    + (f"?unit={done.unit.parent_id}" if done.unit.parent_id is not None else ""))

    def bulk_confirm(session: Session, request: Request, signed: Signed, form: dict) -> Response:
        rid = views.parse_id(request.path_params["round_id"])
        assert rid is not None
        data = views.bulk_page(session, signed.person, rid, views.parse_id(request.query_params.get("unit")))
        return show("review_bulk.html", signed, p=data)

    def bulk_approve(session: Session, request: Request, signed: Signed, form: dict) -> Response:
        rid = views.parse_id(request.path_params["round_id"])
        assert rid is not None
        rnd, unit, done, left = views.approve_all(session, signed.person, rid, views.parse_id(form.get("unit")),
                                                  views.parse_id(form.get("mark")), utcnow())
        return show("review_done.html", signed, title=_("Approve all"), d=None, bulk=(rnd, unit, done, left),
                    back=f"{PREFIX}/rounds/{rnd.id}?unit={unit.id}", up=None)

    def unit_view(session: Session, request: Request, signed: Signed, form: dict) -> Response:
        uid = views.parse_id(request.path_params["unit_id"])
        assert uid is not None
        return show("unit.html", signed, p=views.unit_page(session, signed.person, uid, utcnow(), settings.min_coverage))

    def notice_list(session: Session, request: Request, signed: Signed, form: dict) -> Response:
        return show("notices.html", signed, rows=views.notice_list(session, signed.person))

    def notice_view(session: Session, request: Request, signed: Signed, form: dict) -> Response:
        nid = views.parse_id(request.path_params["notice_id"])
        assert nid is not None
        return show("notice.html", signed, p=views.notice_page(session, signed.person, nid))

    def notice_remind(session: Session, request: Request, signed: Signed, form: dict) -> Response:
        nid = views.parse_id(request.path_params["notice_id"])
        assert nid is not None
        queued = views.remind_notice(session, signed.person, nid, views.parse_id(form.get("seen")), utcnow())
        notice = views.visible_notice(session, signed.person, nid)
        return show("done.html", signed, title=_("Remind those who have not acknowledged"), rnd=None, unit=None,
                    notice=notice, resent=queued, back=f"{PREFIX}/notices/{nid}")

    app = Starlette(routes=[
        Route("/", page(home)),
        Route("/login/{token}", login_page, methods=["GET"]),
        Route("/login/{token}", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/rounds/{round_id}", page(round_view)),
        Route("/rounds/{round_id}/workbook.xlsx", page(workbook)),
        Route("/rounds/{round_id}/chart.png", page(chart)),
        Route("/rounds/{round_id}/remind", page(remind, post=True), methods=["POST"]),
        Route("/rounds/{round_id}/lock", page(lock, post=True), methods=["POST"]),
        Route("/rounds/{round_id}/approve", page(bulk_confirm), methods=["GET"]),
        Route("/rounds/{round_id}/approve", page(bulk_approve, post=True), methods=["POST"]),
        Route("/submissions/{submission_id}/review", page(review_submission, post=True,
                                                          max_form=MAX_REVIEW_FORM_BYTES), methods=["POST"]),
        Route("/units/{unit_id}", page(unit_view)),
        Route("/notices", page(notice_list)),
        Route("/notices/{notice_id}", page(notice_view)),
        Route("/notices/{notice_id}/remind", page(notice_remind, post=True), methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ])
    headers = dict(SECURITY_HEADERS)
    if secure:  # behind https: browsers keep to https for this host
        headers["strict-transport-security"] = "max-age=31536000"
    return SecurityHeaders(app, headers)  # type: ignore[return-value]


def approved(request: Request) -> bool:
    """The page's basis: approved reports only (?approved=1) or every submitted one."""
    return request.query_params.get("approved") == "1"


async def read_form(request: Request, limit: int = MAX_FORM_BYTES) -> dict[str, str]:
    """The fields of a small url-encoded form (the dashboard's forms carry a token and an id or two)."""
    body = await request.body()
    if len(body) > limit:
        return {}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v for k, v in reversed(pairs)}  # the first value of a repeated field wins


class SecurityHeaders:
    """Adds the security header set to every response of the wrapped app."""

    def __init__(self, app: Any, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self.names = set(headers)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(event: dict) -> None:
            if event["type"] == "http.response.start":
                headers = [(k, v) for k, v in event.get("headers", []) if k.decode("latin-1").lower() not in self.names]
                event = dict(event, headers=headers + self.headers)
            await send(event)

        await self.app(scope, receive, with_headers)
