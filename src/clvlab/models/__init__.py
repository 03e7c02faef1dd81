"""Buy-till-you-die and spend models, written in NumPy/SciPy (the product's core).

Every model follows scikit-learn conventions: hyperparameters in ``__init__``, ``fit`` returns
``self``, fitted attributes end in ``_`` (``params_``, ``log_likelihood_``,
``standard_errors_``), ``summary()``, ``save()``/``load()`` as JSON.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BaseModel": "clvlab.models._base",
    "load_model": "clvlab.models._base",
    "FitStatus": "clvlab.models._mle",
    "BetaGeo": "clvlab.models.beta_geo",
    "ModifiedBetaGeo": "clvlab.models.modified_beta_geo",
    "ParetoNBD": "clvlab.models.pareto_nbd",
    "BetaGeoCovariates": "clvlab.models.covariates",
    "ParetoNBDCovariates": "clvlab.models.covariates",
    "BetaGeoBetaBinom": "clvlab.models.beta_geo_beta_binom",
    "ShiftedBetaGeo": "clvlab.models.shifted_beta_geo",
    "GammaGamma": "clvlab.models.gamma_gamma",
}
__all__ = sorted(_EXPORTS)

#: the names the CLI accepts for each model (``clvlab fit bgnbd``)
MODEL_ALIASES = {
    "bgnbd": "BetaGeo",
    "mbgnbd": "ModifiedBetaGeo",
    "pareto": "ParetoNBD",
    "paretonbd": "ParetoNBD",
    "bgbb": "BetaGeoBetaBinom",
    "sbg": "ShiftedBetaGeo",
    "gammagamma": "GammaGamma",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    msg = f"module 'clvlab.models' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return __all__
