"""The bot's HTTP side: one ASGI app (Starlette) served by uvicorn inside the bot process.

`bot.web.app.build_app` mounts /healthz, the webhooks of the channels that use one,
the signed file links /f/<token>, and the web dashboard under /dashboard (bot/web/dashboard/,
signed in with a single-use link that /web sends in the chat).
"""
