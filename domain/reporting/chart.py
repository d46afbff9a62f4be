"""Charts as PNG bytes: two panels of horizontal bars drawn with Pillow (bars, values, axis, grid, legend), in
about a hundredth of a second — the weekly digests of a thousand departments meeting at the same hour are drawn
in seconds, not minutes."""
from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

# the CJK font bizbot ships (a subset of Noto Sans CJK SC, fonts/README.md: ASCII, Latin-1, punctuation and every
# ideograph of the CJK Unified block); a machine's own full CJK font is preferred when it has one, for names
# with characters the subset lacks
FONT = Path(__file__).resolve().parent / "fonts" / "bizbot-cjk-sans.otf"
SYSTEM_CJK = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
WIDTH, HEIGHT = 1000, 450
BLUE, ORANGE, GREY = "#4C72B0", "#DD8452", "#BBBBBB"
INK, GRID = "#222222", "#E6E6E6"


@cache
def font_path() -> Path:
    """The font the charts draw with: a machine's full CJK font (SYSTEM_CJK, the first found), else bizbot's."""
    for candidate in SYSTEM_CJK:
        if Path(candidate).is_file():
            return Path(candidate)
    return FONT


@cache
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path()), size)


def _ticks(top: float) -> tuple[float, list[float]]:
    """A scale from 0 covering `top` with whole-number ticks 1, 2 or 5 × 10^k apart (at most six)."""
    top = max(top, 1.0)
    raw = top / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1.0, step)
    end = step * math.ceil(top / step)
    return end, [step * i for i in range(int(round(end / step)) + 1)]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _panel(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], title: str,
           rows: Sequence[tuple[str, Sequence[tuple[float, str]]]], legend: Sequence[tuple[str, str]]) -> None:
    """One panel in `box` (left, top, right, bottom): its title, a row of bars a label (each bar a value and
    its colour), the values at the bars' ends, a scale from 0 with its grid, and a legend when given."""
    x0, y0, x1, y1 = box
    label_font, tick_font, title_font = font(13), font(11), font(15)
    draw.text(((x0 + x1) / 2, y0 + 18), title, font=title_font, fill=INK, anchor="mm")
    labels = [label for label, _bars in rows]
    left = x0 + 12 + int(max((draw.textlength(label, font=label_font) for label in labels), default=0)) + 10
    left = min(left, x0 + (x1 - x0) // 2)
    top, bottom, right = y0 + (58 if legend else 40), y1 - 34, x1 - 42
    end, ticks = _ticks(max((value for _label, bars in rows for value, _colour in bars), default=0.0))
    scale = (right - left) / end
    for tick in ticks:
        x = left + tick * scale
        draw.line((x, top, x, bottom), fill=GRID)
        draw.line((x, bottom, x, bottom + 4), fill=INK)
        draw.text((x, bottom + 7), _number(tick), font=tick_font, fill=INK, anchor="mt")
    draw.rectangle((left, top, right, bottom), outline=INK)
    if rows:
        pitch = (bottom - top) / len(rows)
        for n, (label, bars) in enumerate(rows):
            middle = top + pitch * (n + 0.5)
            draw.text((left - 8, middle), label, font=label_font, fill=INK, anchor="rm")
            thickness = pitch * 0.76 / max(1, len(bars))
            for k, (value, colour) in enumerate(bars):
                upper = middle - pitch * 0.38 + k * thickness
                if value > 0:
                    draw.rectangle((left, upper, left + value * scale, upper + thickness - 1), fill=colour)
                if value > 0 or len(bars) == 1:
                    draw.text((left + value * scale + 4, upper + thickness / 2), _number(value), font=tick_font,
                              fill=INK, anchor="lm")
    x = right  # the legend in a row above the frame, at its right
    for name, colour in reversed([(name, colour) for name, colour in legend if name]):
        x -= draw.textlength(name, font=tick_font)
        draw.text((x, top - 10), name, font=tick_font, fill=INK, anchor="lm")
        draw.rectangle((x - 18, top - 15, x - 6, top - 5), fill=colour)
        x -= 32


def render(bars_title: str, bars: list[tuple[str, int]], pairs_title: str,
           pairs: list[tuple[str, float, float]], legend: tuple[str, str]) -> bytes:
    """Two panels: horizontal bars (leads by stage), and pairs of bars (this week against the one before)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    _panel(draw, (0, 0, WIDTH // 2, HEIGHT), bars_title, [(name, [(float(n), BLUE)]) for name, n in bars], [])
    _panel(draw, (WIDTH // 2, 0, WIDTH, HEIGHT), pairs_title,
           [(name, [(a, ORANGE), (b, GREY)] if legend[1] else [(a, ORANGE)]) for name, a, b in pairs],
           [(legend[0], ORANGE), (legend[1], GREY)])
    out = io.BytesIO()
    image.save(out, format="PNG")
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
