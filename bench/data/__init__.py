"""Built-in benchmark data: lexicon, handwriting synthesizer, splits."""
