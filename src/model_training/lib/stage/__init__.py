"""Each pipeline's steps as plain functions over data: what its nodes call.

They sit above the problem-type registry (they pick the problem type's
behaviour), read no files and import nothing of Kedro or MLflow."""
