"""The IBM telco customer churn example (contractual data): a feature frame and a churn label.

The file is not shipped (``shared/data/churn/telco_customer_churn.csv`` beside the clone, the
public "Telco Customer Churn" sample of IBM): 7,043 customers, one row each, 19 attributes
(contract, tenure in months, services, charges) and ``Churn`` (Yes/No: left within the last month).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from clvlab.errors import DataValidationError


def prepare_telco(source: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """``(X, y)`` for :class:`clvlab.ChurnModel` from the telco CSV (a path or its frame).

    ``X``: every attribute, indexed by ``customerID``; text columns stay text (the model treats
    them as categories), ``SeniorCitizen``, ``tenure`` and the charges are numbers.
    ``TotalCharges`` is blank for the 11 customers with ``tenure`` 0 (not billed yet): 0 there.
    ``y``: 1 = churned (``Churn`` Yes).
    """
    frame = pd.read_csv(source, dtype=str) if not isinstance(source, pd.DataFrame) else source.astype(str)
    need = {"customerID", "tenure", "MonthlyCharges", "TotalCharges", "Churn"}
    missing = sorted(need - set(frame.columns))
    if missing:
        msg = f"prepare_telco: the telco file lacks the column(s) {missing}"
        raise DataValidationError(msg, hint="pass telco_customer_churn.csv as published")
    frame = frame.set_index("customerID")
    y = frame.pop("Churn").str.strip().eq("Yes").astype("int64").rename("churned")
    for col in ("SeniorCitizen", "tenure", "MonthlyCharges"):
        if col in frame:
            frame[col] = pd.to_numeric(frame[col])
    total = pd.to_numeric(frame["TotalCharges"].str.strip().replace("", None), errors="coerce")
    frame["TotalCharges"] = total.where(total.notna() | (frame["tenure"] > 0), 0.0)
    return frame, y
