"""What every figure shares: a new figure of a standard size, readable tick labels."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

BLUE, ORANGE, GREEN, GREY, RED = "#1f77b4", "#ff7f0e", "#2ca02c", "#7f7f7f", "#d62728"


def new_figure(width: float = 6.4, height: float = 4.8) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def tick_labels(categories: list[Any]) -> list[str]:
    """Wrapped labels for a few categories; one short, rotatable line for many."""
    if len(categories) <= 5:
        return [wrap(c) for c in categories]
    return [short(c, 20) for c in categories]


def short(text: Any, limit: int = 24) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wrap(text: Any, width: int = 14, lines: int = 3) -> str:
    """``text`` on up to ``lines`` lines of ``width`` characters (… if cut)."""
    import textwrap

    parts = textwrap.wrap(str(text), width=width, break_long_words=True) or [""]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = short(parts[-1] + " …", width)
    return "\n".join(parts)
