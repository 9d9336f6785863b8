"""The building blocks the problem types assemble: the algorithm registry,
preprocessing, forecasters, unsupervised models, calibration and the final
model's wrappers, feature selection, cross-validation splits and fold scores."""
