"""The browser harness itself: headless Chromium reaches the real bot process's HTTP server."""

from __future__ import annotations

import json

import pytest

from browser import shot
from e2e import BotProcess, free_port

pytestmark = pytest.mark.e2e


def test_chromium_reads_the_bot_health_page(fake, demo_db, tmp_path, browser_page):
    port = free_port()
    process = BotProcess(fake, demo_db, tmp_path / "bot.log", CONGDOAN_HTTP_PORT=str(port)).start()
    try:
        answer = browser_page.goto(f"http://127.0.0.1:{port}/healthz")
        assert answer is not None and answer.status == 200
        assert json.loads(browser_page.inner_text("body")) == {"ok": True, "channels": ["telegram"]}
        assert shot(browser_page, "healthz").stat().st_size > 0
    finally:
        process.stop()
