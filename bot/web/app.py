"""The ASGI app of the bot process: /healthz, channel webhooks, signed file links.

Served by uvicorn in the bot's own event loop (bot/app.py), beside the channels, so
a webhook hands its update to the channel directly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bot.channels.base import Channel
from bot.config import Settings
from bot.i18n import _
from bot.services import files
from bot.web.links import Signer

log = logging.getLogger(__name__)


def build_app(settings: Settings, channels: Mapping[str, Channel], signer: Signer, engine: Engine | None = None,
              secret: str | None = None, extra: Sequence[BaseRoute] = ()) -> Starlette:
    """The app: routes for health, webhooks of the running channels, file links, (with a database)
    the dashboard under /dashboard, and `extra` (the playground's pages when it runs)."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True, "channels": sorted(channels)})

    async def file_link(request: Request) -> Response:
        key = signer.unsign(request.path_params["token"])
        if key is None:
            return PlainTextResponse(_("This link is not valid or has expired. Open the file again from the bot's "
                                       "latest message, or send the command again for a new link."),
                                     status_code=403)
        path = files.path_of(settings.data_dir, key)
        if path is None:
            return PlainTextResponse(_("This file is no longer kept. Send the command again to get it anew."),
                                     status_code=404)
        return FileResponse(path, filename=files.display_name(key))

    async def webhook(request: Request) -> Response:
        channel = channels.get(request.path_params["channel"])
        if channel is None:
            return JSONResponse({"ok": False, "description": "no such channel"}, status_code=404)
        body = await request.body()
        status, answer = await channel.webhook({k.lower(): v for k, v in request.headers.items()}, body)
        return JSONResponse(answer, status_code=status)

    dashboard = []
    if engine is not None and secret is not None:
        from bot.web.dashboard.routes import build_dashboard

        dashboard = [Mount("/dashboard", app=build_dashboard(settings, engine, secret))]
    return Starlette(routes=[
        *dashboard,
        Route("/healthz", healthz),
        Route("/f/{token}", file_link),
        Route("/{channel}/webhook", webhook, methods=["POST"]),
        *extra,
    ])
