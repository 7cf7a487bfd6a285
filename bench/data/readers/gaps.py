"""Cutting a line into its transcript's words at the widest horizontal gaps, and checking the cut.

Shared by the IAM-OnDB importer (gaps between pen strokes, ``iamondb.split_line``) and ``bench data
split-words`` (gaps between ink columns of a line image, ``split_words``), so both real word sets
accept and refuse lines by one rule. A line of ``n`` words is cut at its ``n - 1`` widest gaps, and
the cut is kept only when it is clear: those gaps are clearly wider than every gap left inside a
word (``gap_ratio``), every word's width per letter is close to the line's, and every cut lies near
where the letter counts put it (a shifted cut can pass the first two checks). A refused line is
counted by its reason; it is never cut somewhere plausible instead.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Sequence

import numpy as np

GAP_RATIO = 1.5  # the narrowest gap taken must be this much wider than the widest gap left in a word
WIDTH_RATIO = 3.0  # a word's width per letter within this factor of the line's
CUT_LETTERS = 3.0  # each word gap within this many letter widths of where the letter counts put it

NOT_CLEAR = "word gaps not clearly wider than letter gaps"
BAD_WIDTH = "a word's width does not fit its letters"
FAR_CUT = "a word gap far from where the letter counts put it"
NO_WORDS = "no words in the transcript"


CONTRACTION = re.compile(r"^(?:'(?:s|d|ll|re|ve|m|t|em)|n't|s)$", re.IGNORECASE)
CROSSED_OUT = "#"  # IAM's mark for a word the writer struck out: ink with no word


def words_of(line: str) -> list[str]:
    """The written words of a transcript line, the words both splits cut. IAM separates punctuation by
    spaces ("Mr . Foot") and contractions too ("you 'll", "Foot ' s"), as French typography spaces
    "Bonjour !", but the hand does not: a token of punctuation joins the word before it (the first
    word after it when it opens the line, as an opening quote does), and a contraction joins the
    word before it. A line of punctuation alone has no word. ``#`` (IAM's struck-out word) stays a
    word of its own, since it is ink the split must account for; the IAM-OnDB importer leaves it out
    afterwards."""
    out: list[str] = []
    lead = ""
    for tok in line.split():
        punct = all(unicodedata.category(c)[0] in "PS" for c in tok) and tok != CROSSED_OUT
        joins = out and out[-1] != CROSSED_OUT and (
            punct or (CONTRACTION.match(tok) and (tok.lower() != "s" or out[-1].endswith("'"))))
        if joins:
            out[-1] += tok
        elif punct:
            lead += tok
        else:
            out.append(lead + tok)
            lead = ""
    return out


def fewer_gaps(what: str) -> str:
    """The reason for a line with fewer gaps than word boundaries (``what``: pen, ink)."""
    return f"fewer {what} gaps than words"


def cut_spans(spans: Sequence[tuple[float, float]], words: Sequence[str], gap_ratio: float = GAP_RATIO,
              what: str = "pen") -> tuple[list[tuple[int, int]] | None, str]:
    """Group ink blocks into words: ``spans`` are the blocks' (x0, x1), left to right and not
    overlapping. Returns the (first, last) block of each word and "", or None and the reason."""
    n = len(words)
    gaps = np.array([spans[i + 1][0] - spans[i][1] for i in range(len(spans) - 1)], dtype=np.float64)
    if n == 0:
        return None, NO_WORDS
    if not len(spans) or len(gaps) < n - 1:
        return None, fewer_gaps(what)
    order = np.argsort(-gaps, kind="stable")
    cut = np.sort(order[:n - 1])
    taken, left = gaps[order[:n - 1]], gaps[order[n - 1:]]
    if n > 1 and len(left) and taken.min() < gap_ratio * left.max():
        return None, NOT_CLEAR
    bounds = [-1, *cut.tolist(), len(spans) - 1]
    groups = [(bounds[i] + 1, bounds[i + 1]) for i in range(n)]
    widths = np.array([max(float(spans[b][1] - spans[a][0]), 1.0) for a, b in groups])
    letters = np.array([max(len(w), 1) for w in words], dtype=np.float64)
    per = widths / letters
    ref = float(widths.sum() / letters.sum())
    if np.any(per > WIDTH_RATIO * ref) or np.any(per < ref / WIDTH_RATIO):
        return None, BAD_WIDTH
    x0, x1 = spans[0][0], spans[-1][1]
    per_letter = (x1 - x0) / (letters.sum() + n - 1)  # the n - 1 spaces count as letters
    before = np.cumsum(letters)[:-1] + np.arange(1, n)
    at = np.array([(spans[c][1] + spans[c + 1][0]) / 2.0 for c in cut.tolist()])
    if n > 1 and np.any(np.abs(at - (x0 + before * per_letter)) > CUT_LETTERS * per_letter):
        return None, FAR_CUT
    return groups, ""
