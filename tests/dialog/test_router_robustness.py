"""Nothing a person can send makes a handler fail: arbitrary text, button data and files."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from bot.clock import to_utc
from bot.messages import FileRef, Incoming
from handlers import router
from worlds import TEST_ROUND, add_test_round, bind

NOW = to_utc(datetime(2026, 11, 21, 9, 0))
ERROR_MARK = "hệ thống vừa gặp sự cố"

moves = st.one_of(
    st.text(max_size=60).map(lambda t: ("text", t)),
    st.sampled_from(["/baocao", f"/baocao {TEST_ROUND}", "/huy", "/menu", "1", "2", "3", "Gửi", "Sửa",
                     "1.234", "bỏ qua", "quay lại", "có", "/start", "/ngonngu", "/nhaclai R1"]).map(lambda t: ("text", t)),
    st.text(max_size=70).map(lambda d: ("data", d)),
    st.integers(0, 60).map(lambda v: ("data", f"s{v}:report:line:{v % 12}")),
    st.sampled_from(["send", "edit", "back", "skip", "yes", "no", "continue", "restart", "correct", "pick"])
    .flatmap(lambda a: st.integers(0, 40).map(lambda v: ("data", f"s{v}:report:{a}:0"))),
    st.just(("file", "")),
)


def test_random_conversations_never_fail(demo_engine, settings):
    add_test_round(demo_engine)
    bind(demo_engine, "TD_001", "4242", channel="test")

    @hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(moves, min_size=1, max_size=25), st.booleans())
    def run(steps, stranger):
        user = "9999" if stranger else "4242"
        for kind, value in steps:
            incoming = Incoming(
                channel="test", user_id=user, chat_id=user, language_code="vi",
                text=value if kind == "text" else None,
                data=value if kind == "data" else None,
                file=FileRef("file-1", "a.pdf", "application/pdf") if kind == "file" else None,
            )
            response = router.handle(demo_engine, settings, incoming, now=NOW)
            for reply in response.replies:
                assert ERROR_MARK not in reply.text, (kind, value)
                assert 0 < len(reply.text)

    run()
