"""Long replies are split for Telegram's 4096-character limit without breaking the HTML markup."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from bot.messages import esc, plain, split_text
from bot.channels.telegram import LIMITS
from standin.html_check import parse_html

TEXT_LIMIT = LIMITS.text_length  # Telegram's, the channel these texts are split for


def well_formed(chunks: list[str], limit: int = 4096) -> None:
    for chunk in chunks:
        assert 0 < len(chunk) <= limit
        parse_html(chunk, strict=True)  # raises on a cut entity or an unclosed tag, as Telegram would


def test_a_text_of_4000_ampersands_is_never_cut_inside_an_entity():
    text = "<b>Thông báo</b>\n" + esc("&" * 4000)
    chunks = split_text(text, TEXT_LIMIT)
    well_formed(chunks)
    assert "".join(plain(c) for c in chunks).count("&") == 4000


def test_a_tag_open_at_a_break_is_closed_and_opened_again():
    text = "<b>" + "một hai ba " * 900 + "</b>\n<i>" + "x" * 5000 + "</i>\n" + '<a href="https://x.vn/a?b=1&amp;c=2">liên kết</a>'
    chunks = split_text(text, TEXT_LIMIT)
    well_formed(chunks)
    assert len(chunks) >= 4
    assert chunks[1].startswith("<b>") and chunks[0].endswith("</b>")
    assert plain("".join(chunks)).replace(" ", "").replace("\n", "") == plain(text).replace(" ", "").replace("\n", "")
    assert chunks[-1].endswith('<a href="https://x.vn/a?b=1&amp;c=2">liên kết</a>')


def test_lines_are_kept_whole_when_they_fit():
    text = "\n".join(f"Dòng {i} &amp; <b>đậm</b>" for i in range(600))
    chunks = split_text(text, TEXT_LIMIT)
    well_formed(chunks)
    assert "\n".join(chunks) == text


def test_short_texts_and_captions_are_unchanged():
    assert split_text("a &amp; <b>b</b>", TEXT_LIMIT) == ["a &amp; <b>b</b>"]
    caption = split_text(esc("&<>" * 500), 1024)[0]
    well_formed([caption], 1024)


pieces = st.lists(st.one_of(st.sampled_from(["\n", " ", "&amp;", "&lt;", "&#39;", "<b>", "</b>", "<i>", "</i>"]),
                            st.text(alphabet="aăâ xyz1&<>", min_size=1, max_size=40).map(esc)), max_size=400)


@settings(max_examples=60, deadline=None)
@given(pieces, st.integers(20, 300))
def test_any_markup_is_split_into_well_formed_chunks(parts, limit):
    text, depth = "", []
    for part in parts:  # keep the markup itself well-formed: close tags only when open
        if part in ("<b>", "<i>"):
            if part[1] in depth:
                continue
            depth.append(part[1])
        elif part in ("</b>", "</i>"):
            if not depth or depth[-1] != part[2]:
                continue
            depth.pop()
        text += part
    text += "".join(f"</{t}>" for t in reversed(depth))
    if not plain(text).strip():
        return
    chunks = split_text(text, limit)
    well_formed(chunks, limit)
    assert "".join(plain(c) for c in chunks).replace(" ", "").replace("\n", "") == \
        plain(text).replace(" ", "").replace("\n", "")
