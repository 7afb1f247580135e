"""Chart pictures of a round (matplotlib, Agg backend: no display needed), as PNG bytes.

One portrait picture sized for a phone screen (1080 px wide): completeness by upper-level
union as stacked bars (on time / late / missing), then progress against target for the
chosen indicators as bars with a 100% line. Labels are Vietnamese with diacritics; DejaVu
Sans, which ships with matplotlib, has every Vietnamese letter.
"""

from __future__ import annotations

import io
import textwrap

from bot.i18n import _, current_language
from bot.models import Level
from bot.services import figures, reporting
from bot.services.rollup import IndicatorResult, RoundRollup, short_name
from bot.textvn import format_number

WIDTH_IN = 7.2
DPI = 150  # 7.2 in × 150 dpi = 1080 px
FONT = "DejaVu Sans"
COLOURS = {"on_time": "#2e7d32", "late": "#f9a825", "missing": "#c62828", "bar": "#1565c0",
           "bar_done": "#2e7d32", "grid": "#dddddd"}
MAX_BARS = 40


def _pct(value: float) -> str:
    return figures.format_percent(value)


def _label(text: str, width: int = 28) -> str:
    return "\n".join(textwrap.wrap(text, width)[:2]) or text


def chart_indicators(rollup: RoundRollup, codes: list[str] | None = None) -> list[IndicatorResult]:
    """The indicators to draw: those asked for, else every one with a target and data."""
    if codes:
        wanted = [c.upper() for c in codes]
        return [r for r in rollup.indicators if r.indicator.code in wanted]
    return [r for r in rollup.indicators if r.attainment() is not None]


def render_round_chart(rollup: RoundRollup, codes: list[str] | None = None) -> bytes:
    """A PNG: completeness by group, then % of target reached for the chosen indicators."""
    results = chart_indicators(rollup, codes)[:MAX_BARS]
    # one bar per upper-level union under the scope, as /tonghop lists them; CĐCS directly under the
    # scope (a province has some since the district federations ended) count in the total only
    groups = [(gid, u) for gid, u in rollup.groups.items() if u.level != Level.GRASSROOTS]
    bars = [(short_name(u.name), rollup.completeness_by_group[gid]) for gid, u in groups][:MAX_BARS]
    bars.append((_("Total"), rollup.completeness))
    top_h = 0.9 + 0.42 * len(bars)
    bottom_h = 0.9 + 0.55 * max(1, len(results))
    import matplotlib  # imported on first use: a second of start-up time for every bot start otherwise

    matplotlib.use("Agg")  # render to memory, never to a window
    from matplotlib.figure import Figure as MplFigure

    with matplotlib.rc_context({"font.family": FONT, "font.size": 11}):
        fig = MplFigure(figsize=(WIDTH_IN, 1.4 + top_h + bottom_h), dpi=DPI, layout="constrained")
        ax1, ax2 = fig.subplots(2, 1, height_ratios=[top_h, bottom_h])
        scope = rollup.root.name if rollup.root is not None else _("all units")
        fig.suptitle(_label(f"{rollup.round.title} — {short_name(scope)}", 48), fontsize=13, fontweight="bold")
        if rollup.reviews is not None:  # a picture may travel without its caption: it says its basis itself
            fig.supxlabel(_label(rollup.basis(), 90), fontsize=9, color="#444444")
        _completeness(ax1, bars)
        _progress(ax2, results)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _completeness(ax, bars) -> None:  # type: ignore[no-untyped-def]
    names = [_label(name) for name, _c in bars][::-1]
    counts = [c for _n, c in bars][::-1]
    ys = range(len(bars))
    left = [0.0] * len(bars)
    for key, label in (("on_time", _("on time")), ("late", _("late")), ("missing", _("not submitted"))):
        widths = [100.0 * getattr(c, key) / c.expected if c.expected else 0.0 for c in counts]
        ax.barh(ys, widths, left=left, color=COLOURS[key], label=label, height=0.65)
        left = [a + b for a, b in zip(left, widths)]
    for y, c in zip(ys, counts):
        text = f"{c.submitted}/{c.expected}"
        ax.text(1.5, y, text, va="center", ha="left", color="white", fontsize=10, fontweight="bold")
    ax.set_yticks(list(ys), names)
    ax.set_xlim(0, 100)
    ax.set_xlabel("%")
    ax.set_title(_("Who has reported"), loc="left", fontsize=12, fontweight="bold")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=9, frameon=False,
              borderaxespad=1.6)
    ax.grid(axis="x", color=COLOURS["grid"])
    ax.set_axisbelow(True)


def _progress(ax, results: list[IndicatorResult]) -> None:  # type: ignore[no-untyped-def]
    ax.set_title(_("Progress against targets"), loc="left", fontsize=12, fontweight="bold")
    if not results:
        ax.text(0.5, 0.5, _("No indicator with a target has figures yet."), ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return
    names = [_label(reporting.indicator_name(r.indicator), 30) for r in results][::-1]
    values = [r.attainment() or 0.0 for r in results][::-1]
    ys = range(len(results))
    shown = [min(v, 130.0) for v in values]
    colours = [COLOURS["bar_done"] if v >= 100 else COLOURS["bar"] for v in values]
    ax.barh(ys, shown, color=colours, height=0.6)
    for y, v, s in zip(ys, values, shown):
        if s >= 25:  # inside the bar's end, clear of the 100% line
            ax.text(s - 1.5, y, _pct(v), va="center", ha="right", fontsize=10, color="white", fontweight="bold")
        else:
            ax.text(s + 1.5, y, _pct(v), va="center", fontsize=10)
    ax.axvline(100, color="#555555", linestyle="--", linewidth=1)
    ax.set_yticks(list(ys), names, fontsize=9)
    ax.set_xlim(0, 145)
    ax.set_xlabel(_("% of target reached"))
    ax.grid(axis="x", color=COLOURS["grid"])
    ax.set_axisbelow(True)
