"""Real data at the edges of the models: customers first seen on the last day, fits at a
boundary or on degenerate data (one verdict, ``fit_status_``), heavy-tailed spend, huge counts."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvlab
from clvlab.cli import app
from clvlab.datasets.synthetic import simulate_bgnbd
from clvlab.errors import ConvergenceWarning, DataValidationError
from clvlab.models import FitStatus
from clvlab.pipeline import compare_models

BTYD = ("BetaGeo", "ModifiedBetaGeo", "ParetoNBD")


@pytest.fixture(scope="module")
def cal_first_day() -> pd.DataFrame:
    """CDNOW sample split on 1997-03-25, a day with 30 first purchases: T_cal = 0 for them."""
    tx = clvlab.datasets.load_cdnow("sample")
    return clvlab.calibration_holdout(tx, calibration_end="1997-03-25",
                                      observation_end="1998-06-30", freq="W")


@pytest.mark.slow
def test_calibration_holdout_with_first_purchase_on_the_end_day_fits_evaluates_scores(
    cal_first_day: pd.DataFrame,
) -> None:
    cal = cal_first_day
    new = cal["T_cal"] == 0
    assert new.sum() == 63  # first purchase in the calibration end's week
    rfm = cal.rename(columns=lambda c: c.removesuffix("_cal"))
    for name in BTYD:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # short calibration: boundary
            model = getattr(clvlab, name)().fit(cal)
        assert np.isfinite(model.log_likelihood_)
        ll = model.log_likelihood_individual(rfm["frequency"], rfm["recency"], rfm["T"])
        # nothing can happen in no time: the likelihood of (0, 0, 0) is 1
        np.testing.assert_allclose(ll[new.to_numpy()], 0.0, atol=1e-12)
        assert model.log_likelihood_ == pytest.approx(ll.sum(), rel=1e-9)
        ev = clvlab.evaluate_holdout(model, cal)
        assert np.isfinite(ev["mae"])
        # point scores (the interval of a boundary fit is the CLV-interval item's, not this one's)
        scores = clvlab.score_customers(rfm, model, freq="W", n_draws=0)
        assert len(scores) == len(cal)
        assert scores["p_alive"].between(0, 1).all()
        assert np.isfinite(scores["clv"]).all()


@pytest.mark.slow
def test_compare_models_ranks_fits_at_a_boundary_after_converged_ones(
    cal_first_day: pd.DataFrame,
) -> None:
    """On this split BG/NBD and Pareto/NBD peak at a boundary; Pareto/NBD has the lowest
    holdout MAE but cannot be trusted, so MBG/NBD is chosen and the others say why."""
    table = compare_models(cal_first_day)
    assert table.index[0] == "ModifiedBetaGeo"
    assert bool(table.loc["ModifiedBetaGeo", "converged"])
    for name in ("BetaGeo", "ParetoNBD"):
        assert not table.loc[name, "converged"]
        assert table.loc[name, "status"] == "boundary"
        assert "penalizer" in table.loc[name, "status_message"]
    assert table.loc["ParetoNBD", "holdout_mae"] < table.loc["ModifiedBetaGeo", "holdout_mae"]


def test_errors_name_the_customer_id(cal_first_day: pd.DataFrame) -> None:
    bad = cal_first_day.copy()
    customer = bad.index[10]
    bad.loc[customer, "recency_cal"] = bad.loc[customer, "T_cal"] + 5
    with pytest.raises(DataValidationError,
                       match=rf"1 invalid customers: 'customer {customer}', column 'recency'"):
        clvlab.BetaGeo().fit(bad)


def test_repeat_purchases_without_recency_are_refused() -> None:
    with pytest.raises(DataValidationError,
                       match=r"row 1, column 'recency', value 0.0: must be > 0 when frequency > 0"):
        clvlab.BetaGeo().fit(frequency=[3.0, 0.0, 1.0], recency=[0.0, 0.0, 2.0], T=[5.0, 5.0, 5.0])


def _steady_buyers(n: int = 200) -> pd.DataFrame:
    """Everyone buys steadily and bought in the last week: no sign of dropout, the MLE diverges."""
    rng = np.random.default_rng(0)
    T = rng.integers(20, 52, n).astype(float)
    x = rng.poisson(0.5 * T).astype(float) + 1
    return pd.DataFrame({"frequency": x, "recency": T, "T": T})


@pytest.mark.parametrize("name", BTYD)
def test_a_diverging_fit_stops_and_reports_the_boundary(name: str) -> None:
    """Pareto/NBD used to take minutes here (197 s on a set like this); now a bounded budget."""
    with pytest.warns(ConvergenceWarning, match="boundary") as caught:
        model = getattr(clvlab, name)().fit(_steady_buyers())
    assert len(caught) == 1
    status = model.fit_status_
    assert not status.ok
    assert not model.converged_
    assert status.at_boundary
    assert status.label == "boundary"
    assert "\n" not in status.message(name)


@pytest.mark.parametrize("name", BTYD)
def test_all_zero_frequencies_are_degenerate_not_success(name: str) -> None:
    data = pd.DataFrame({"frequency": 0.0, "recency": 0.0, "T": np.arange(1.0, 101.0)})
    with pytest.warns(ConvergenceWarning, match="all frequencies are 0"):
        model = getattr(clvlab, name)().fit(data)
    assert model.fit_status_.label == "degenerate data"
    assert not model.converged_


def test_fit_status_survives_save_and_load(tmp_path: Path) -> None:
    with pytest.warns(ConvergenceWarning):
        model = clvlab.BetaGeo().fit(_steady_buyers())
    model.save(tmp_path / "bg.json")
    loaded = clvlab.load_model(tmp_path / "bg.json")
    assert loaded.fit_status_ == model.fit_status_
    assert isinstance(loaded.fit_status_, FitStatus)


def test_modified_beta_geo_standard_errors_on_continuous_T() -> None:
    """The r gradient was wrong when T barely repeats (an aliased buffer): the fit wandered
    455 iterations and had no standard error for r."""
    data = simulate_bgnbd(
        5000, r=0.5, alpha=3.0, a=0.8, b=2.5, T=np.random.default_rng(3).uniform(10, 60, 5000),
        seed=8)
    model = clvlab.ModifiedBetaGeo().fit(data)
    assert model.fit_status_.ok
    assert all(np.isfinite(v) and v > 0 for v in model.standard_errors_.values())


@pytest.mark.parametrize("name", BTYD)
def test_huge_frequency_fits_in_memory_bounded_by_the_rows(name: str) -> None:
    """One customer with 1e9 purchases used to allocate ~8 GB per term in BG/NBD and MBG/NBD
    (MemoryError at 1e8); Pareto/NBD followed it to the boundary for minutes (now a bounded
    budget of iterations out there)."""
    data = clvlab.datasets.load_cdnow_summary()[["frequency", "recency", "T"]].copy()
    first = data.index[0]
    data.loc[first, ["frequency", "recency"]] = [1e9, data.loc[first, "T"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # that customer drives alpha to 0
        model = getattr(clvlab, name)().fit(data)
    assert np.isfinite(model.log_likelihood_)
    assert model.fit_status_.label == "boundary"
    p = model.probability_alive(data["frequency"], data["recency"], data["T"])
    assert np.all((p >= 0) & (p <= 1))


def _lognormal_spend() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    x = rng.integers(1, 6, 3000).astype(float)
    m = np.array([rng.lognormal(3.0, 2.5, int(k)).mean() for k in x])
    return pd.DataFrame({"frequency": x, "recency": x, "T": x + 10.0, "monetary_value": m})


def test_heavy_tailed_spend_is_refused_never_negative() -> None:
    """Lognormal spend with sigma 2.5 gives q < 1: no population mean, so no expected spend
    (it used to come out negative for 2,186 of 3,000 customers, and CLV with it)."""
    data = _lognormal_spend()
    with pytest.warns(ConvergenceWarning, match=r"q = 0\.\d+ <= 1.*does not exist"):
        gg = clvlab.GammaGamma().fit(data)
    assert gg.params_["q"] <= 1
    assert gg.fit_status_.label == "degenerate data"
    with pytest.raises(DataValidationError, match=r"no expected spend.*clip monetary_value"):
        gg.expected_spend(data["frequency"], data["monetary_value"])
    with pytest.warns(ConvergenceWarning):
        bg = clvlab.BetaGeo().fit(data)
    with pytest.raises(DataValidationError, match="does not exist"):
        clvlab.score_customers(data, bg, gg, freq="W")


def test_cli_fit_shows_the_status_in_one_line_and_evaluate_takes_a_penalizer(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rfm.csv"
    _steady_buyers().to_csv(path, index_label="customer_id")
    runner = CliRunner()
    result = runner.invoke(app, ["fit", "pareto", str(path), "--freq", "W"])
    assert result.exit_code == 0, result.output
    status = [line for line in result.output.splitlines() if "fit status:" in line]
    assert len(status) == 1
    assert "boundary" in status[0]
    assert "RuntimeWarning" not in result.output
    assert "--penalizer" in runner.invoke(app, ["evaluate", "--help"]).output


@pytest.mark.slow
def test_cli_evaluate_with_first_day_customers_penalizer_and_status(tmp_path: Path) -> None:
    """``evaluate`` on a workspace whose calibration end has first purchases: it fits, takes
    ``--penalizer``, and reports the fit status in one line (also in ``--json``)."""
    ws = tmp_path / "cdnow.duckdb"
    with clvlab.connect(str(ws)) as workspace:
        workspace.load_transactions(clvlab.datasets.load_cdnow("sample"))
    runner = CliRunner()
    args = ["evaluate", "bgnbd", "-w", str(ws), "--calibration-end", "1997-03-25", "--freq", "W"]
    plain = runner.invoke(app, args)
    assert plain.exit_code == 0, plain.output
    lines = [line for line in plain.output.splitlines() if "fit status:" in line]
    assert len(lines) == 1
    assert "boundary" in lines[0]
    assert "--penalizer 0.001" in lines[0]
    penalized = runner.invoke(app, ["--json", *args, "--penalizer", "0.001"])
    assert penalized.exit_code == 0, penalized.output
    record = json.loads(penalized.stdout)
    assert record["model"]["hyperparameters"]["penalizer"] == 0.001
    assert record["model"]["fit_status"]["label"] in {"converged", "boundary"}


@pytest.mark.parametrize(("a", "b_post"), [(0.5, 0.5), (1000.0, 0.5), (0.793, 2.426), (2.0, 30.0)])
def test_bg_expected_purchases_of_an_alive_customer_by_its_definition(a: float, b_post: float) -> None:
    """eq. 10's hypergeometric part against its definition, E over p ~ Beta(a, b') of
    (1 - (scale / (scale + p t))^shape) / p, by quadrature: finite at a + b' = 1 (it was NaN,
    a pole of 2F1 cancelled by its factor) and for large a (it overflowed to NaN)."""
    from scipy import integrate, special

    from clvlab.models.beta_geo import _expected_given_beta

    shape, scale, t = 0.49, 10.85, 10.0

    def integrand(p: float) -> float:
        dens = np.exp((a - 1) * np.log(p) + (b_post - 1) * np.log1p(-p) - special.betaln(a, b_post))
        return float(dens * -np.expm1(shape * (np.log(scale) - np.log(scale + p * t))) / p)

    expected, _ = integrate.quad(integrand, 0.0, 1.0, epsabs=0.0, epsrel=1e-9, limit=400,
                                 points=[a / (a + b_post)])
    got = _expected_given_beta(np.array([t]), np.array([shape]), np.array([scale]), a,
                               np.array([b_post]))
    assert got[0] == pytest.approx(expected, rel=1e-6)
