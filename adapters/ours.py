"""Our model as a harness adapter: the image tower plus the anchor table shipped with the checkpoint.

At inference only the image tower runs; gallery words found in the lexicon take their pre-computed
anchors. Words outside the lexicon go through the text tower (open vocabulary) when the checkpoint
has one; the adapter reports how many words took each path. ``ours-int8`` runs the same checkpoint's
statically quantized ONNX export on onnxruntime (the paper's Figure 5 stand-in).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from bench.adapter import AdapterCard, EmbeddingAdapter
from bench.availability import Availability
from bench.registry import register
from bench.vectors import l2_normalize

CHECKPOINTS = Path(__file__).resolve().parent.parent / "ours" / "checkpoints"
CITATION = ("Language-Agnostic Visual Embeddings for Cross-Script Handwriting Retrieval "
            "(MobileNetV3-Small image tower, partially frozen multilingual text tower, L_ITC + L_SCA)")


def checkpoint_dir(name: str, override: Path | None = None) -> Path:
    """--model-path, else $XSB_OURS_CHECKPOINTS/<name>, else the checkpoint shipped in the repo."""
    if override is not None:
        return Path(override)
    root = os.environ.get("XSB_OURS_CHECKPOINTS")
    return (Path(root) if root else CHECKPOINTS) / name


class _OursBase(EmbeddingAdapter):
    checkpoint: ClassVar[str] = "ours"
    onnx_file: ClassVar[str | None] = None
    requires_modules = ("torch", "safetensors")
    default_batch_size = 64

    @classmethod
    def check_weights(cls, options) -> Availability:
        """The checkpoint folder (and its ONNX export for the onnxruntime variant)."""
        folder = checkpoint_dir(cls.checkpoint, options.model_path)
        if not (folder / "model.safetensors").is_file():
            return Availability(False, f"no checkpoint at {folder}; fix: `ours train --config default "
                                       "--publish ours/checkpoints` (or `ours publish RUN_DIR` for a finished "
                                       f"run), or --model-path {cls.card.name}=DIR")
        if cls.onnx_file and not (folder / cls.onnx_file).is_file():
            return Availability(False, f"no {cls.onnx_file} in {folder}; fix: `ours export {folder}`")
        return Availability(True)

    def compute_device(self) -> str:
        """The torch model sits on --device (its card asks for no GPU share: it is small)."""
        from bench.adapter import device_available

        device = str(self.options.device)
        return device if device == "cpu" or device_available(device) else "cpu"

    def load(self) -> None:
        import torch

        from ours.model import load_checkpoint

        torch.set_num_threads(self.options.threads)
        self.folder = checkpoint_dir(self.checkpoint, self.options.model_path)
        self.model = load_checkpoint(self.folder, device=self.options.device)
        self._onnx = None
        if self.onnx_file:
            from ours.export import OnnxImageEncoder

            cfg = self.model.image.cfg
            self._onnx = OnnxImageEncoder(self.folder / self.onnx_file, threads=self.options.threads,
                                          height=cfg.height, width=cfg.width)
        self.text_paths = {"anchors": 0, "text_tower": 0}

    def encode_images(self, images: Sequence[Any], lang: str) -> np.ndarray:
        enc = self._onnx or self.model
        return l2_normalize(enc.encode_images(list(images), batch_size=self.batch_size))

    def encode_texts(self, texts: Sequence[str], lang: str) -> np.ndarray:
        texts = list(texts)
        if lang in self.model.anchors.languages:
            out, found = self.model.anchor_lookup(texts, lang)
        else:
            out, found = np.zeros((len(texts), self.model.image.cfg.dim), np.float32), np.zeros(len(texts), bool)
        self.text_paths["anchors"] += int(found.sum())
        if (~found).any():
            missing = [t for t, f in zip(texts, found) if not f]
            out[~found] = self.model.encode_texts(missing)  # open vocabulary; BenchError if no text tower
            self.text_paths["text_tower"] += len(missing)
        return l2_normalize(out)

    def num_parameters(self) -> int | None:
        from ours.model import count_parameters

        return count_parameters(self.model.image)  # what runs at inference: the image tower

    def footprint_bytes(self) -> int | None:
        if self.onnx_file:
            return (self.folder / self.onnx_file).stat().st_size
        return sum(p.numel() * p.element_size() for p in self.model.image.parameters())

    def run_notes(self) -> dict:
        return {"checkpoint": str(self.folder), "gallery_text_source": dict(self.text_paths),
                "checkpoint_meta": self.model.meta}

    def model_identity(self) -> str:
        """Content hash of the files that make the outputs: the checkpoint (anchors) and the ONNX model run."""
        if not hasattr(self, "folder"):
            return f"{self.card.name}@unloaded"
        if getattr(self, "_stamp", None) is None:
            import hashlib

            h = hashlib.sha256()
            for name in ("model.safetensors", self.onnx_file):
                if name and (self.folder / name).is_file():
                    h.update((self.folder / name).read_bytes())
            self._stamp = h.hexdigest()[:16]
        return f"{self.card.name}@{self._stamp}:{self.onnx_file or 'torch'}"


# `bench perf ours`: the ONNX fp32 export (the baseline of the ratios), its int8 quantization, and torch.
PERF_VARIANTS = ("ours-onnx", "ours-int8", "ours")


# weights fine-tuned on IAM-OnDB (non-commercial research, no redistribution) inherit its terms
RESEARCH_ONLY = "research use only (trained on IAM-OnDB and other research-only handwriting; see the model card)"


def _card(name: str, row: str, notes: str, params: float | None = 1.29, folder: str | None = None,
          variant_of: str | None = "ours", perf_variants: tuple[str, ...] = (),
          license: str = RESEARCH_ONLY) -> AdapterCard:
    """A card of our model or one of its variants: featured (figures star it) and variant of ``ours``."""
    return AdapterCard(name=name, row_name=row, family="ours", source="this repository", citation=CITATION,
                       model_id=f"ours/checkpoints/{folder or name}", license=license, languages=("en", "zh", "es"),
                       extra="ours", params_note="image tower only (the anchor table replaces the text tower "
                       "at inference, as the paper counts it)", params_m=params, notes=notes, featured=True,
                       variant_of=variant_of, perf_variants=perf_variants)


@register
class Ours(_OursBase):
    card = _card("ours", "Ours", "Stage 1 (synthetic pre-training) + stage 2 (fine-tuning on real handwriting, "
                 "interpolated with the synthetic model: ours/checkpoints/ours/MODEL_CARD.md); torch.",
                 variant_of=None, perf_variants=PERF_VARIANTS)
    checkpoint = "ours"


@register
class OursNoFineTuning(_OursBase):
    card = _card("ours-no-ft", "Ours w/o FineTuning", "Stage 1 only (synthetic pre-training); torch.",
                 license="Apache-2.0 (synthetic data only; font licences in bench/data/assets/licenses)")
    checkpoint = "ours-no-ft"


class _OursOnnx(_OursBase):
    """The 'ours' checkpoint's image tower exported to ONNX, run on onnxruntime."""

    checkpoint = "ours"
    requires_modules = ("torch", "safetensors", "onnxruntime")

    def compute_device(self) -> str:
        return "cpu"  # onnxruntime's CPU provider, whatever --device says


@register
class OursInt8(_OursOnnx):
    card = _card("ours-int8", "Ours (int8, ONNX)", "The 'ours' checkpoint as a statically quantized int8 "
                 "ONNX model on onnxruntime (Figure 5 stand-in).", folder="ours/image_int8.onnx")
    onnx_file = "image_int8.onnx"


@register
class OursOnnx(_OursOnnx):
    card = _card("ours-onnx", "Ours (fp32, ONNX)", "The 'ours' checkpoint exported to fp32 ONNX, on onnxruntime "
                 "(the fp32 side of the int8 comparison).", folder="ours/image_fp32.onnx")
    onnx_file = "image_fp32.onnx"


@register
class OursRead(_OursBase):
    """Ours plus its character (CTC) head: each gallery word is also scored by how likely the image
    spells it, fused with the cosine score. Reads words outside the lexicon; a separate row so the
    paper's method stays the paper's. Cross-language tasks use the cosine alone (an image cannot
    spell a word of another script)."""

    card = _card("ours-read", "Ours + CTC reading", "The 'ours' checkpoint with its CTC head kept at inference: "
                 "score = (1-w) log p_cos(word) + w log p_read(word) over the gallery (p_cos: softmax of cosine / tau; "
                 "p_read: CTC probabilities made relative among the words the head can spell, words with a letter "
                 "or digit outside its charset keeping the mass p_cos gives them), "
                 "within-language; each readable word's CTC score gets a length bonus of beta per character "
                 "spelled (CTC's word insertion bonus: it otherwise prefers short words); w and beta per language, "
                 "chosen on in-domain writers over lexicon words and words in no split (python -m ours.tune_read); "
                 "then a unigram word prior, lambda * ln f(word) with f from wordfreq's lists (ours/prior.py), "
                 "lambda per language chosen on the real dataset's training writers (python -m ours.tune_prior).",
                 license=RESEARCH_ONLY + "; its word frequencies are wordfreq data, CC-BY-SA 4.0 (ours/wordprior)")
    checkpoint = "ours"
    top_k: ClassVar[int] = 16  # characters kept per column in the output cache
    # CTC share of the fused score per language: `python -m ours.tune_read` (in-domain writers, lexicon
    # words and words in no split); ``weight`` serves a language it did not tune (a user's own data)
    weights: ClassVar[dict[str, float]] = {"en": 0.6, "es": 0.8, "zh": 1.0}
    weight: ClassVar[float] = 0.2
    # word insertion bonus per character spelled (reading.fuse), tuned with the weight; a language it
    # did not tune gets none, as it gets the small default weight
    length_bonus: ClassVar[dict[str, float]] = {"en": 3.0, "es": 3.5, "zh": 6.0}
    bonus: ClassVar[float] = 0.0
    # weight lambda of the unigram word prior (ours/prior.py) per language, added after the fusion as
    # lambda * ln f(word); `python -m ours.tune_prior` (the real dataset's training writers, never its
    # `real` split; Spanish, with no real data, takes English's); none for other languages
    prior_weights: ClassVar[dict[str, float]] = {"en": 0.5, "es": 0.5, "zh": 0.1}

    @classmethod
    def check_weights(cls, options) -> Availability:
        base = super().check_weights(options)
        if not base.ok:
            return base
        from safetensors import safe_open

        folder = checkpoint_dir(cls.checkpoint, options.model_path)
        with safe_open(str(folder / "model.safetensors"), "np") as f:
            has_ctc = any(k.startswith("ctc.") for k in f.keys())
        if not has_ctc:
            return Availability(False, f"the checkpoint at {folder} has no CTC head; fix: retrain with loss.ctc "
                                       "(`ours train --init ours/checkpoints/ours ...`) and publish it")
        return Availability(True)

    def load(self) -> None:
        super().load()
        self.dim = self.model.image.cfg.dim
        self.n_classes = len(self.model.charset) + 1
        self.scale = float(self.model.temp.scale().detach())

    def encode_images(self, images: Sequence[Any], lang: str) -> np.ndarray:
        from ours.reading import compact, read_images

        emb, logp = read_images(self.model, list(images), batch_size=self.batch_size)
        packed = compact(logp, self.top_k).reshape(len(emb), -1)
        return np.concatenate([l2_normalize(emb), packed], axis=1).astype(np.float32)

    def embeddings(self, image_outputs: np.ndarray) -> np.ndarray:
        return l2_normalize(np.asarray(image_outputs)[:, : self.dim])

    def similarity(self, image_outputs, gallery_outputs, gallery_texts, query_lang, gallery_lang) -> np.ndarray:
        from bench.scoring import cosine_matrix

        out = np.asarray(image_outputs, dtype=np.float32)
        fused = self.reader_scores(out, gallery_outputs, gallery_texts, query_lang) \
            if query_lang == gallery_lang else None
        if fused is None:
            return cosine_matrix(out[:, : self.dim], gallery_outputs)
        return with_prior(fused, gallery_texts, gallery_lang, self.prior_weights.get(gallery_lang, 0.0))

    def reader_scores(self, image_outputs, gallery_outputs, gallery_texts, lang: str) -> np.ndarray | None:
        """The within-language fused scores before the word prior, or None where ``lang``'s reader
        weight is 0: then the row is the cosine alone, and the prior, a part of the reader, is not added.
        ``python -m ours.tune_prior`` sweeps the prior over exactly these scores."""
        from ours.reading import fuse

        weight = self.weights.get(lang, self.weight)
        if weight <= 0:
            return None
        cos, logp, lengths = self.reading_parts(np.asarray(image_outputs, dtype=np.float32), gallery_outputs,
                                                gallery_texts)
        return fuse(cos, logp, self.scale, weight, lengths, self.length_bonus.get(lang, self.bonus))

    def output_settings(self) -> dict[str, Any]:
        """The word prior's tables decide scores too: their content hash joins the settings when used."""
        from ours.prior import tables_digest

        extra = {"prior_tables": tables_digest()} if any(self.prior_weights.values()) else {}
        return {**super().output_settings(), **extra}

    def reading_parts(self, image_outputs, gallery_outputs, gallery_texts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cosine, CTC log p(word | image), characters spelled per word) of every query and gallery
        word: what the fusion weighs, apart so that a sweep computes the costly CTC term once."""
        from bench.scoring import cosine_matrix
        from bench.textnorm import normalize_all
        from ours.reading import expand, label_lengths, word_logprobs

        out = np.asarray(image_outputs, dtype=np.float32)
        cos = cosine_matrix(out[:, : self.dim], gallery_outputs)
        words = normalize_all(list(gallery_texts))
        packed = out[:, self.dim:].reshape(len(out), -1, 2 * self.top_k)
        logp = np.stack([word_logprobs(expand(p, self.n_classes), words, self.model.charset) for p in packed])
        return cos, logp, label_lengths(words, self.model.charset)

    def run_notes(self) -> dict:
        from ours.model import count_parameters
        from ours.prior import tables_digest

        return {**super().run_notes(), "ctc_head_parameters": count_parameters(self.model.ctc),
                "fusion_weights": {**self.weights, "other languages": self.weight},
                "length_bonus": {**self.length_bonus, "other languages": self.bonus}, "top_k_per_column": self.top_k,
                "word_prior": {"weights": dict(self.prior_weights), "source": "wordfreq 3.1.1 small lists "
                               "(ours/wordprior, CC-BY-SA 4.0)", "tables": tables_digest()}}


def with_prior(scores: np.ndarray, words: Sequence[str], lang: str, weight: float) -> np.ndarray:
    """``scores + weight * ln f(word)`` per gallery column (``ours.prior``); unchanged at weight 0."""
    if not weight:
        return scores
    from ours.prior import log_prior

    return (scores + weight * log_prior(list(words), lang)[None, :]).astype(np.float32)


_REAL_NOTE = ("the shipped checkpoint fine-tuned on with real handwriting in every batch (`ours train --config "
              "real`: IAM-OnDB, George Washington and Chinese-MNIST training writers, research-only licences; "
              "model card in ours/checkpoints/ours-real). A separate row, not the default: it reads real hands "
              "better and the synthetic OOD writers 1-3 points worse.")


@register
class OursReal(_OursBase):
    card = _card("ours-real", "Ours + real stage 2", "Ours: " + _REAL_NOTE)
    checkpoint = "ours-real"


@register
class OursRealRead(OursRead):
    card = _card("ours-real-read", "Ours + real stage 2 + CTC reading",
                 "Ours + CTC reading on " + _REAL_NOTE + " Weights from python -m ours.tune_read on it.")
    checkpoint = "ours-real"
    weights: ClassVar[dict[str, float]] = {"en": 0.7, "es": 0.7, "zh": 1.0}
    length_bonus: ClassVar[dict[str, float]] = {"en": 4.0, "es": 3.5, "zh": 6.0}
    # `python -m ours.tune_prior` chose en / es 0.75, zh 0 for this row, which then lost more than a point
    # of OOD English and Spanish (ours/README.md, seventh round): no prior here
    prior_weights: ClassVar[dict[str, float]] = {}
