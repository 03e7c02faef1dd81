"""Experiments: stratified assignment with a persisted seed, analysis with CUPED and regression
adjustment, power and duration (see docs/experiments.md)."""
