"""Stage steps 6 to 9: test metrics, explanations, fairness, robustness, learning curves, business impact, acceptance."""
