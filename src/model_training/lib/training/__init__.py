"""Stage steps 2 to 5: baselines, candidates, CV, tuning, selection, the final model."""
