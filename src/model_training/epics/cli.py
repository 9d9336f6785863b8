"""``model-training-epic``: build an epic's input folders.

Examples::

    uv run model-training-epic credit-risk --force      # rebuild the default epic
    uv run model-training-epic sklearn diabetes         # an example epic
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model_training.epics import credit_risk, sklearn_examples


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="model-training-epic", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="project root (default: the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)
    rebuild = sub.add_parser("credit-risk", help="rebuild the embedded credit_risk epic from data/1_raw")
    rebuild.add_argument("--force", action="store_true", help="replace existing split files")
    example = sub.add_parser("sklearn", help="an example epic from a data set bundled with scikit-learn")
    example.add_argument("name", choices=sorted(sklearn_examples.EXAMPLES))
    example.add_argument("--epic-id", default=None, help="epic id (default: the data set's name)")
    example.add_argument("--seed", type=int, default=42)
    example.add_argument("--force", action="store_true", help="replace an existing epic")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "credit-risk":
            written = credit_risk.build(args.root, force=args.force)
        else:
            written = sklearn_examples.build(
                args.root, args.name, epic_id=args.epic_id, seed=args.seed, force=args.force
            )
    except (FileExistsError, FileNotFoundError) as exc:
        print(f"model-training-epic: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    for path in written:
        print(f"wrote {path.relative_to(args.root) if path.is_relative_to(args.root) else path}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
