"""Stage steps 2 to 5: baselines, candidates, tuning, selection and the final fit."""
