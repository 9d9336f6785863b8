"""Figures, built with matplotlib's object API (no pyplot, no global backend)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from model_training.lib.figures.base import short

logger = logging.getLogger(__name__)

SPLIT_COLOURS = {"train": "#1f77b4", "validation": "#ff7f0e", "test": "#2ca02c"}


def target_distribution(
    report: dict[str, Any], target: str, frames: dict[str, Any]
) -> Figure:
    """Class shares per split (classification) or target histograms (regression)."""
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    balance = next((c for c in report["checks"] if c["name"] == "class_balance"), None)
    if balance is not None:
        counts = balance["details"]["counts"]
        classes = sorted({k for split in counts.values() for k in split}, key=str)
        width = 0.8 / len(counts)
        x = np.arange(len(classes))
        for i, (split, per_class) in enumerate(counts.items()):
            total = sum(per_class.values()) or 1
            shares = [per_class.get(c, 0) / total for c in classes]
            bars = ax.bar(
                x + i * width,
                shares,
                width,
                label=f"{split} (n={total})",
                color=SPLIT_COLOURS.get(split),
            )
            ax.bar_label(bars, labels=[f"{s:.0%}" for s in shares], fontsize=8)
        ax.set_xticks(x + width * (len(counts) - 1) / 2, [short(c) for c in classes])
        ax.set_ylabel("share of rows")
        ax.set_xlabel(target)
        ax.set_title(f"Class balance of '{target}' by split")
    else:
        for split, frame in frames.items():
            values = frame.get_column(target).drop_nulls().cast(float).to_numpy()
            ax.hist(
                values,
                bins=30,
                alpha=0.5,
                density=True,
                label=f"{split} (n={values.size})",
                color=SPLIT_COLOURS.get(split),
            )
        ax.set_xlabel(target)
        ax.set_ylabel("density")
        ax.set_title(f"Distribution of '{target}' by split")
    ax.legend(frameon=False)
    return fig


def missing_values(report: dict[str, Any], columns: list[str]) -> Figure:
    """Share of missing values per column and split."""
    check = next(c for c in report["checks"] if c["name"] == "missing_values")
    nulls = check["details"]["null_counts"]
    sizes = {
        split: report["summary"][f"{split}_size"]
        for split in ("train", "validation", "test")
        if f"{split}_size" in report["summary"]
    }
    height = max(3.0, 0.28 * len(columns) + 1.2)
    fig = Figure(figsize=(7.5, height), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(columns))
    bar = 0.8 / max(len(sizes), 1)
    largest = 0.0
    for i, split in enumerate(sizes):
        shares = [
            nulls.get(split, {}).get(c, 0) / max(sizes[split], 1) for c in columns
        ]
        largest = max([largest, *shares])
        label = f"{split} (n={sizes[split]})"
        ax.barh(y + i * bar, shares, bar, label=label, color=SPLIT_COLOURS[split])
    ax.set_yticks(y + bar, [short(c, 32) for c in columns])
    ax.invert_yaxis()
    ax.set_xlim(0, min(1.0, max(0.05, largest * 1.15)))
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.set_xlabel("share of rows missing")
    ax.set_title("Missing values by column and split")
    if largest == 0:
        ax.text(
            0.5,
            0.5,
            "No missing values in any column or split",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=12,
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#999999"},
        )
    ax.legend(frameon=False, loc="lower right")
    return fig


def file_stem(name: str) -> str:
    """``name`` as a file name on every system: a feature's name may hold a
    path separator or a character Windows refuses (``größe/Ω``), which
    becomes ``_``; letters of any alphabet, digits, ``.``, ``-`` stay."""
    return re.sub(r"[^\w.\-]", "_", name).strip(".") or "_"


class Figures:
    """Figures drawn one at a time: one that fails is left out and named, never
    fatal. Each is named by :func:`file_stem` of the name it is given."""

    def __init__(self) -> None:
        self.figures: dict[str, Figure] = {}
        self.failed: dict[str, str] = {}

    def add(self, name: str, draw: Callable[[], Figure]) -> None:
        """Draw one figure; a failure is logged and recorded."""
        try:
            self.figures[file_stem(name)] = draw()
        except Exception as exc:  # a figure must never end the run
            self._fail(name, exc)

    def add_all(self, draw: Callable[[], dict[str, Figure]]) -> None:
        """Draw a group of figures that one function makes together."""
        try:
            self.figures.update({file_stem(k): f for k, f in draw().items()})
        except Exception as exc:
            self._fail("problem-type figures", exc)

    def _fail(self, name: str, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        logger.warning("Figure %s could not be drawn and is left out: %s", name, error)
        self.failed[name] = error

    def report(self) -> dict[str, Any]:
        """Which figures were drawn and which failed (the performance JSON's ``figures``)."""
        return {"written": sorted(self.figures), "failed": self.failed}
