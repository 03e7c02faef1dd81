"""BG/NBD and Pareto/NBD with covariates, fitted without any: the published CDNOW estimates
(Fader, Hardie & Lee 2005) and exactly the base models' fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvlab.models import BetaGeo, BetaGeoCovariates, ParetoNBD, ParetoNBDCovariates


@pytest.mark.parametrize(("cls", "base", "paper"), [
    (BetaGeoCovariates, BetaGeo, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}),
    (ParetoNBDCovariates, ParetoNBD, {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}),
])
def test_without_covariates_gives_the_published_cdnow_estimates_of_fader_hardie_lee_2005(cls: type, base: type, paper: dict[str, float],
                                                       cdnow: pd.DataFrame) -> None:
    """Fader, Hardie & Lee (2005): the published CDNOW estimates, and the base model's fit."""
    model, ref = cls().fit(cdnow), base().fit(cdnow)
    for key, value in paper.items():
        assert round(model.params_[key], 3) == pytest.approx(value, abs=1.5e-3)
        assert model.params_[key] == pytest.approx(ref.params_[key], rel=1e-5)
        assert model.standard_errors_[key] == pytest.approx(ref.standard_errors_[key], rel=1e-3)
    assert model.log_likelihood_ == pytest.approx(ref.log_likelihood_, abs=1e-6)
    d = (cdnow["frequency"], cdnow["recency"], cdnow["T"])
    np.testing.assert_allclose(model.probability_alive(*d), ref.probability_alive(*d), rtol=1e-4)
