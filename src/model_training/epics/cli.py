"""``model-training-epic``: build an epic's input folders.

Examples::

    uv run model-training-epic credit-risk --force      # rebuild the default epic
    uv run model-training-epic sklearn diabetes         # an example epic
    uv run model-training-epic from-csv --epic-id churn --csv churn.csv \
        --target churned --problem-type binary_classification
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model_training.epics import (
    credit_risk,
    from_csv,
    sklearn_examples,
    statsmodels_examples,
)
from model_training.lib.core.kinds import PROBLEM_TYPES, kind


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="model-training-epic", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path.cwd(),
        help="project root (default: the current folder)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rebuild = sub.add_parser(
        "credit-risk", help="rebuild the embedded credit_risk epic from data/1_raw"
    )
    rebuild.add_argument(
        "--force", action="store_true", help="replace existing split files"
    )
    series = sub.add_parser(
        "co2",
        help="the time-series example epic: monthly Mauna Loa CO2 (bundled with statsmodels)",
    )
    series.add_argument("--force", action="store_true", help="replace the epic")
    example = sub.add_parser(
        "sklearn", help="an example epic from a data set bundled with scikit-learn"
    )
    example.add_argument("name", choices=sorted(sklearn_examples.EXAMPLES))
    example.add_argument(
        "--epic-id", default=None, help="epic id (default: the data set's name)"
    )
    example.add_argument("--seed", type=int, default=42)
    example.add_argument(
        "--force", action="store_true", help="replace an existing epic"
    )
    new = sub.add_parser(
        "from-csv", help="a new epic from your CSV (one file, or train/validation/test)"
    )
    new.add_argument("--epic-id", required=True)
    new.add_argument(
        "--target", default=None, help="the column to predict (supervised types)"
    )
    new.add_argument("--problem-type", required=True, choices=PROBLEM_TYPES)
    new.add_argument(
        "--label-column",
        default=None,
        help="clustering/anomaly detection: true labels kept for evaluation only",
    )
    new.add_argument(
        "--frequency",
        default=None,
        help="time series: pandas offset alias (D, W, MS, h)",
    )
    new.add_argument(
        "--horizon", type=int, default=None, help="time series: steps ahead"
    )
    new.add_argument(
        "--series-column", default=None, help="time series: the series id column"
    )
    new.add_argument(
        "--seasonal-period",
        type=int,
        default=None,
        help="time series: periods per season",
    )
    new.add_argument(
        "--contamination",
        type=float,
        default=None,
        help="anomaly detection: the expected share of anomalies",
    )
    new.add_argument("--csv", type=Path, help="one file, split 60/20/20 here")
    new.add_argument("--train", type=Path)
    new.add_argument("--validation", type=Path)
    new.add_argument("--test", type=Path)
    new.add_argument(
        "--time-column", default=None, help="split chronologically on this column"
    )
    new.add_argument(
        "--id-column",
        action="append",
        default=[],
        help="an identifier column (repeatable)",
    )
    new.add_argument(
        "--ignore-column",
        action="append",
        default=[],
        help="a column kept in the files but never a model input, e.g. one that "
        "leaks the target or is known only later (repeatable)",
    )
    new.add_argument(
        "--group-column",
        default=None,
        help="rows of one group (patient, customer, ...) stay in one split and "
        "one cross-validation fold; never a model input",
    )
    new.add_argument(
        "--fill-gaps",
        choices=("interpolate", "ffill"),
        default=None,
        help="time series with --csv: add missing periods and fill empty values "
        "(linear interpolation in time, or the last value carried forward)",
    )
    new.add_argument(
        "--drop-missing-target",
        action="store_true",
        help="leave out rows without a target value (by default they stop the build)",
    )
    new.add_argument("--seed", type=int, default=42)
    new.add_argument("--force", action="store_true", help="replace an existing epic")
    return parser


def _from_csv(args: argparse.Namespace) -> list[Path]:
    splits = None
    if args.csv is None:
        given = {"train": args.train, "validation": args.validation, "test": args.test}
        if not all(given.values()):
            raise ValueError("give --csv, or all of --train, --validation and --test")
        splits = given
    if kind(args.problem_type).target == "required" and not args.target:
        raise ValueError(f"--target is required for {args.problem_type}")
    if args.fill_gaps and not (kind(args.problem_type).temporal and args.csv):
        raise ValueError("--fill-gaps is for a time series given as one --csv file")
    if args.group_column and (args.time_column or kind(args.problem_type).temporal):
        raise ValueError(
            "--group-column is for rows that are not in time order; a time "
            "split keeps the future out already (several series: --series-column)"
        )
    notes: list[str] = []
    written = from_csv.build(
        args.root,
        args.epic_id,
        target=args.target,
        problem_type=args.problem_type,
        csv=args.csv,
        splits=splits,
        time_column=args.time_column,
        id_columns=args.id_column,
        ignore_columns=args.ignore_column,
        group_column=args.group_column,
        label_column=args.label_column,
        contamination=args.contamination,
        frequency=args.frequency,
        horizon=args.horizon,
        series_column=args.series_column,
        seasonal_period=args.seasonal_period,
        seed=args.seed,
        force=args.force,
        drop_missing_target=args.drop_missing_target,
        fill_gaps=args.fill_gaps,
        notes=notes,
    )
    for note in notes:
        sys.stdout.write(f"note: {note}\n")
    return written


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "credit-risk":
            written = credit_risk.build(args.root, force=args.force)
        elif args.command == "co2":
            written = statsmodels_examples.build(args.root, force=args.force)
        elif args.command == "from-csv":
            written = _from_csv(args)
        else:
            written = sklearn_examples.build(
                args.root,
                args.name,
                epic_id=args.epic_id,
                seed=args.seed,
                force=args.force,
            )
    except (FileExistsError, FileNotFoundError, ValueError) as exc:
        sys.stderr.write(f"model-training-epic: {exc}\n")
        return 1
    for path in written:
        shown = path.relative_to(args.root) if path.is_relative_to(args.root) else path
        sys.stdout.write(f"wrote {shown}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
