"""The embedded default epic ``credit_risk``, built from the German credit data.

Source: Statlog (German Credit Data), UCI, CC BY 4.0; see
``data/1_raw/credit_risk/SOURCE.md``. Rebuild with
``uv run model-training-epic credit-risk --force``: the output is identical
byte for byte (stratified 60/20/20 split, seed 42).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from model_training.lib.data_quality.epic_builder import (
    feature_documentation,
    infer_schema,
    split_frame,
    write_epic,
)

EPIC_ID = "credit_risk"
RAW_FILE = Path("data/1_raw/credit_risk/german_credit.csv")
SEED = 42
TARGET = "credit_risk"

DESCRIPTIONS = {
    "applicant_id": "row number of the applicant in the original german.data file (1-1000)",
    "checking_account_status": "balance of the applicant's existing checking account ('...' stands for the balance)",
    "duration_months": "duration of the credit in months",
    "credit_history": "past repayment behaviour",
    "purpose": "what the credit is for",
    "credit_amount": "amount of credit in Deutsche Mark",
    "savings_account_bonds": "savings account / bonds",
    "present_employment_since": "time in current employment",
    "installment_rate_pct_income": "instalment rate as a percentage of disposable income, coded 1-4 (bands, not raw percentages)",
    "personal_status_sex": "sex and marital status combined (the female category mixes marital states; no single women are recorded)",
    "other_debtors_guarantors": "other debtors or guarantors",
    "present_residence_since": "time at present residence, coded 1-4 (bands)",
    "property": "most valuable property",
    "age_years": "age in years",
    "other_installment_plans": "other instalment plans",
    "housing": "housing situation",
    "existing_credits_at_bank": "number of existing credits at this bank",
    "job": "employment category",
    "people_liable_maintenance": "number of people the applicant provides maintenance for",
    "telephone": "telephone registered under the applicant's name",
    "foreign_worker": "applicant is a foreign worker",
    "credit_risk": "TARGET: credit rated good or bad; the positive class (of interest) is `bad`",
}
UNITS = {"duration_months": "months", "credit_amount": "DM", "age_years": "years"}
SENSITIVE = ["personal_status_sex", "age_years", "foreign_worker"]

INTRO = """
Statlog (German Credit Data): 1,000 credit applicants from a German bank in the 1970s,
20 attributes and the credit rating (`good` 70 %, `bad` 30 %). Source: UCI Machine
Learning Repository, dataset 144, CC BY 4.0; citation: Hofmann, H. (1994),
<https://doi.org/10.24432/C5NC77>. See `data/1_raw/credit_risk/SOURCE.md` for the
copy used, the cost matrix and the caveats.

Built by `uv run model-training-epic credit-risk` from
`data/1_raw/credit_risk/german_credit.csv`: an `applicant_id` (the row number in the
original file) was added, then the rows were split 60/20/20 into train, validation and
test, stratified by `credit_risk`, with seed 42. Nothing else was changed; there are
no missing values.

Caveats: bad credits are over-represented (a stratified sample, not the bank's
portfolio), so probabilities are calibrated to a 30 % bad rate. Grömping (2019) found
that the code tables do not match the data for several attributes; treat the meaning of
the categorical labels, `personal_status_sex` in particular, with care. The sensitive
attributes `personal_status_sex` and `age_years` are also model inputs: the fairness
checks evaluate groups derived from them (sex, age band <= 25 / > 25) and
`foreign_worker` (whose group `no` has only 37 applicants).
"""


def build(root: Path, *, force: bool = False) -> list[Path]:
    """Build the credit_risk epic's feature folder under ``root``."""
    raw = pl.read_csv(root / RAW_FILE, infer_schema_length=None)
    raw = raw.with_row_index("applicant_id", offset=1).with_columns(
        pl.col("applicant_id").cast(pl.Int64)
    )
    frames = split_frame(raw, seed=SEED, stratify=TARGET)
    schema = infer_schema(
        raw,
        EPIC_ID,
        target=TARGET,
        roles={"applicant_id": "identifier"},
        sensitive=SENSITIVE,
        descriptions=DESCRIPTIONS,
    )
    schema = schema.model_copy(
        update={
            "columns": [
                c.model_copy(update={"unit": UNITS.get(c.name)}) for c in schema.columns
            ]
        }
    )
    documentation = feature_documentation(
        schema, title="Feature documentation: credit_risk", intro=INTRO, frames=frames
    )
    return write_epic(
        root, EPIC_ID, frames, schema, documentation, spec=None, force=force
    )
