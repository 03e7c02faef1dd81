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


@pytest.mark.parametrize(("off", "polished"), [(1e-8, False), (1e-3, True)])
def test_a_line_search_that_gives_up_at_the_optimum_needs_no_polish(
        monkeypatch: pytest.MonkeyPatch, off: float, polished: bool) -> None:
    """On millions of customers the mean NLL's last digits are noise, and L-BFGS-B's line search
    gives up ("ABNORMAL") a hair from the optimum (Gamma-Gamma on 1.68M repeat buyers: 6e-8 in
    the log-parameters). Here L-BFGS-B is made to stop so, ``off`` from the optimum: one Newton
    step finds it within 1e-6 and the fit has converged without the Nelder-Mead polish; farther
    off, the polish still decides."""
    from scipy import optimize

    from clvlab.models import _mle

    methods: list[str] = []
    minimize = optimize.minimize

    def stops_off(*args: object, **kwargs: object) -> optimize.OptimizeResult:
        methods.append(str(kwargs.get("method")))
        res = minimize(*args, **kwargs)  # type: ignore[arg-type]
        if kwargs.get("method") == "L-BFGS-B":
            res.x, res.success, res.message = res.x + off, False, "ABNORMAL: "
            res.fun = args[0](res.x)  # type: ignore[operator]
        return res

    monkeypatch.setattr(_mle.optimize, "minimize", stops_off)
    res = maximize_likelihood(_nll, np.zeros(2), gradient=_grad, n_customers=N, param_names=("theta", "k"),
                              unbounded=(True, False))
    assert methods == (["L-BFGS-B", "Nelder-Mead"] if polished else ["L-BFGS-B"])
    assert res.status.ok
    assert res.params == pytest.approx([-3.0, 2.0], abs=1e-6)


def test_a_newton_step_too_long_leaves_the_fit_to_the_polish() -> None:
    from clvlab.models._mle import _newton_check

    def objective(z: np.ndarray) -> float:
        return float(0.5 * np.sum((z - 1.0) ** 2))

    def jac(z: np.ndarray) -> np.ndarray:
        return z - 1.0

    z, converged = _newton_check(objective, jac, np.array([1.0 + 1e-3, 1.0]))
    assert not converged
    assert z.tolist() == [1.0 + 1e-3, 1.0]
    z, converged = _newton_check(objective, jac, np.array([1.0 + 1e-8, 1.0]))
    assert converged
    assert z == pytest.approx([1.0, 1.0], abs=1e-12)
    z, converged = _newton_check(lambda z: -objective(z), lambda z: -jac(z), np.array([1.0 + 1e-8, 1.0]))
    assert not converged, "a maximum is not a minimum"
