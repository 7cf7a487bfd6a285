"""IAM Handwriting Database, word level: ``words.txt`` plus the ``words/`` PNG tree.

A ``words.txt`` line reads ``a01-000u-00-00 ok 154 408 768 27 51 AT A``: word id, segmentation
result (``ok``/``err``), graylevel, bounding box x y w h, grammatical tag, transcription. The
transcription is everything after the tag (it holds a space in a few rare lines). Lines starting
with ``#`` are comments; the header documents a component count after the graylevel that the data
lines lack, and lines that do carry it are read too. The image of ``a01-000u-00-00`` is ``words/a01/a01-000u/a01-000u-00-00.png``.
Writers are not in ``words.txt``; ``forms.txt`` (``a01-000u 000 ...``: form id, writer id) names them.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bench.errors import BenchError

WORD_ID = re.compile(r"^([a-z0-9]+)-([a-z0-9]+)-(\d+)-(\d+)$")
SEG_RESULTS = ("ok", "err", "er")  # the file header spells it "er", the data "err"


@dataclass(frozen=True)
class IamWord:
    """One ``words.txt`` entry."""

    word_id: str
    ok: bool
    graylevel: int
    box: tuple[int, int, int, int]
    tag: str
    text: str

    @property
    def form_id(self) -> str:
        return "-".join(self.word_id.split("-")[:2])

    @property
    def rel_image(self) -> str:
        """Image path relative to the ``words/`` folder."""
        return f"{self.word_id.split('-')[0]}/{self.form_id}/{self.word_id}.png"


def parse_words_line(line: str, where: str) -> IamWord:
    """Parse one non-comment line; ``where`` (``file:line``) names it in the error."""
    fields = line.split()
    if len(fields) < 9:
        raise BenchError(f"{where}: malformed IAM words.txt line (expected 9+ fields: id ok|err graylevel "
                         f"x y w h tag text, got {len(fields)}): {line.strip()[:80]!r}")
    if len(fields) >= 10 and fields[7].isdigit():  # the variant the file header documents: + components
        fields = fields[:3] + fields[4:]
    word_id, result, *nums = fields[:7]
    if not WORD_ID.match(word_id):
        raise BenchError(f"{where}: malformed IAM word id {word_id!r} (expected like a01-000u-00-00)")
    if result not in SEG_RESULTS:
        raise BenchError(f"{where}: segmentation result must be ok or err, got {result!r}")
    try:
        gray, x, y, w, h = (int(n) for n in nums)
    except ValueError:
        raise BenchError(f"{where}: graylevel and bounding box must be integers: {' '.join(nums)!r}") from None
    text = " ".join(fields[8:])
    if "&" in text:  # some IAM releases escape quotes as &quot;
        text = html.unescape(text)
    return IamWord(word_id, result == "ok", gray, (x, y, w, h), fields[7], text)


def read_words_txt(path: str | Path, keep_err: bool = False) -> Iterator[IamWord]:
    """Entries of ``words.txt`` in file order; ``err`` ones only if ``keep_err``."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BenchError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # the original release is ASCII; be lenient about stray bytes
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        word = parse_words_line(line, f"{path}:{no}")
        if word.ok or keep_err:
            yield word


def read_form_writers(path: str | Path) -> dict[str, str]:
    """Form id -> writer id from ``forms.txt`` (second field)."""
    path = Path(path)
    out: dict[str, str] = {}
    for no, line in enumerate(path.read_text(encoding="latin-1").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 2:
            raise BenchError(f"{path}:{no}: malformed IAM forms.txt line: {line.strip()[:80]!r}")
        out[fields[0]] = fields[1]
    return out


@dataclass(frozen=True)
class IamLayout:
    """Where the parts of an IAM download are."""

    words_txt: Path
    images: Path
    forms_txt: Path | None


def locate(path: str | Path) -> IamLayout:
    """Find ``words.txt`` (in PATH or PATH/ascii, or PATH itself), ``words/`` and ``forms.txt``."""
    path = Path(path).expanduser()
    if path.is_file():
        words_txt, base = path, path.parent
        roots = [base, base.parent]
    else:
        if not path.is_dir():
            raise BenchError(f"IAM folder not found: {path}")
        cands = [path / "words.txt", path / "ascii" / "words.txt"]
        words_txt = next((c for c in cands if c.is_file()), None)
        if words_txt is None:
            raise BenchError(f"no words.txt in {path} or {path / 'ascii'} (IAM ascii.tgz unpacked?)")
        roots = [path, words_txt.parent]
    images = next((r / "words" for r in roots if (r / "words").is_dir()), None)
    if images is None:
        raise BenchError(f"no words/ image folder next to {words_txt} (IAM words.tgz unpacked?)")
    forms = next((r / n for r in roots for n in ("forms.txt", "ascii/forms.txt") if (r / n).is_file()), None)
    return IamLayout(words_txt, images, forms)
