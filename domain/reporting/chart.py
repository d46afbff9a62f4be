"""Charts as PNG bytes, drawn with matplotlib's Agg canvas (no display, no pyplot global state)."""
from __future__ import annotations

import io
from functools import cache

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "AR PL UMing CN")


@cache
def _cjk_family() -> str | None:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FAMILIES if name in installed), None)


def can_write(lang: str) -> bool:
    """Whether labels in `lang` can be drawn (Chinese needs a CJK font on the machine)."""
    return lang != "zh" or _cjk_family() is not None


def render(bars_title: str, bars: list[tuple[str, int]], pairs_title: str,
           pairs: list[tuple[str, float, float]], legend: tuple[str, str]) -> bytes:
    """Two panels: horizontal bars (leads by stage), and pairs of bars (this week against the one before)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    family = _cjk_family()
    fig = Figure(figsize=(10, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    names = [name for name, _n in bars][::-1]
    left.barh(names, [n for _name, n in bars][::-1], color="#4C72B0")
    left.set_title(bars_title)
    left.xaxis.get_major_locator().set_params(integer=True)
    labels = [name for name, _a, _b in pairs]
    ys = list(range(len(labels)))[::-1]
    height = 0.38
    right.barh([y + height / 2 for y in ys], [a for _n, a, _b in pairs], height, label=legend[0], color="#DD8452")
    right.barh([y - height / 2 for y in ys], [b for _n, _a, b in pairs], height, label=legend[1], color="#BBBBBB")
    right.set_yticks(ys, labels)
    right.set_title(pairs_title)
    right.xaxis.get_major_locator().set_params(integer=True)
    right.legend(loc="lower right", fontsize="small")
    if family:
        for text in fig.findobj(Text):
            text.set_fontfamily(family)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
