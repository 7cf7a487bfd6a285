"""Built-in benchmark data: lexicon, handwriting synthesizer, splits."""
from pathlib import Path as _Path

# Training-only words outside the lexicon and outside the ``oov`` split, for the reading (CTC) head;
# built by ``python -m bench.data.build.oov --reading``. Not part of any benchmark split.
READING_WORDS = _Path(__file__).resolve().parent / "reading_words.csv"
# Words in no split and no training list: ``ours.tune_read`` renders them with in-domain writers to
# choose ours-read's fusion weights on unseen words; built by ``python -m bench.data.build.oov --tune``.
TUNE_WORDS = _Path(__file__).resolve().parent / "tune_words.csv"
