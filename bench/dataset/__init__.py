"""Datasets in the one on-disk interchange format: a folder with a manifest and its images.

``manifest.csv`` (or ``manifest.parquet``) has the columns path, text, semantic_id, lang, style,
split (optional: id). ``semantic_id`` >= 0 names a cross-language concept; -1 (or empty) marks a
word that counts for within-language retrieval only. An optional ``dataset.json`` gives a name and
may declare a lexicon (a path inside the folder). Every path must stay inside the folder.

Images are identified by their content: a BLAKE2b hash of each file's bytes (symlinks resolved and
kept inside the folder, non-regular files such as FIFOs refused with a reason), computed once and
kept in a small sidecar beside the output cache, keyed by the file's size, mtime, ctime and inode so
a rewritten file is hashed again. The fingerprint of a dataset without a declared one, and the
output cache's keys, are built from these hashes, so an image rewritten with the same byte size is
never served another image's outputs.

Validation refuses, with one line naming the row, what would otherwise be silently coerced: null or
empty path/text/split (a Parquet null is not the word "nan"), a semantic_id below -1, two rows
naming one image (``img/./x.png`` and ``img//x.png``), split or dataset names that cannot name a
folder. Split names are case-insensitive (stored lower-case: ``OOD`` is ``ood``, ``Train`` is
``train``). Images larger than ``MAX_WORD_PIXELS`` are skipped with a reason (word crops are small;
a 9000x9000 page would cost gigabytes); ``XSB_MAX_IMAGE_PIXELS`` raises the limit.
"""

from .decode import MAX_WORD_PIXELS, ImageLoadError, decode_image, load_image, max_word_pixels
from .embedded import EmbeddedImages
from .folder import Dataset, decoder_fingerprint
from .manifest import (CONTROL_CHARS, IMAGE_COLUMNS, LANG_CODE, MANIFEST_NAMES, MAX_SEMANTIC_ID, NO_CONCEPT,
                       REQUIRED_COLUMNS, write_dataset)

__all__ = ["CONTROL_CHARS", "IMAGE_COLUMNS", "LANG_CODE", "MANIFEST_NAMES", "MAX_SEMANTIC_ID", "MAX_WORD_PIXELS",
           "NO_CONCEPT", "REQUIRED_COLUMNS", "Dataset", "EmbeddedImages", "ImageLoadError", "decode_image",
           "decoder_fingerprint", "load_image", "max_word_pixels", "write_dataset"]
