"""The transcription cleaner against every word of the built-in lexicon, in every language.

A cleaner that eats a real word turns a correct reading into an empty string that ranks last: it
once did that to the Spanish words ``palabra`` and ``respuesta`` (taken for the lead-in "La palabra
es"). Every lexicon word must survive alone and inside the wrappers chat models put around it.
"""
import pytest

from adapters._prompts import clean_transcription
from bench.dataset.lexicon import BUILTIN_LEXICON, Lexicon

LEXICON = Lexicon.load(BUILTIN_LEXICON)
SPACED = "characters separated by spaces"  # 月 亮 for 月亮
WRAPPERS = {  # how chat models answer, per language; {} is the word
    "en": ["{}", 'The word is "{}".', "**{}**", "{}\nIt is a handwritten English word.", "Answer: {}",
           "The handwritten word is: {}", "- {}"],
    "es": ["{}", "La palabra es «{}».", "Respuesta: {}", "**{}**", "¿{}?", 'The word is "{}".'],
    "zh": ["{}", "答案：{}", "这个词是：{}。", "「{}」", "**{}**", SPACED],
}


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_every_lexicon_word_survives_the_cleaner(lang):
    words = list(LEXICON.table[lang])
    assert len(words) == 1550
    broken = []
    for word in words:
        for wrap in WRAPPERS[lang]:
            raw = " ".join(word) if wrap == SPACED else wrap.format(word)
            if clean_transcription(raw, lang) != word:
                broken.append((raw, clean_transcription(raw, lang)))
    assert not broken, broken[:20]


def test_lead_in_words_are_words_when_alone():
    for word in ("palabra", "respuesta", "Palabra", "palabras", "respuestas"):
        assert clean_transcription(word, "es") == word
    for word in ("word", "answer", "text", "output", "words", "texts"):
        assert clean_transcription(word, "en") == word
    assert clean_transcription("答案", "zh") == "答案"
    # ... and still lead-ins when they lead in
    assert clean_transcription("Respuesta: palabra", "es") == "palabra"
    assert clean_transcription("La palabra es respuesta.", "es") == "respuesta"
