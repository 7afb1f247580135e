"""Log lines never carry the bot token; a repeated error is logged a few times, not a million."""

from __future__ import annotations

import io
import logging

import pytest

from bot import logsafe

TOKEN = "7012345678:AAH3xYq-Z_realistic-secret-0123456789ab"


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level, httpx_level = root.level, logging.getLogger("httpx").level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # as if an operator turned it on
    logsafe.install([TOKEN], burst=3, period=60, handlers=[handler], hook=False)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)
    logging.getLogger("httpx").setLevel(httpx_level)


def test_the_token_is_masked_in_messages_arguments_and_tracebacks(captured):
    logging.getLogger("httpx").info('HTTP Request: POST https://api.telegram.org/bot%s/getUpdates "200 OK"', TOKEN)
    logging.getLogger("x").debug("token %s", "999999:" + "B" * 35)  # anything shaped like a token
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
    except RuntimeError:
        logging.getLogger("telegram").exception("failed")
    text = captured.getvalue()
    assert TOKEN not in text and "BBBBBBBBBB" not in text and "AAH3xYq" not in text
    assert text.count("<token>") == 3 and "RuntimeError" in text


def test_a_repeated_error_is_rate_limited(captured):
    log = logging.getLogger("poller")
    for n in range(10_000):
        log.error("getUpdates failed: %s", n)
    log.warning("something else")
    lines = captured.getvalue().splitlines()
    assert len(lines) == 4  # three of the repeated error, then the other one


def test_info_is_not_limited(captured):
    for n in range(50):
        logging.getLogger("chatty").info("step %s", n)
    assert len(captured.getvalue().splitlines()) == 50
