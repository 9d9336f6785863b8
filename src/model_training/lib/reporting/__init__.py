"""Stage steps 10 to 12: the package's contents, the model card, the monitoring baseline."""
