"""How a word is capitalized when it is written: lowercase, Capitalized or UPPERCASE.

Real handwriting capitalizes (sentence starts, names, forms written in block capitals), and a
model that has only seen lowercase letters cannot read a capital-letter hand. The harness
case-folds both sides, so a capitalized rendering of a lexicon word is still that word. Scripts
without case (Chinese) are left as they are.
"""

from __future__ import annotations

CASES = ("lower", "title", "upper")
# Share of each casing: evaluation splits and training use the same mix.
CASE_MIX = {"lower": 0.6, "title": 0.2, "upper": 0.2}


def apply_case(text: str, case: str) -> str:
    """``text`` written in ``case`` (one of CASES)."""
    if case == "upper":
        return text.upper()
    if case == "title":
        return text[:1].upper() + text[1:]
    if case == "lower":
        return text
    raise ValueError(f"unknown case {case!r}; expected one of {', '.join(CASES)}")


def pick_case(u: float, mix: dict[str, float] = CASE_MIX) -> str:
    """The casing at quantile ``u`` in [0, 1) of ``mix`` (a deterministic draw from one uniform)."""
    total = sum(mix.values())
    acc = 0.0
    for case in CASES:
        acc += mix.get(case, 0.0) / total
        if u < acc:
            return case
    return CASES[-1] if mix.get(CASES[-1], 0.0) > 0 else "lower"


def case_variant(text: str, u: float, mix: dict[str, float] = CASE_MIX) -> str:
    """A deterministic capitalization of ``text`` at quantile ``u`` (no-op for caseless scripts)."""
    if text.upper() == text.lower():  # Chinese, digits: no case
        return text
    return apply_case(text, pick_case(u, mix))
