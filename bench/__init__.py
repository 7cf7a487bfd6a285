"""xscript-bench: handwritten-word retrieval across scripts, measured the same way for every model."""

__version__ = "0.1.0"
