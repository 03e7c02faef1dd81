"""From models to money: CLV scores, RFM segments, holdout evaluation."""
