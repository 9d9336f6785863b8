"""Building epics: the embedded credit_risk epic, scikit-learn examples, any CSV."""
