"""Reading with the character (CTC) head: score any word by how likely the image spells it.

Why: the anchor table only knows lexicon words, and the text tower's embedding of an unseen word
is a guess about its meaning, not its spelling. The CTC head trained beside the image tower reads
characters from the stride-16 feature map (16 columns for a 64x256 image); the probability that
those columns spell a word is defined for every word over the head's character set, in or out of
the lexicon. ``ours-read`` ranks a gallery by that log-probability fused with the cosine score.

Compact form: per column the top ``k`` characters' log-probabilities are kept (the rest of the
column's probability mass is spread evenly over the other characters), so an image's reading
costs 2 * columns * k floats in the output cache instead of columns * (charset + 1).
"""
from __future__ import annotations

import unicodedata
from typing import Sequence

import numpy as np
import torch
from torch.nn import functional as F

from .errors import BenchError

def compact(logp: np.ndarray, k: int) -> np.ndarray:
    """(N, T, C) log-probs -> (N, T, 2k): top-k log-probs then their character indices (as float)."""
    k = min(k, logp.shape[-1])
    idx = np.argsort(-logp, axis=-1)[..., :k]
    vals = np.take_along_axis(logp, idx, axis=-1)
    return np.concatenate([vals, idx.astype(np.float32)], axis=-1).astype(np.float32)


def expand(packed: np.ndarray, n_classes: int) -> np.ndarray:
    """Inverse of ``compact`` up to the dropped tail: (T, 2k) -> (T, C) log-probs summing to 1."""
    k = packed.shape[-1] // 2
    vals, idx = packed[:, :k].astype(np.float64), packed[:, k:].astype(np.int64)
    rest = np.clip(1.0 - np.exp(vals).sum(-1), 1e-12, None) / max(1, n_classes - k)
    out = np.repeat(np.log(rest)[:, None], n_classes, axis=1)
    np.put_along_axis(out, idx, vals, axis=1)
    return out.astype(np.float32)


def encode_targets(words: Sequence[str], charset: str) -> tuple[list[list[int]], np.ndarray]:
    """Label ids (blank = 0) of each word's characters, and whether the reader can spell the word.

    Punctuation and symbols outside the charset (an apostrophe, a hyphen, a bracket) are small marks
    the head was never taught: they are left out of the label at no cost. A letter, digit or mark
    outside the charset (a digit, a Chinese character no training word had) makes the word one the
    reader cannot spell at all: its probability under the head would be a guess.
    """
    index = {c: i + 1 for i, c in enumerate(charset)}
    labels, spellable = [], np.ones(len(words), bool)
    for j, w in enumerate(words):
        ids = []
        for c in w:
            if c in index:
                ids.append(index[c])
            elif not c.isspace() and unicodedata.category(c)[0] not in "PS":
                spellable[j] = False
        labels.append(ids)
        spellable[j] &= bool(ids)
    return labels, spellable


def min_frames(label: list[int]) -> int:
    """Columns CTC needs to emit a label sequence: one per character plus a blank between repeats."""
    return len(label) + sum(1 for a, b in zip(label, label[1:]) if a == b)


def word_logprobs(logp: np.ndarray, words: Sequence[str], charset: str) -> np.ndarray:
    """log p(word | image) under CTC for every word; ``logp`` is one image's (T, C+1) log-probs.

    Words that need more columns than the image has get -inf (the reader rules them out); a word the
    reader cannot spell (see ``encode_targets``: nothing in the charset, or a letter, digit or other
    character that is not punctuation outside it) gets NaN: the reader has no opinion on it.
    """
    labels, spellable = encode_targets(words, charset)
    T = logp.shape[0]
    out = np.full(len(words), -np.inf, dtype=np.float64)
    out[~spellable] = np.nan
    ok = [j for j, lab in enumerate(labels) if spellable[j] and min_frames(lab) <= T]
    if ok:
        lp = torch.from_numpy(np.ascontiguousarray(logp, dtype=np.float32))[:, None, :].expand(T, len(ok), -1)
        flat = torch.tensor([c for j in ok for c in labels[j]], dtype=torch.long)
        lengths = torch.tensor([len(labels[j]) for j in ok], dtype=torch.long)
        nll = F.ctc_loss(lp, flat, torch.full((len(ok),), T, dtype=torch.long), lengths, blank=0,
                         reduction="none", zero_infinity=False)
        out[ok] = -nll.double().numpy()
    return out


def label_lengths(words: Sequence[str], charset: str) -> np.ndarray:
    """How many characters of each word the head spells (``encode_targets``' labels): the length that
    ``fuse``'s length bonus counts."""
    labels, _ = encode_targets(words, charset)
    return np.array([len(lab) for lab in labels], dtype=np.float64)


def fuse(cosine: np.ndarray, logp: np.ndarray, scale: float, weight: float,
         lengths: np.ndarray | None = None, length_bonus: float = 0.0) -> np.ndarray:
    """Fused gallery scores: (1 - w) * log p_cos(word) + w * log p_read(word), both distributions.

    p_cos is the softmax of ``scale * cosine`` over the gallery. p_read is the reader's opinion made a
    distribution over the whole gallery: the words it cannot spell (NaN) keep the probability the image
    tower gives them, and the mass the image tower gives the words it can spell is shared among those
    as their CTC probabilities relate. Only relative CTC likelihoods count, because a long word's
    absolute likelihood is tiny however well it is read: set against a cosine probability, that made
    every number in a gallery (digits are outside the charset) outrank real words. A word the reader
    rules out (-inf: too long for the image) keeps its cosine term and a large finite penalty.
    Everything is in log space, so a gallery whose cosine mass sits on one unspellable word still
    orders the other words exactly.

    ``length_bonus`` (beta) adds beta * (characters spelled) to each readable word's CTC score before
    the shares are taken: the word insertion bonus of CTC decoding. CTC prefers short labels, because a
    column it is unsure of costs least as a blank, so on messy writing a one- or two-letter gallery
    word ("o", "i") outranks the longer word written there. ``lengths`` are ``label_lengths``.
    """
    if length_bonus:
        if lengths is None:
            raise ValueError("a length bonus needs the words' label lengths (reading.label_lengths)")
        logp = np.asarray(logp, dtype=np.float64) + length_bonus * np.asarray(lengths, dtype=np.float64)[None, :]
    a = scale * cosine.astype(np.float64)
    a = a - _logsumexp(a)
    logp = np.asarray(logp, dtype=np.float64)
    unknown = np.isnan(logp)
    finite = np.isfinite(logp)
    read = np.where(finite, logp, -np.inf)
    with np.errstate(invalid="ignore"):  # a row with nothing readable: NaN here, never selected below
        read = read - _logsumexp(read)  # relative CTC likelihoods among the words it can read
    share = _logsumexp(np.where(unknown, -np.inf, a))  # the cosine mass of the words it can spell
    b = np.where(finite, read + share, np.where(unknown, a, a - 1e4))
    return ((1.0 - weight) * a + weight * b).astype(np.float32)


def _logsumexp(x: np.ndarray) -> np.ndarray:
    """Row-wise log-sum-exp; a row of -inf gives -inf (no NaN)."""
    m = x.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


@torch.inference_mode()
def read_images(model, images: Sequence, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings (N, dim), CTC log-probs (N, T, C+1)) of PIL images, from one forward pass each."""
    from .preprocess import batch as preprocess_batch

    if model.ctc is None:
        raise BenchError("this checkpoint has no CTC head (train with loss.ctc and publish it to read words)")
    model.image.eval()
    dev = model.temp.log_scale.device
    embs, lps = [], []
    for i in range(0, len(images), batch_size):
        x = preprocess_batch(images[i:i + batch_size], model.image.cfg.height, model.image.cfg.width)
        x = x.to(dev).contiguous(memory_format=torch.channels_last)
        z, mid = model.image.forward_train(x)
        embs.append(z.float().cpu())
        lps.append(model.ctc(mid).permute(1, 0, 2).float().cpu())
    if not embs:
        return np.zeros((0, model.image.cfg.dim), np.float32), np.zeros((0, 0, len(model.charset) + 1), np.float32)
    return torch.cat(embs).numpy(), torch.cat(lps).numpy()
