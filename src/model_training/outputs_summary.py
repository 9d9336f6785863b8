"""The block a run ends with: where each kind of output was written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def relative(path: Path, root: Path) -> str:
    """``path`` relative to the project root (as given when outside it)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def summarize_outputs(datasets: dict[str, Any], root: Path) -> list[str]:
    """One line per kind of output (package, card, reports, figures, other files)."""
    from model_training.datasets import (
        FigureDirectoryDataset,
        HTMLReportDataset,
        ModelPackageDataset,
        RegisteredModelDataset,
        ReportJSONDataset,
        TimestampedJSONDataset,
    )

    lines: list[str] = []
    reports: list[Path] = []
    other: list[Path] = []
    for name, dataset in datasets.items():
        if isinstance(dataset, ModelPackageDataset):
            versions = dataset.versions()
            if versions:
                newest = max(versions)
                folder = dataset.local_path
                lines.append(
                    f"  model package   {relative(versions[newest], root)} "
                    f"(version {newest}; metadata_v{newest}.json, requirements.txt, "
                    "monitoring_baseline.json beside it)"
                )
                lines.append(
                    f"  model card      {relative(folder / 'model_card.md', root)}"
                )
        elif isinstance(dataset, RegisteredModelDataset):
            try:
                record = json.loads(dataset.local_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            version = record.get("registered_version")
            if version is not None:
                lines.append(
                    f"  registered      models:/{record['registered_model_name']}/"
                    f"{version}"
                )
        elif isinstance(dataset, FigureDirectoryDataset):
            count = len(dataset.load())
            lines.append(
                f"  figures         {relative(dataset.local_path, root)}/ ({count} PNG)"
            )
        elif isinstance(dataset, ReportJSONDataset):
            reports.append(dataset.local_path)
        elif isinstance(dataset, TimestampedJSONDataset):
            newest = sorted(dataset.local_path.glob("*.json"))
            if newest:
                lines.append(f"  monitoring      {relative(newest[-1], root)}")
        elif isinstance(dataset, HTMLReportDataset):
            if dataset.local_path.is_file():
                lines.append(
                    f"  report          {relative(dataset.local_path, root)} "
                    "(open it in a browser)"
                )
        else:
            path = (getattr(dataset, "_describe", dict)() or {}).get("filepath")
            if path and name and not name.startswith("params:"):
                other.append(Path(str(path)))
    performance = [p for p in reports if p.name.endswith("_model_performance.json")]
    for path in performance:
        lines.append(f"  metrics         {relative(path, root)}")
    rest = [p for p in reports if p not in performance]
    for folder in sorted({p.parent for p in rest}):
        names = ", ".join(sorted(p.name for p in rest if p.parent == folder))
        lines.append(f"  reports         {relative(folder, root)}/: {names}")
    for path in other:
        lines.append(f"  file            {relative(path, root)}")
    order = (
        "report",
        "model package",
        "model card",
        "registered",
        "metrics",
        "reports",
    )
    return sorted(
        lines,
        key=lambda line: next(
            (
                i
                for i, label in enumerate(order)
                if line.strip().startswith(label + " ")
            ),
            len(order),
        ),
    )
