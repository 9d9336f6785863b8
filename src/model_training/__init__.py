"""The model-training stage of a data-science workflow as a Kedro project."""

import warnings

__version__ = "0.1.0"

# Known harmless warnings from the stack (STACK.md §9), silenced at the source of
# the run so the log shows only what matters. kedro-mlflow imports MLflow's
# pyfunc model class before the project's settings are read, so this lives here.
warnings.filterwarnings("ignore", message=r".*Add type hints to the `predict` method")
warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated")
