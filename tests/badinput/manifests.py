"""Broken manifests and dataset.json files: each must stop the run with one line naming the problem."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import images

H = "path,text,semantic_id,lang,style,split\n"


def _row(path="a.png", text="dog", sid="0", lang="en", style="s", split="ood") -> str:
    return f"{path},{text},{sid},{lang},{style},{split}\n"


@dataclass(frozen=True)
class ManifestCase:
    name: str
    files: dict[str, bytes]  # written into the dataset folder (a.png is always added)
    needle: str
    setup: Callable[[Path], None] | None = field(default=None, compare=False)  # extra files, e.g. symlinks


def _utf8(text: str) -> bytes:
    return text.encode("utf-8")


def _man(body: str = "", header: str = H, **extra: bytes) -> dict[str, bytes]:
    """Files of a case: a UTF-8 manifest (header + body) and any extra files."""
    return {"manifest.csv": _utf8(header + body), **{k.replace("_", "."): v for k, v in extra.items()}}


def _escaping_lexicon(root: Path) -> None:
    outside = root.parent / "outside-lex.csv"
    outside.write_text("semantic_id,key,en\n0,k,dog\n", encoding="utf-8")
    (root / "lexicon.csv").symlink_to(outside)


def _parquet(root: Path, **second_row) -> None:
    """A Parquet manifest of two rows whose second row takes ``second_row`` (e.g. a null)."""
    import pytest

    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow", reason="Parquet needs pyarrow: pip install 'xscript-bench[formats]'")
    (root / "b.png").write_bytes(images.good_png())
    rows = [dict(path="a.png", text="dog", semantic_id=0, lang="en", style="s", split="ood"),
            {**dict(path="b.png", text="cat", semantic_id=1, lang="en", style="s", split="ood"), **second_row}]
    pd.DataFrame(rows).to_parquet(root / "manifest.parquet")


LEX_JSON = b'{"name": "x", "lexicon": "lexicon.csv"}'

NO_SID = "path,text,lang,style,split\n"
OTHER_NAMES = "file,label,sid,language,writer,set\n"
DUP_WORDS_LEX = _utf8("semantic_id,key,en\n0,a,dog\n1,b,dog\n")
OUTSIDE = "dataset.json lexicon points outside the dataset folder"

CASES = [
    ManifestCase("missing_column", _man("a.png,dog,en,s,ood\n", NO_SID), "lacks column(s) semantic_id"),
    ManifestCase("wrong_columns", _man("a.png,dog,0,en,s,ood\n", OTHER_NAMES),
                 "lacks column(s) path, text, semantic_id, lang, style, split"),
    ManifestCase("semicolons", _man(_row().replace(",", ";"), H.replace(",", ";")), "lacks column(s)"),
    ManifestCase("header_only", _man(), "has no rows"),
    ManifestCase("zero_bytes", {"manifest.csv": b""}, "manifest is empty"),
    ManifestCase("ragged_row", _man(_row() + "b.png,cat,1,en,s,ood,x,y,z\n"), "malformed CSV"),
    ManifestCase("latin1", {"manifest.csv": (H + _row(text="año", lang="es")).encode("latin-1")},
                 "not UTF-8 (bad byte 0xf1 at offset 46, line 2)"),
    ManifestCase("utf16", {"manifest.csv": (H + _row()).encode("utf-16")}, "not UTF-8"),
    ManifestCase("png_as_manifest", {"manifest.csv": images.good_png()}, "not UTF-8"),
    ManifestCase("sid_word", _man(_row(sid="zero")), "semantic_id 'zero' is not an integer"),
    ManifestCase("sid_fraction", _man(_row(sid="1.5")), "semantic_id '1.5' is not an integer"),
    ManifestCase("sid_inf", _man(_row(sid="inf")), "semantic_id 'inf' is not an integer"),
    ManifestCase("sid_huge", _man(_row(sid="1e30")), "semantic_id '1e30' is not an integer"),
    ManifestCase("lang_name", _man(_row(lang="english")), "unknown language code 'english'"),
    ManifestCase("lang_upper", _man(_row(lang="EN")), "unknown language code 'EN'"),
    ManifestCase("lang_empty", _man(_row(lang="")), "unknown language code ''"),
    ManifestCase("dup_ids", _man("1," + _row() + "1," + _row(path="b.png"), "id," + H), "duplicate ids, e.g. '1'"),
    ManifestCase("dup_paths", _man(_row() + _row(text="cat")), "rows 2 and 3 name the same image 'a.png'"),
    ManifestCase("dup_spellings", _man(_row(path="img/./x.png") + _row(path="img//x.png", text="cat")),
                 "rows 2 and 3 name the same image 'img/x.png' (as 'img/./x.png' and 'img//x.png')"),
    ManifestCase("dup_spellings_ids", _man("1," + _row(path="./a.png") + "2," + _row(), "id," + H),
                 "rows 2 and 3 name the same image 'a.png'"),
    ManifestCase("sid_negative", _man(_row(sid="-7")), "semantic_id '-7' is below -1"),
    ManifestCase("split_slash", _man(_row(split="../x")), "split name '../x' cannot name a folder"),
    ManifestCase("split_dot", _man(_row(split=".hidden")), "split name '.hidden' cannot name a folder"),
    ManifestCase("name_absolute", _man(_row(), dataset_json=b'{"name": "/srv/x"}'),
                 "'/srv/x' cannot name a folder: it is an absolute path"),
    ManifestCase("name_dotdot", _man(_row(), dataset_json=b'{"name": "../../x"}'),
                 "'../../x' cannot name a folder: it contains a path separator"),
    ManifestCase("name_slash", _man(_row(), dataset_json=b'{"name": "a/b"}'),
                 "'a/b' cannot name a folder: it contains a path separator"),
    ManifestCase("name_dots", _man(_row(), dataset_json=b'{"name": ".."}'), "'..' cannot name a folder"),
    ManifestCase("name_not_text", _man(_row(), dataset_json=b'{"name": ["x"]}'), "must be a string"),
    ManifestCase("parquet_null_path", {}, "row 3: empty path, text or split (path is empty or null)",
                 lambda root: _parquet(root, path=None)),
    ManifestCase("parquet_null_split", {}, "row 3: empty path, text or split (split is empty or null)",
                 lambda root: _parquet(root, split=None)),
    ManifestCase("parquet_null_text", {}, "row 3: empty path, text or split (text is empty or null)",
                 lambda root: _parquet(root, text=None)),
    ManifestCase("parquet_nan_text", {}, "row 3: empty path, text or split (text is empty or null)",
                 lambda root: _parquet(root, text=float("nan"))),
    ManifestCase("dotdot", _man(_row(path="../../etc/passwd")), "outside the dataset folder"),
    ManifestCase("dotdot_inner", _man(_row(path="img/../../x.png")), "outside the dataset folder"),
    ManifestCase("absolute", _man(_row(path="/etc/passwd")), "outside the dataset folder"),
    ManifestCase("drive", _man(_row(path="C:\\x.png")), "outside the dataset folder"),
    ManifestCase("unc", _man(_row(path="\\\\server\\share\\x.png")), "outside the dataset folder"),
    ManifestCase("nul_in_path", _man(_row(path="a\x00.png")), "control characters"),
    ManifestCase("empty_text", _man(_row(text="")), "empty path, text or split"),
    ManifestCase("empty_split", _man(_row(split="")), "empty path, text or split"),
    ManifestCase("json_broken", _man(_row(), dataset_json=b'{"name": '), "not valid UTF-8 JSON"),
    ManifestCase("json_latin1", _man(_row(), dataset_json='{"name": "añ"}'.encode("latin-1")), "not valid UTF-8 JSON"),
    ManifestCase("json_list", _man(_row(), dataset_json=b"[1, 2]"), "expected a JSON object"),
    ManifestCase("lexicon_dotdot", _man(_row(), dataset_json=b'{"lexicon": "../lex.csv"}'), OUTSIDE),
    ManifestCase("lexicon_absolute", _man(_row(), dataset_json=b'{"lexicon": "/etc/passwd"}'), OUTSIDE),
    ManifestCase("lexicon_symlink", _man(_row(), dataset_json=LEX_JSON), OUTSIDE, _escaping_lexicon),
    ManifestCase("lexicon_missing", _man(_row(), dataset_json=LEX_JSON), "lexicon not found"),
    ManifestCase("lexicon_dup_words", _man(_row(), dataset_json=LEX_JSON, lexicon_csv=DUP_WORDS_LEX),
                 "duplicate en words"),
    ManifestCase("parquet_garbage", {"manifest.parquet": b"PAR1 this is not parquet"}, "manifest.parquet"),
]


def write_case(root: Path, case: ManifestCase) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "a.png").write_bytes(images.good_png())
    for name, data in case.files.items():
        (root / name).write_bytes(data)
    if case.setup is not None:
        case.setup(root)
    return root
