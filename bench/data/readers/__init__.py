"""Readers for real handwriting datasets (IAM words, CASIA-HWDB1.x characters) and their import
into the harness's dataset folder format, by ``bench data import`` or ``--dataset iam:PATH``."""
from __future__ import annotations

from .convert import ImportOptions, LexiconMatcher, import_hwdb, import_iam
from .hwdb import GntSample, find_sources, read_gnt
from .iam import IamWord, read_words_txt
from .scheme import resolve_dataset, split_scheme

__all__ = ["GntSample", "IamWord", "ImportOptions", "LexiconMatcher", "find_sources", "import_hwdb",
           "import_iam", "read_gnt", "read_words_txt", "resolve_dataset", "split_scheme"]
