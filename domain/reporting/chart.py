"""Charts as PNG bytes, drawn with matplotlib's Agg canvas (no display, no pyplot global state)."""
from __future__ import annotations

import io
import json
import unicodedata
from functools import cache
from pathlib import Path

# the CJK font bizbot ships (a subset of Noto Sans CJK SC, fonts/README.md); a machine's own full CJK font is
# preferred when it has one, for names with characters the subset lacks
FONT = Path(__file__).resolve().parent / "fonts" / "bizbot-cjk-sans.otf"
SYSTEM_CJK = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
              "SimHei", "Microsoft YaHei", "PingFang SC")


@cache
def families() -> tuple[str, ...]:
    """The font families the charts draw with, first choice first (matplotlib takes each glyph from the first
    family that has it): a full CJK font of the machine's, bizbot's own, then matplotlib's default for the rest.
    bizbot's font is registered through matplotlib's public font_manager once per process."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(FONT))
    shipped = font_manager.FontProperties(fname=str(FONT)).get_name()
    installed = {f.name for f in font_manager.fontManager.ttflist}
    system = [name for name in SYSTEM_CJK if name in installed][:1]
    return (*system, shipped, "DejaVu Sans")


WIDTH = 10.0  # inches


def _margin(labels: list[str]) -> float:
    """Room for a panel's y labels at 10 points, as a share of the figure's width: a wide (CJK) character about
    0.15 inch, another about 0.07, plus the ticks; at most a fifth of the figure."""
    inches = max((sum(0.15 if unicodedata.east_asian_width(ch) in "WF" else 0.07 for ch in label)
                  for label in labels), default=0.0)
    return min(0.2, (inches + 0.3) / WIDTH)


def render(bars_title: str, bars: list[tuple[str, int]], pairs_title: str,
           pairs: list[tuple[str, float, float]], legend: tuple[str, str]) -> bytes:
    """Two panels: horizontal bars (leads by stage), and pairs of bars (this week against the one before)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.text import Text
    from matplotlib.ticker import MaxNLocator

    chosen = list(families())
    fig = Figure(figsize=(WIDTH, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    names = [name for name, _n in bars][::-1]
    labels = [name for name, _a, _b in pairs]
    # the panels placed by their labels' width, worked out from the characters: a layout engine measuring the
    # drawn text costs a third of the drawing
    left_at = _margin(names)
    right_at = 0.5 + _margin(labels)
    left = fig.add_axes((left_at, 0.1, 0.47 - left_at, 0.8))
    right = fig.add_axes((right_at, 0.1, 0.98 - right_at, 0.8))
    left.barh(names, [n for _name, n in bars][::-1], color="#4C72B0")
    left.set_title(bars_title)
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    ys = list(range(len(labels)))[::-1]
    height = 0.38
    right.barh([y + height / 2 for y in ys], [a for _n, a, _b in pairs], height, label=legend[0], color="#DD8452")
    right.barh([y - height / 2 for y in ys], [b for _n, _a, b in pairs], height, label=legend[1], color="#BBBBBB")
    right.set_yticks(ys, labels)
    right.set_title(pairs_title)
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.legend(loc="lower right", fontsize="small")
    for text in fig.findobj(Text):
        text.set_fontfamily(chosen)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


# --- a chart kept as its description, drawn where it is sent ------------------------------------------------
# what a chart shows is worked out where it falls due (a small JSON document, its words already in its reader's
# language); the PNG is drawn only as it is sent, by a worker process (bot.charts), off the transaction that
# made it and off the threads that serve commands

DESCRIBED = "application/vnd.bizbot.chart+json"


def describe(bars_title: str, bars: list[tuple[str, int]], pairs_title: str,
             pairs: list[tuple[str, float, float]], legend: tuple[str, str]) -> bytes:
    """The arguments `render` takes, as JSON."""
    return json.dumps({"chart": [bars_title, bars, pairs_title, pairs, list(legend)]},
                      ensure_ascii=False).encode("utf-8")


def draw(description: bytes) -> bytes:
    """The PNG a description (`describe`) stands for."""
    bars_title, bars, pairs_title, pairs, legend = json.loads(description.decode("utf-8"))["chart"]
    return render(bars_title, [(str(n), int(v)) for n, v in bars], pairs_title,
                  [(str(n), float(a), float(b)) for n, a, b in pairs], (str(legend[0]), str(legend[1])))
