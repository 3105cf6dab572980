"""PNG charts for trainers (matplotlib, Agg backend): bars, ratings, confusion matrix, confidence histogram.

Chinese labels need a CJK font; the first one found (WenQuanYi, Noto CJK, Source Han, …) is used.
Without one, Chinese runs in labels are replaced by "…" rather than drawn as empty boxes
(`apt-get install fonts-wqy-microhei` gives real Chinese labels).
"""

from __future__ import annotations

import functools
import glob
import re
from typing import Any, List, Optional, Sequence

from bot.language import CJK_CHAR

__all__ = ["bar_chart", "ratings_chart", "confusion_png", "histogram_png", "cjk_font", "reset_font_cache"]

# A run of what the default font (DejaVu Sans) cannot draw: Chinese characters (bot.language's definition),
# CJK symbols and punctuation, kana, Yijing hexagrams and full-width forms.
_NEEDS_CJK_FONT = re.compile(rf"(?:{CJK_CHAR.pattern}|[\u3000-\u33ff\u4dc0-\u4dff\uff00-\uffef])+")
_CJK_FONT_FILES = ("wqy", "noto*cjk", "sourcehan", "source-han", "droidsansfallback", "simhei", "msyh", "pingfang")


@functools.lru_cache(maxsize=1)
def _setup_fonts() -> Optional[str]:
    """Configure matplotlib's fonts once per process; the CJK font's name, None without one.

    Process-wide cache (the font search reads the disk); reset with reset_font_cache().
    """
    import matplotlib

    font = _find_cjk_font()
    sans = ["DejaVu Sans"] if not font else [font, "DejaVu Sans"]
    matplotlib.rcParams["font.sans-serif"] = sans + list(matplotlib.rcParams["font.sans-serif"])
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["axes.unicode_minus"] = False
    return font


def reset_font_cache() -> None:
    """Forget the font found (tests that add or remove fonts); the next chart looks again."""
    _setup_fonts.cache_clear()


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _setup_fonts()
    return plt


def _find_cjk_font() -> Optional[str]:
    from matplotlib import font_manager

    for pattern in _CJK_FONT_FILES:
        for path in sorted(glob.glob(f"/usr/share/fonts/**/*{pattern}*", recursive=True)):
            try:
                font_manager.fontManager.addfont(path)
                name: str = font_manager.FontProperties(fname=path).get_name()
                return name
            except Exception:
                continue
    return None


def cjk_font() -> Optional[str]:
    _plt()
    return _setup_fonts()


def label(text: str, width: int = 38) -> str:
    """A chart-safe, shortened label."""
    _plt()
    text = " ".join(text.split())
    if not _setup_fonts():
        text = _NEEDS_CJK_FONT.sub("…", text)
    return text if len(text) <= width else text[: width - 1] + "…"


def bar_chart(path: str, labels: Sequence[str], values: Sequence[float], title: str, xlabel: str,
              color: str = "#ff6900") -> str:
    """Horizontal bars, first label on top."""
    plt = _plt()
    height = max(2.5, 0.45 * len(labels) + 1.2)
    fig, ax = plt.subplots(figsize=(9, height), dpi=100)
    shown = [label(t) for t in labels] or ["(nothing yet)"]
    vals = list(values) or [0]
    ax.barh(range(len(shown)), vals, color=color)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels(shown)
    ax.invert_yaxis()
    for i, v in enumerate(vals):
        ax.text(v, i, f" {v:g}", va="center")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(list(vals) + [1]) * 1.15)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def ratings_chart(path: str, days: Sequence[str], up: Sequence[int], down: Sequence[int],
                  title: str = "Answer ratings") -> str:
    """Stacked 👍/👎 bars per day."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=100)
    x = list(range(len(days)))
    ax.bar(x, up, color="#2e9d5b", label="helpful (up)")
    ax.bar(x, down, bottom=up, color="#d9453d", label="not helpful (down)")
    ax.set_xticks(x)
    ax.set_xticklabels([d[5:] for d in days])
    total_up, total = sum(up), sum(up) + sum(down)
    share = f" — {100 * total_up / total:.0f}% helpful" if total else " — no ratings yet"
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max([u + d for u, d in zip(up, down, strict=False)] + [1]) * 1.2)
    ax.set_title(title + share)
    ax.legend(loc="upper left", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def confusion_png(path: str, labels: List[str], matrix: List[List[int]], title: str = "Intent confusion matrix") -> str:
    """Rows = true intent, columns = predicted; counts in the cells, the diagonal is right."""
    import numpy as np

    plt = _plt()
    m = np.asarray(matrix)
    size = max(5.0, 0.55 * len(labels) + 2.5)
    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    ax.imshow(m, cmap="Oranges")
    ax.set_xticks(range(len(labels)))
    ax.set_yticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=60, ha="right")
    ax.set_yticklabels(labels)
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("true intent")
    top = m.max() if m.size else 0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                colour = "white" if m[i, j] > top / 2 else "black"
                ax.text(j, i, str(m[i, j]), ha="center", va="center", color=colour, fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def histogram_png(path: str, right: Sequence[float], wrong: Sequence[float], threshold: Optional[float] = None,
                  title: str = "Intent confidence") -> str:
    """Confidence of right vs wrong predictions (where to put the fallback threshold)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    bins = [i / 20 for i in range(21)]
    ax.hist([list(right), list(wrong)], bins=bins, stacked=True, color=["#2e9d5b", "#d9453d"],
            label=[f"right ({len(right)})", f"wrong ({len(wrong)})"])
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1)
        ax.text(threshold, ax.get_ylim()[1] * 0.95, f" fallback {threshold:g}", va="top")
    ax.set_xlabel("confidence")
    ax.set_ylabel("test messages")
    ax.set_title(title)
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
