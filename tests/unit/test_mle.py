"""maximize_likelihood with parameters on the natural scale (covariate coefficients, any sign)."""

from __future__ import annotations

import numpy as np
import pytest

from clvlab.models._mle import maximize_likelihood

N = 400.0


def _nll(z: np.ndarray) -> float:
    """Total NLL of N customers: theta (natural scale) centred on -3, log(k) on log(2)."""
    return float(0.5 * N * ((z[0] + 3.0) ** 2 + (z[1] - np.log(2.0)) ** 2))


def _grad(z: np.ndarray) -> np.ndarray:
    return N * np.array([z[0] + 3.0, z[1] - np.log(2.0)])


@pytest.mark.parametrize("gradient", [_grad, None])
def test_an_unbounded_parameter_is_estimated_as_itself_with_its_own_standard_error(gradient: object) -> None:
    res = maximize_likelihood(_nll, np.zeros(2), gradient=gradient, n_customers=N,  # type: ignore[arg-type]
                              param_names=("theta", "k"), unbounded=(True, False))
    assert res.status.ok
    assert res.params == pytest.approx([-3.0, 2.0], abs=1e-6)
    # observed information N for theta itself; for k the delta method: SE(log k) * k
    assert res.standard_errors == pytest.approx([1 / np.sqrt(N), 2.0 / np.sqrt(N)], rel=1e-4)


def test_the_penalizer_acts_on_an_unbounded_parameter_itself() -> None:
    """Mean objective 0.5 (theta + 3)^2 + p theta^2 has its minimum at theta = -3 / (1 + 2p)."""
    res = maximize_likelihood(_nll, np.zeros(2), gradient=_grad, n_customers=N, penalizer=0.5,
                              param_names=("theta", "k"), unbounded=(True, False))
    assert res.params[0] == pytest.approx(-1.5, abs=1e-6)
