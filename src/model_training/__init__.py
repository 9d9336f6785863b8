"""The model-training stage of a data-science workflow as a Kedro project."""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__version__ = "0.1.0"

# Known harmless warnings from the stack (STACK.md §9), silenced at the source of
# the run so the log shows only what matters.
warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated")

TYPE_HINT_REQUEST = "Add type hints to the `predict` method"


@contextmanager
def type_hint_request_unsaid() -> Iterator[None]:
    """Define MLflow pyfunc model classes inside this: MLflow asks for type
    hints on ``predict`` when such a class is defined, and its own "once"
    filter, set around that request, overrides any "ignore" filter of ours.
    The classes leave them out on purpose (MLflow would validate inputs
    against them; the signature inferred from the input example does that).
    Every other warning raised inside is passed on."""
    with warnings.catch_warnings(record=True) as raised:
        yield
    for warning in raised:
        if TYPE_HINT_REQUEST not in str(warning.message):
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
