"""The playground's HTTP routes: the page, its small JSON API, and its static files.

    GET  /                          → the page (/playground/)
    GET  /playground/api/state      the personas chosen so far and the newest revision
    GET  /playground/api/updates    messages added or edited after ?after=N (short polling)
    POST /playground/api/persona    {role, unit}: be the chair / officer / staff of a unit
    POST /playground/api/send       {chat, text}: type in a persona's chat
    POST /playground/api/press      {chat, message, option}: press a button (its position)
    POST /playground/api/file       ?chat=…&name=…[&caption=…], the file's bytes as the body
    POST /playground/api/clock      {date, time}: run the reminder planner as of that local time

Every POST needs the `X-Playground: 1` header (a page elsewhere cannot send it without
the browser asking first), a JSON body, and a chat id that names a persona in the
sandbox database. Every answer carries a Content-Security-Policy with no inline scripts.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.clock import local_today, to_local, to_utc, utcnow
from bot.db import session_scope
from bot.i18n import _, use_language
from bot.web.playground import personas
from bot.web.playground.texts import page_texts

if TYPE_CHECKING:
    from bot.web.playground.world import Playground

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]
MAX_BODY = 16_384


class SecurityHeaders:
    """Adds the playground's security headers to every answer under it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


def _templates():  # type: ignore[no-untyped-def]
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))


def refuse(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status)


async def read_json(request: Request) -> dict | None:
    """The body of a playground POST, or None when it is not one (header, type, size, JSON object)."""
    if request.headers.get("x-playground") != "1":
        return None
    if not request.headers.get("content-type", "").startswith("application/json"):
        return None
    body = await request.body()
    if len(body) > MAX_BODY:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def parse_clock(day_text: Any, time_text: Any) -> datetime | None:
    """'2026-12-17' and '09:00' (Vietnam time) → UTC; None when either cannot be read."""
    try:
        day = date.fromisoformat(str(day_text))
        hours, minutes = str(time_text).split(":")[:2]
        return to_utc(datetime.combine(day, time(int(hours), int(minutes))))
    except (ValueError, TypeError):
        return None


def routes(playground: "Playground") -> list[BaseRoute]:
    """The page at / and /playground/, its API and its static files."""
    templates = _templates()

    def page_context() -> dict:
        from sqlmodel import select

        from bot.models import Round
        from bot.services.reminders import Plan, step_time
        from bot.textvn import format_date

        with session_scope(playground.engine) as session:
            choices = personas.choices(session)
            rounds = []
            for rnd in session.exec(select(Round).where(Round.locked == False).order_by(Round.deadline_at)):  # noqa: E712
                three_days = to_local(step_time(rnd, "-3@09:00", Plan.of(rnd)))
                rounds.append({"code": rnd.code, "title": rnd.title, "deadline": format_date(to_local(rnd.deadline_at)),
                               "date": three_days.date().isoformat(), "time": three_days.strftime("%H:%M")})
        return {"choices": choices, "rounds": rounds, "today": local_today().isoformat()}

    async def page(request: Request) -> Response:
        context = await playground.run(page_context)
        with use_language("vi"):
            texts = page_texts()
        html = templates.get_template("index.html").render(t=texts, texts_json=json.dumps(texts, ensure_ascii=False).replace("<", "\\u003c"),
                                                           **context)
        return HTMLResponse(html)

    async def home(request: Request) -> Response:
        return RedirectResponse("/playground/", status_code=307)

    def _state() -> dict:
        with session_scope(playground.engine) as session, use_language("vi"):
            return {"personas": [p.as_json() for p in personas.personas(session)]}

    async def state(request: Request) -> Response:
        data = await playground.run(_state)
        data["rev"] = playground.channel.transcript.rev
        return JSONResponse(data)

    async def updates(request: Request) -> Response:
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            return refuse("after must be a number")
        transcript = playground.channel.transcript
        return JSONResponse({"rev": transcript.rev, "messages": [m.as_json() for m in transcript.since(after)]})

    def _bind(role: str, unit: str | None) -> dict | None:
        with session_scope(playground.engine) as session, use_language("vi"):
            persona = personas.bind(session, role, unit)
            return persona.as_json() if persona else None

    async def persona(request: Request) -> Response:
        data = await read_json(request)
        if data is None:
            return refuse("not a playground request", 403)
        role, unit = str(data.get("role") or ""), data.get("unit")
        found = await playground.run(_bind, role, str(unit) if unit else None)
        if found is None:
            with use_language("vi"):
                return refuse(_("There is no such unit for this role. Choose one from the list."))
        if not playground.channel.transcript.chat(found["chat"]):  # a new chat opens with /start
            await playground.channel.type_text(found["chat"], "/start")
        return JSONResponse({"ok": True, "persona": found, "rev": playground.channel.transcript.rev})

    def _known(chat: str) -> bool:
        with session_scope(playground.engine) as session:
            return personas.persona_of(session, chat) is not None

    async def checked_chat(data: dict | None) -> str | None:
        chat = str((data or {}).get("chat") or "")
        if data is None or personas.parse_chat(chat) is None:
            return None
        return chat if await playground.run(_known, chat) else None

    async def send(request: Request) -> Response:
        data = await read_json(request)
        chat = await checked_chat(data)
        if chat is None or not isinstance(data.get("text"), str):  # type: ignore[union-attr]
            return refuse("not a playground chat", 403)
        response = await playground.channel.type_text(chat, data["text"])  # type: ignore[index]
        return JSONResponse({"ok": True, "toast": response.toast, "rev": playground.channel.transcript.rev})

    async def press(request: Request) -> Response:
        data = await read_json(request)
        chat = await checked_chat(data)
        if chat is None:
            return refuse("not a playground chat", 403)
        message, option = data.get("message"), data.get("option")  # type: ignore[union-attr]
        if not isinstance(message, int) or not isinstance(option, int):
            return refuse("message and option must be numbers")
        response = await playground.channel.press(chat, message, option)
        if response is None:
            return refuse("no such button", 404)
        return JSONResponse({"ok": True, "toast": response.toast, "rev": playground.channel.transcript.rev})

    async def upload(request: Request) -> Response:
        from bot.channels.web import MAX_UPLOAD

        if request.headers.get("x-playground") != "1":
            return refuse("not a playground request", 403)
        query = request.query_params
        chat = await checked_chat({"chat": query.get("chat", "")})
        if chat is None or not query.get("name"):
            return refuse("not a playground chat", 403)
        size = int(request.headers.get("content-length") or 0)
        if size > MAX_UPLOAD:
            with use_language("vi"):
                return refuse(_("The file is too large for the playground (at most {mb} MB).").format(
                    mb=MAX_UPLOAD // (1024 * 1024)), 413)
        content = await request.body()
        if not content or len(content) > MAX_UPLOAD:
            return refuse("empty or too large", 413)
        response = await playground.channel.send_file(chat, query["name"], content, query.get("caption", ""))
        return JSONResponse({"ok": True, "toast": response.toast, "rev": playground.channel.transcript.rev})

    def _plan(now: datetime) -> dict:
        from bot.services import reminders
        from bot.textvn import format_datetime

        with session_scope(playground.engine) as session, use_language("vi"):
            due, queued = reminders.run_planner_as_of(session, now, utcnow())
            fresh = [d for d in due if not d.already_queued]
            lines = [_("  {round} · step {step} · {what} · {unit} · {person}").format(
                round=d.round_code, step=d.step, what=_("digest") if d.is_digest else _("reminder"),
                unit=d.unit_name, person=d.person_name or "—").strip() for d in fresh]
            summary = _("As of {time}: {n} push(es) due, {old} already queued earlier.").format(
                time=format_datetime(now), n=len(fresh), old=len(due) - len(fresh))
            after = _("{n} new push(es) queued: they appear in the chats of the roles concerned.").format(n=queued)
            if not due:
                after = _("Nothing is due at this time (quiet hours, no step of a round, or nobody who owes a report "
                          "among the roles chosen here).")
            return {"ok": True, "summary": summary, "lines": lines, "queued": queued, "after": after}

    async def clock(request: Request) -> Response:
        data = await read_json(request)
        if data is None:
            return refuse("not a playground request", 403)
        now = parse_clock(data.get("date"), data.get("time"))
        if now is None:
            with use_language("vi"):
                return refuse(_("Choose a date and a time, for example 17/12/2026 and 09:00."))
        return JSONResponse(await playground.run(_plan, now))

    inner = [
        Route("/", page),
        Route("/api/state", state),
        Route("/api/updates", updates),
        Route("/api/persona", persona, methods=["POST"]),
        Route("/api/send", send, methods=["POST"]),
        Route("/api/press", press, methods=["POST"]),
        Route("/api/file", upload, methods=["POST"]),
        Route("/api/clock", clock, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    from starlette.routing import Router

    return [Route("/", home), Mount("/playground", app=SecurityHeaders(Router(routes=inner)))]
