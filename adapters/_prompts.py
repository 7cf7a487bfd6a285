"""Prompts for the vision-LLM transcribers and the post-processor for what they answer.

One short prompt per language, in English, naming the language and its script and asking for the
handwritten word alone: the same wording for every VLLM, so differences in Table 2 come from the
models and not from prompt tuning. The post-processor removes what chat models add around the word
(quotes, "The word is", markdown, trailing punctuation, explanations on further lines) and nothing
else; NES normalization (``bench.textnorm``) runs on top of it in the harness.
"""
from __future__ import annotations

import re
import unicodedata

PROMPTS: dict[str, str] = {
    "en": "The image shows one handwritten English word (Latin script). "
          "Reply with that word only, exactly as written, with no other text.",
    "zh": "The image shows one handwritten simplified Chinese word (汉字, one or a few characters). "
          "Reply with those characters only, with no pinyin, translation or other text.",
    "es": "The image shows one handwritten Spanish word (Latin script, it may carry accents such as "
          "á, é, í, ó, ú, ü, ñ). Reply with that word only, exactly as written with its accents, "
          "with no other text.",
}
LANGUAGE_NAMES = {"en": "English", "zh": "simplified Chinese", "es": "Spanish"}
MAX_NEW_TOKENS = 16  # a word is a few tokens; a cap keeps chatty models cheap


def prompt_for(lang: str) -> str:
    """The prompt for ``lang``; other languages get the generic form naming the language code."""
    if lang in PROMPTS:
        return PROMPTS[lang]
    name = LANGUAGE_NAMES.get(lang, f"'{lang}'")
    return (f"The image shows one handwritten word in the {name} language. "
            "Reply with that word only, exactly as written, with no other text.")


# Lead-ins that models put before the word ("The word is", "Answer:", "这个词是", "La palabra es").
# Each needs its verb or a colon after the keyword, so a word that merely starts like one (or is one:
# the Spanish lexicon has "palabra" and "respuesta") is never taken for a lead-in.
_PREFIXES = re.compile(
    r"^(?:(?:the\s+)?(?:handwritten\s+)?(?:word|text|answer|transcription|output)"
    r"(?:\s+(?:in\s+the\s+image|shown|written))?(?:\s+(?:is|reads|says)\b\s*:?|\s*:)"
    r"|(?:it|this)\s+(?:says|reads|is)\b\s*:?"
    r"|(?:la\s+)?(?:palabra|respuesta)(?:\s+es\b\s*:?|\s*:)"
    r"|(?:图片中的|图中的|这个|该)?(?:手写)?(?:词语?|字|文字|单词|答案)(?:是|为)\s*[:：]?"
    r"|答案\s*[:：])\s*",
    re.IGNORECASE,
)
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_TAGS = re.compile(r"</?[a-zA-Z][^>]*>|<\|[^|>]*\|>")  # html tags and chat special tokens
_MARKDOWN = re.compile(r"(\*\*|__|`+|~~)")
_LIST_MARK = re.compile(r"^\s*(?:#+|[-*•>]|\d+[.)])\s+")
_QUOTED = re.compile(r"[\"“「『«]([^\"”」』»]+)[\"”」』»]")
_QUOTES = "\"'“”‘’«»„‟「」『』《》〈〉‹›`"
# A gloss after the word: "perro (dog)", "水（water）", "casa [house]".
_GLOSS = re.compile(r"\s*[(（\[【][^()（）\[\]【】]*[)）\]】][\s.,;:!?。，；：！？]*$")
# Surrounding punctuation to drop, ASCII and full-width (Chinese) forms; ¿ ¡ lead Spanish sentences.
_EDGE_PUNCT = _QUOTES + ".,;:!?¿¡。，、；：！？…·・()（）[]【】{}*_~-—–"


def _first_line(text: str) -> str:
    """The first non-empty line, or the line after it when it is only a lead-in ("The word is:")."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("```")]
    if not lines:
        return ""
    first = _MARKDOWN.sub("", lines[0]).strip()
    lead = _PREFIXES.match(first)
    if lead and not first[lead.end():].strip(_EDGE_PUNCT + " \t\u3000") and len(lines) > 1:
        return lines[1]
    return lines[0]


def clean_transcription(text: str, lang: str | None = None) -> str:
    """Reduce a model's answer to the word it read.

    Keeps the first non-empty line, removes reasoning blocks, tags, markdown and list marks, known
    lead-ins ("The word is"), surrounding quotes and punctuation (ASCII and full-width); for Chinese
    also the spaces some models put between characters. Case and accents are kept.
    """
    text = unicodedata.normalize("NFC", str(text or ""))
    text = _TAGS.sub("", _THINK.sub("", text))
    line = _first_line(text)
    for _ in range(3):  # lead-ins and wrappers can nest: **The word is "perro".**
        before = line
        line = _LIST_MARK.sub("", _MARKDOWN.sub("", line)).strip()
        lead = _PREFIXES.match(line)
        if lead and line[lead.end():].strip(_EDGE_PUNCT + " \t\u3000"):  # never strip the whole answer
            line = line[lead.end():].strip()
        quoted = _QUOTED.search(line)
        if quoted:  # 'It says "perro" in Spanish' -> perro
            line = quoted.group(1)
        gloss = _GLOSS.search(line)
        if gloss and line[:gloss.start()].strip(_EDGE_PUNCT + " \t\u3000"):  # perro (dog) -> perro
            line = line[:gloss.start()]
        line = line.strip(_EDGE_PUNCT + " \t\u3000")
        if line == before:
            break
    if lang == "zh":
        line = re.sub(r"\s+", "", line)
    return line
