"""The bot's HTTP side: one ASGI app (Starlette) served by uvicorn inside the bot process.

`bot.web.app.build_app` mounts /healthz, the webhooks of the channels that use one,
and the signed file links /f/<token>. A playground or a dashboard mounts here later.
"""
