#!/usr/bin/python3
"""Reproducible CPU training of the "Отклик" multi-task encoder.

Usage:  /usr/bin/python3 models/train.py [--data data/nlp] [--out models/otklik-encoder]
                                         [--quick] [--threads 1]

Stages: WordPiece vocabulary (train texts only) -> MLM pretraining on all train
texts -> multi-task fine-tuning on `core` (epoch picked on `dev`) -> temperature
calibration on `dev` -> final metrics on `validation` -> ONNX export (fp32 + int8
weight-only dynamic quantization) in the @xenova/transformers layout.

Requires: python3-torch python3-onnx (Debian), libopenblas0-pthread.

On a CUDA machine (`--device cuda`, chosen automatically when one is present) the same stages run in
bf16 autocast with larger batches; `--mlm_budget_s` caps the masked-LM stage at a wall-clock budget
(the number of steps it reached is written to metrics.json, so `--mlm_steps N` repeats it exactly).
"""
import argparse
import collections
import json
import math
import os
import random
import re
import shutil
import sys
import time
import unicodedata

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import onnx  # noqa: F401  (used by the export; fail early, before half an hour of training)
except ImportError as err:
    sys.exit(
        f"models/train.py needs Debian's PyTorch and ONNX for /usr/bin/python3 ({err}).\n"
        "Install them with: sudo apt-get install python3-torch python3-onnx libopenblas0-pthread"
    )

TASKS = ["sector", "sentiment", "toxicity"]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PAD, UNK, CLS, SEP, MASK = range(5)
OFFICIAL_EXCLUDE = {"amenities", "other"}

T0 = time.time()


def log(*a):
    print(f"[{time.time() - T0:7.1f}s]", *a, flush=True)


# --------------------------------------------------------------------------------------
# Tokenizer: exact re-implementation of @xenova/transformers 2.17.2 BertNormalizer
# (clean_text, handle_chinese_chars, lowercase, strip_accents=false) + BertPreTokenizer
# + WordPiece (greedy longest match, "##", max_input_chars_per_word=100).
# --------------------------------------------------------------------------------------
JS_WS = set("\t\n\u000b\u000c\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff") | {
    chr(c) for c in range(0x2000, 0x200B)
}


def _is_chinese(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def _is_punct(ch):
    cp = ord(ch)
    if 0x21 <= cp <= 0x2F or 0x3A <= cp <= 0x40 or 0x5B <= cp <= 0x60 or 0x7B <= cp <= 0x7E:
        return True
    return unicodedata.category(ch).startswith("P")


def normalize(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD:
            continue
        if ch not in "\t\n\r" and unicodedata.category(ch).startswith("C"):
            continue
        if ch in JS_WS:
            out.append(" ")
        elif _is_chinese(cp):
            out.append(" " + ch + " ")
        else:
            out.append(ch)
    return "".join(out).lower()


def pre_tokenize(text):
    words, cur = [], []
    for ch in text:
        if ch in JS_WS:
            if cur:
                words.append("".join(cur)); cur = []
        elif _is_punct(ch):
            if cur:
                words.append("".join(cur)); cur = []
            words.append(ch)
        else:
            cur.append(ch)
    if cur:
        words.append("".join(cur))
    return words


def wordpiece(word, vocab, cache):
    r = cache.get(word)
    if r is not None:
        return r
    if len(word) > 100:
        r = [UNK]
    else:
        r, start, n = [], 0, len(word)
        while start < n:
            end, cur = n, None
            while start < end:
                s = word[start:end]
                if start > 0:
                    s = "##" + s
                if s in vocab:
                    cur = vocab[s]
                    break
                end -= 1
            if cur is None:
                r = [UNK]
                break
            r.append(cur)
            start = end
    cache[word] = r
    return r


def build_vocab(texts, size, min_char=3):
    """Heuristic WordPiece vocabulary: all frequent characters (word-initial and ##),
    then prefixes / inner substrings scored by freq*(len-1), pruned by actual usage
    under greedy longest-match segmentation."""
    wc = collections.Counter()
    for t in texts:
        wc.update(pre_tokenize(normalize(t)))
    chars = collections.Counter()
    for w, f in wc.items():
        for i, ch in enumerate(w):
            chars[ch if i == 0 else "##" + ch] += f
    base = [c for c, f in chars.items() if f >= min_char]
    base_set = set(base)
    cand = collections.Counter()
    for w, f in wc.items():
        L = len(w)
        if L > 40:
            continue
        for l in range(2, min(L, 18) + 1):
            cand[w[:l]] += f
        for i in range(1, L):
            for l in range(2, min(8, L - i) + 1):
                cand["##" + w[i:i + l]] += f
    scored = sorted(((f * (len(p.replace("##", "", 1)) - 1), p) for p, f in cand.items()
                     if f >= 3 and p not in base_set), reverse=True)
    n_extra = size - len(SPECIALS) - len(base)
    pool = [p for _, p in scored[: int(n_extra * 1.6)]]
    # prune by usage under greedy segmentation (two rounds)
    for rnd in range(2):
        vocab = {p: i for i, p in enumerate(SPECIALS + base + pool)}
        inv = {i: p for p, i in vocab.items()}
        use = collections.Counter()
        cache = {}
        for w, f in wc.items():
            for i in wordpiece(w, vocab, cache):
                use[inv[i]] += f
        keep = sorted(pool, key=lambda p: -use[p])
        pool = [p for p in keep[:n_extra] if use[p] > 0]
        if rnd == 0:  # refill with next candidates not yet tried
            tried = set(pool)
            extra = [p for _, p in scored[int(n_extra * 1.6):] if p not in tried][: n_extra - len(pool) + n_extra // 4]
            pool = pool + extra
    toks = SPECIALS + sorted(base, key=lambda c: -chars[c]) + pool
    return {t: i for i, t in enumerate(toks[:size])}


class Tok:
    def __init__(self, vocab, max_len, head):
        self.vocab, self.max_len, self.head = vocab, max_len, head
        self.cache = {}

    def raw_ids(self, text):
        ids = []
        for w in pre_tokenize(normalize(text)):
            ids.extend(wordpiece(w, self.vocab, self.cache))
        return ids

    def encode(self, text):
        """[CLS] + content + [SEP]; content over max_len-2 tokens is cut to the first
        `head` and the last (max_len-2-head) tokens (head+tail truncation)."""
        ids = self.raw_ids(text)
        room = self.max_len - 2
        if len(ids) > room:
            ids = ids[: self.head] + ids[len(ids) - (room - self.head):]
        return [CLS] + ids + [SEP]


def tokenizer_json(vocab, max_len):
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in enumerate(SPECIALS)]
    return {
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": max_len, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": None,
                    "pad_id": PAD, "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": False, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [CLS], "tokens": ["[CLS]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [SEP], "tokens": ["[SEP]"]}},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }


# --------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------
class Layer(nn.Module):
    def __init__(self, h, nh, ff, drop):
        super().__init__()
        self.nh = nh
        self.ln1 = nn.LayerNorm(h, eps=1e-12)
        self.qkv = nn.Linear(h, 3 * h)
        self.o = nn.Linear(h, h)
        self.ln2 = nn.LayerNorm(h, eps=1e-12)
        self.f1 = nn.Linear(h, ff)
        self.f2 = nn.Linear(ff, h)
        self.drop = nn.Dropout(drop)

    def forward(self, x, bias):
        B, T, H = x.shape
        d = H // self.nh
        q, k, v = self.qkv(self.ln1(x)).split(H, dim=-1)
        q = q.reshape(B, T, self.nh, d).transpose(1, 2)
        k = k.reshape(B, T, self.nh, d).transpose(1, 2)
        v = v.reshape(B, T, self.nh, d).transpose(1, 2)
        a = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d)) + bias
        a = self.drop(torch.softmax(a, dim=-1))
        y = torch.matmul(a, v).transpose(1, 2).reshape(B, T, H)
        x = x + self.drop(self.o(y))
        x = x + self.drop(self.f2(F.gelu(self.f1(self.ln2(x)))))
        return x


class Encoder(nn.Module):
    def __init__(self, vocab_size, h, layers, nh, ff, max_pos, n_classes, drop=0.1):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, h)
        self.pos = nn.Embedding(max_pos, h)
        self.typ = nn.Embedding(2, h)
        self.ln_e = nn.LayerNorm(h, eps=1e-12)
        self.layers = nn.ModuleList([Layer(h, nh, ff, drop) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(h, eps=1e-12)
        self.drop = nn.Dropout(drop)
        self.mlm_dense = nn.Linear(h, h)
        self.mlm_ln = nn.LayerNorm(h, eps=1e-12)
        self.mlm_bias = nn.Parameter(torch.zeros(vocab_size))
        self.heads = nn.ModuleDict({t: nn.Linear(h, n) for t, n in n_classes.items()})
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def encode(self, ids, mask, types):
        T = ids.shape[1]
        pos = torch.arange(T, device=ids.device).unsqueeze(0)
        x = self.tok(ids) + self.pos(pos) + self.typ(types)
        x = self.drop(self.ln_e(x))
        bias = ((1.0 - mask.to(x.dtype)) * -10000.0)[:, None, None, :]
        for l in self.layers:
            x = l(x, bias)
        return self.ln_f(x)

    @staticmethod
    def pool(x, mask):
        m = mask.to(x.dtype).unsqueeze(-1)
        return (x * m).sum(1) / m.sum(1).clamp(min=1.0)

    def mlm_logits(self, hsel):
        y = self.mlm_ln(F.gelu(self.mlm_dense(hsel)))
        return y @ self.tok.weight.t() + self.mlm_bias

    def forward(self, ids, mask, types):
        x = self.encode(ids, mask, types)
        p = self.pool(x, mask)
        pd = self.drop(p)
        return {t: hd(pd) for t, hd in self.heads.items()}, p


class Export(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, token_type_ids):
        x = self.m.encode(input_ids, attention_mask, token_type_ids)
        p = self.m.pool(x, attention_mask)
        out = [self.m.heads[t](p) for t in TASKS]
        emb = p / torch.sqrt((p * p).sum(-1, keepdim=True).clamp(min=1e-12))
        return out[0], out[1], out[2], emb


# --------------------------------------------------------------------------------------
# Data helpers
# --------------------------------------------------------------------------------------
def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def pad_batch(seqs):
    T = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), T, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
    return ids, (ids != PAD).long()


def length_batches(lengths, max_tokens, max_bs, rng, shuffle=True):
    idx = list(range(len(lengths)))
    if shuffle:
        rng.shuffle(idx)
        chunks = [sorted(idx[i:i + 2000], key=lambda j: lengths[j]) for i in range(0, len(idx), 2000)]
    else:
        chunks = [sorted(idx, key=lambda j: lengths[j])]
    out = []
    for ch in chunks:
        b, mx = [], 0
        for j in ch:
            nm = max(mx, lengths[j])
            if b and (nm * (len(b) + 1) > max_tokens or len(b) >= max_bs):
                out.append(b); b, nm = [], lengths[j]
            b.append(j); mx = nm
        if b:
            out.append(b)
    if shuffle:
        rng.shuffle(out)
    return out


def f1_report(y, p, classes):
    y, p = np.asarray(y), np.asarray(p)
    per = {}
    for k, c in enumerate(classes):
        tp = int(((p == k) & (y == k)).sum()); fp = int(((p == k) & (y != k)).sum()); fn = int(((p != k) & (y == k)).sum())
        pr = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * pr * rc / (pr + rc) if pr + rc else 0.0
        per[c] = {"precision": round(pr, 4), "recall": round(rc, 4), "f1": round(f, 4), "support": tp + fn}
    return per


def macro(per, classes):
    cs = [c for c in classes if per[c]["support"] > 0]
    return float(np.mean([per[c]["f1"] for c in cs])) if cs else 0.0


def evaluate(task, rows, probs, classes):
    y = [classes.index(r["label"]) for r in rows]
    p = probs.argmax(1)
    res = {}
    if task == "sector":
        for src in ["kursk", "spb"]:
            ix = [i for i, r in enumerate(rows) if r["source"] == src]
            if not ix:
                continue
            yy = [y[i] for i in ix]; pp = p[ix]
            per = f1_report(yy, pp, classes)
            off = [c for c in classes if c not in OFFICIAL_EXCLUDE]
            res[src] = {"n": len(ix), "accuracy": round(float(np.mean(np.array(yy) == pp)), 4),
                        "macro_f1": round(macro(per, classes), 4),
                        "macro_f1_official9": round(float(np.mean([per[c]["f1"] for c in off])), 4),
                        "per_class": per}
    else:
        per = f1_report(y, p, classes)
        res = {"n": len(rows), "accuracy": round(float(np.mean(np.array(y) == p)), 4),
               "macro_f1": round(macro(per, classes), 4), "per_class": per}
        if task == "toxicity":
            res["f1_toxic"] = per["toxic"]["f1"]
    return res


def dev_score(ev):
    return float(np.mean([ev["sector"]["kursk"]["macro_f1_official9"], ev["sector"]["spb"]["macro_f1"],
                          ev["sentiment"]["macro_f1"], ev["toxicity"]["f1_toxic"]]))


DEVICE = torch.device("cpu")


def autocast():
    """bf16 autocast on CUDA, a no-op on the CPU (the CPU path stays fp32 and bit-reproducible)."""
    if DEVICE.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


@torch.no_grad()
def predict_logits(model, seqs, max_tokens=8192):
    model.eval()
    out = [None] * len(seqs)
    lengths = [len(s) for s in seqs]
    for b in length_batches(lengths, max_tokens, 256, None, shuffle=False):
        ids, mask = pad_batch([seqs[i] for i in b])
        ids, mask = ids.to(DEVICE), mask.to(DEVICE)
        with autocast():
            lg, _ = model(ids, mask, torch.zeros_like(ids))
        for k, i in enumerate(b):
            out[i] = {t: lg[t][k].float().cpu().numpy() for t in lg}
    return out


def fit_temperature(logits, y):
    lg = torch.tensor(np.asarray(logits), dtype=torch.float64); yt = torch.tensor(y)
    best = (1e9, 1.0)
    for T in np.exp(np.linspace(math.log(0.3), math.log(5.0), 200)):
        nll = F.cross_entropy(lg / T, yt).item()
        if nll < best[0]:
            best = (nll, float(T))
    return round(best[1], 4)


def softmax(x, T):
    z = np.asarray(x, dtype=np.float64) / T
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


# --------------------------------------------------------------------------------------
# Weight-only dynamic int8 quantization of the ONNX graph
# --------------------------------------------------------------------------------------
def quantize_onnx(src, dst):
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    m = onnx.load(src)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    consumers = collections.Counter(inp for n in g.node for inp in n.input)
    new_nodes, new_inits, drop = [], [], set()
    n_q = 0
    for n in g.node:
        if n.op_type == "MatMul" and n.input[1] in inits and consumers[n.input[1]] == 1:
            W = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
            if W.ndim == 2 and W.size >= 4096:
                n_q += 1
                base = f"q{n_q}"
                sc = np.abs(W).max(0) / 127.0
                sc[sc == 0] = 1e-8
                Wq = np.clip(np.round(W / sc), -127, 127).astype(np.int8)
                drop.add(n.input[1])
                new_inits += [numpy_helper.from_array(Wq, base + "_W"),
                              numpy_helper.from_array(np.array(0, dtype=np.int8), base + "_Wzp"),
                              numpy_helper.from_array(sc.astype(np.float32), base + "_Wsc")]
                A = n.input[0]
                new_nodes += [
                    helper.make_node("DynamicQuantizeLinear", [A], [base + "_Aq", base + "_As", base + "_Azp"], name=base + "_dq"),
                    helper.make_node("MatMulInteger", [base + "_Aq", base + "_W", base + "_Azp", base + "_Wzp"], [base + "_mmi"], name=base + "_mmi"),
                    helper.make_node("Cast", [base + "_mmi"], [base + "_mmf"], to=TensorProto.FLOAT, name=base + "_cast"),
                    helper.make_node("Mul", [base + "_As", base + "_Wsc"], [base + "_s"], name=base + "_smul"),
                    helper.make_node("Mul", [base + "_mmf", base + "_s"], [n.output[0]], name=base + "_out"),
                ]
                continue
        if n.op_type == "Gather" and n.input[0] in inits and consumers[n.input[0]] == 1:
            E = numpy_helper.to_array(inits[n.input[0]]).astype(np.float32)
            if E.ndim == 2 and E.shape[0] >= 1000:
                base = "qemb"
                sc = np.abs(E).max(1) / 127.0
                sc[sc == 0] = 1e-8
                Eq = np.clip(np.round(E / sc[:, None]), -127, 127).astype(np.int8)
                drop.add(n.input[0])
                new_inits += [numpy_helper.from_array(Eq, base + "_E"),
                              numpy_helper.from_array(sc.astype(np.float32), base + "_Esc"),
                              numpy_helper.from_array(np.zeros(E.shape[0], dtype=np.int8), base + "_Ezp")]
                new_nodes += [
                    helper.make_node("DequantizeLinear", [base + "_E", base + "_Esc", base + "_Ezp"], [base + "_Ef"], axis=0, name=base + "_deq"),
                    helper.make_node("Gather", [base + "_Ef", n.input[1]], list(n.output), axis=0, name=base + "_gather"),
                ]
                continue
        new_nodes.append(n)
    keep = [i for i in g.initializer if i.name not in drop] + new_inits
    del g.node[:]; g.node.extend(new_nodes)
    del g.initializer[:]; g.initializer.extend(keep)
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    return n_q


# --------------------------------------------------------------------------------------
def legacy_exporter():
    """Newer PyTorch exports through dynamo by default; the int8 pass below expects the TorchScript graph."""
    import inspect
    return {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/nlp")
    ap.add_argument("--out", default="models/otklik-encoder")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--vocab", type=int, default=16000)
    ap.add_argument("--hidden", type=int, default=160)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ff", type=int, default=640)
    ap.add_argument("--max_len", type=int, default=128)
    ap.add_argument("--head_tokens", type=int, default=64)
    ap.add_argument("--mlm_epochs", type=float, default=1)
    ap.add_argument("--mlm_lr", type=float, default=1e-3)
    ap.add_argument("--ft_epochs", type=int, default=3)
    ap.add_argument("--ft_lr", type=float, default=5e-4)
    ap.add_argument("--kursk_oversample", type=int, default=3)
    ap.add_argument("--max_tokens", type=int, default=4096)
    ap.add_argument("--device", default="auto", help="cpu, cuda or auto (cuda when present)")
    ap.add_argument("--mlm_budget_s", type=float, default=0, help="cap the masked-LM stage (seconds; 0 = none)")
    ap.add_argument("--mlm_steps", type=int, default=0, help="cap the masked-LM stage at N steps (0 = none)")
    ap.add_argument("--mlm_max_bs", type=int, default=256)
    ap.add_argument("--ft_max_bs", type=int, default=64)
    ap.add_argument("--quick", action="store_true", help="tiny run for smoke testing")
    ap.add_argument("--no_export", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.mlm_epochs, args.ft_epochs = 0.05, 1

    global DEVICE
    torch.set_num_threads(args.threads)
    random.seed(args.seed); np.random.seed(args.seed); torch.manual_seed(args.seed)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    DEVICE = torch.device(args.device)
    if DEVICE.type == "cuda":
        # cuBLAS needs a fixed workspace for deterministic results; ops without a deterministic CUDA kernel
        # only warn (a GPU run is repeatable on the same card, the CPU run bit for bit).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cuda.matmul.allow_tf32 = True
        log(f"device {torch.cuda.get_device_name(0)}")
    else:
        torch.use_deterministic_algorithms(True)
    rng = random.Random(args.seed)
    timing = {}

    classes = {t: json.load(open(f"{args.data}/{t}.classes.json")) for t in TASKS}
    data = {t: {s: read_jsonl(f"{args.data}/{t}.{s}.jsonl") for s in ["train", "core", "dev", "validation"]} for t in TASKS}

    # ---- vocabulary (train texts only, no labels) ----
    t = time.time()
    train_texts = list(dict.fromkeys(r["text"] for tk in TASKS for r in data[tk]["train"]))
    vocab = build_vocab(train_texts, args.vocab)
    tok = Tok(vocab, args.max_len, args.head_tokens)
    timing["vocab_s"] = round(time.time() - t, 1)
    log(f"vocab {len(vocab)} built in {timing['vocab_s']}s from {len(train_texts)} texts")

    t = time.time()
    enc = {tk: {s: [tok.encode(r["text"]) for r in data[tk][s]] for s in data[tk]} for tk in TASKS}
    mlm_seqs = [tok.encode(x) for x in train_texts]
    unk = sum(s.count(UNK) for s in mlm_seqs) / sum(len(s) for s in mlm_seqs)
    log(f"encoded in {time.time() - t:.1f}s; unk rate {unk:.4%}; mean len {np.mean([len(s) for s in mlm_seqs]):.1f}")

    model = Encoder(len(vocab), args.hidden, args.layers, args.heads, args.ff, args.max_len,
                    {tk: len(classes[tk]) for tk in TASKS}).to(DEVICE)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"params {n_params/1e6:.2f}M")

    # ---- MLM pretraining ----
    t = time.time()
    lengths = [len(s) for s in mlm_seqs]
    n_ep = math.ceil(args.mlm_epochs)
    plan = []
    if args.mlm_steps:
        n_ep = max(n_ep, 1)
    for ep in range(n_ep):
        bs = length_batches(lengths, args.max_tokens, args.mlm_max_bs, rng)
        if ep + 1 > args.mlm_epochs:
            bs = bs[: int(len(bs) * (args.mlm_epochs - ep))]
        plan += bs
    if args.mlm_steps:
        while len(plan) < args.mlm_steps:
            plan += length_batches(lengths, args.max_tokens, args.mlm_max_bs, rng)
        plan = plan[: args.mlm_steps]
    opt = torch.optim.AdamW(model.parameters(), lr=args.mlm_lr, weight_decay=0.01, betas=(0.9, 0.98))
    sch = {"total": len(plan), "warm": max(1, int(0.06 * len(plan)))}
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / sch["warm"], max(0.0, (sch["total"] - s) / (sch["total"] - sch["warm"]))))
    total = len(plan)
    g = torch.Generator().manual_seed(args.seed)
    model.train()
    run = 0.0
    for step, b in enumerate(plan):
        if step >= sch["total"]:
            break
        if args.mlm_budget_s and step == 20:
            t20 = time.time()
        if args.mlm_budget_s and step == 100:
            # Fit the rest of the plan into the budget, timed after the warm-up steps (CUDA start-up made the
            # first steps 20x slower on an H200); the schedule decays to zero at the new end.
            per = (time.time() - t20) / 80
            fit = 100 + int((args.mlm_budget_s - (time.time() - t)) / per)
            if fit < sch["total"]:
                sch["total"] = max(fit, sch["warm"] + 1); total = sch["total"]
                log(f"mlm budget {args.mlm_budget_s}s: {per*1000:.1f} ms/step, capped at {total} steps")
        ids, mask = pad_batch([mlm_seqs[i] for i in b])
        special = ids < len(SPECIALS)
        sel = (torch.rand(ids.shape, generator=g) < 0.15) & ~special
        if sel.sum() == 0:
            continue
        labels = ids[sel]
        inp = ids.clone()
        r = torch.rand(ids.shape, generator=g)
        inp[sel & (r < 0.8)] = MASK
        rnd_pos = sel & (r >= 0.8) & (r < 0.9)
        inp[rnd_pos] = torch.randint(len(SPECIALS), len(vocab), (int(rnd_pos.sum()),), generator=g)
        inp, mask, sel, labels = inp.to(DEVICE), mask.to(DEVICE), sel.to(DEVICE), labels.to(DEVICE)
        with autocast():
            h = model.encode(inp, mask, torch.zeros_like(inp))
            loss = F.cross_entropy(model.mlm_logits(h[sel]).float(), labels)
        opt.zero_grad(); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); sched.step()
        run = 0.98 * run + 0.02 * loss.item() if step else loss.item()
        if step % 200 == 0 or step == total - 1:
            log(f"mlm step {step}/{total} loss {run:.3f}")
    timing["mlm_s"] = round(time.time() - t, 1)
    timing["mlm_steps"] = min(total, len(plan))
    log(f"MLM done in {timing['mlm_s']}s")

    # ---- multi-task fine-tuning on core, epoch selection on dev ----
    t = time.time()
    sec_rows = data["sector"]["core"]
    counts = collections.Counter(r["label"] for r in sec_rows)
    cw = torch.tensor([(counts[c] or 1) ** -0.5 for c in classes["sector"]], dtype=torch.float)
    cw = cw / (cw * torch.tensor([counts[c] for c in classes["sector"]], dtype=torch.float)).sum() * len(sec_rows)
    items = {}
    for tk in TASKS:
        rows = data[tk]["core"]
        lst = []
        for i, r in enumerate(rows):
            rep = args.kursk_oversample if (tk == "sector" and r["source"] == "kursk") else 1
            lst += [(enc[tk]["core"][i], classes[tk].index(r["label"]))] * rep
        if args.quick:
            random.Random(0).shuffle(lst); lst = lst[:1500]
        items[tk] = lst
    weights = {"sector": cw.to(DEVICE), "sentiment": None, "toxicity": None}
    ep_batches = []
    for ep in range(args.ft_epochs):
        bl = []
        for tk in TASKS:
            for b in length_batches([len(s) for s, _ in items[tk]], args.max_tokens // 2, args.ft_max_bs, rng):
                bl.append((tk, b))
        rng.shuffle(bl)
        ep_batches.append(bl)
    total = sum(len(x) for x in ep_batches); warm = max(1, int(0.05 * total))
    no_decay = lambda n: n.endswith("bias") or "ln" in n
    params = [{"params": [p for n, p in model.named_parameters() if not no_decay(n)], "weight_decay": 0.01},
              {"params": [p for n, p in model.named_parameters() if no_decay(n)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(params, lr=args.ft_lr, betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / (total - warm))))
    best = (-1, None, None, None)
    history = []
    step = 0
    for ep in range(args.ft_epochs):
        model.train()
        for tk, b in ep_batches[ep]:
            seqs = [items[tk][i][0] for i in b]
            y = torch.tensor([items[tk][i][1] for i in b]).to(DEVICE)
            ids, mask = pad_batch(seqs)
            ids, mask = ids.to(DEVICE), mask.to(DEVICE)
            with autocast():
                lg, _ = model(ids, mask, torch.zeros_like(ids))
            loss = F.cross_entropy(lg[tk].float(), y, weight=weights[tk], label_smoothing=0.05)
            opt.zero_grad(); loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(); sched.step(); step += 1
        ev, dev_logits = {}, {}
        for tk in TASKS:
            out = predict_logits(model, enc[tk]["dev"])
            dev_logits[tk] = np.stack([o[tk] for o in out])
            ev[tk] = evaluate(tk, data[tk]["dev"], dev_logits[tk], classes[tk])
        sc = dev_score(ev)
        history.append({"epoch": ep + 1, "dev_score": round(sc, 4),
                        "kursk9": ev["sector"]["kursk"]["macro_f1_official9"], "spb": ev["sector"]["spb"]["macro_f1"],
                        "sentiment": ev["sentiment"]["macro_f1"], "toxicity": ev["toxicity"]["f1_toxic"]})
        log(f"ft epoch {ep+1}: {history[-1]}")
        if sc > best[0]:
            best = (sc, ep + 1, {k: v.clone() for k, v in model.state_dict().items()}, dev_logits)
    timing["finetune_s"] = round(time.time() - t, 1)
    log(f"fine-tuning done in {timing['finetune_s']}s; best epoch {best[1]} dev score {best[0]:.4f}")
    model.load_state_dict(best[2])
    model.eval()
    if DEVICE.type == "cuda":
        # Validation, export and the reference logits on the CPU in fp32, as the product runs it.
        model = model.float().cpu(); DEVICE = torch.device("cpu")
        dev_cpu = {tk: np.stack([o[tk] for o in predict_logits(model, enc[tk]["dev"])]) for tk in TASKS}
        best = (best[0], best[1], best[2], dev_cpu)

    # ---- calibration on dev ----
    temps = {tk: fit_temperature(best[3][tk], [classes[tk].index(r["label"]) for r in data[tk]["dev"]]) for tk in TASKS}
    log(f"temperatures {temps}")

    # ---- validation ----
    metrics = {"dev": {}, "validation": {}}
    val_logits = {}
    for tk in TASKS:
        out = predict_logits(model, enc[tk]["validation"])
        val_logits[tk] = np.stack([o[tk] for o in out])
        metrics["validation"][tk] = evaluate(tk, data[tk]["validation"], val_logits[tk], classes[tk])
        metrics["dev"][tk] = evaluate(tk, data[tk]["dev"], best[3][tk], classes[tk])
        for split, lg in [("dev", best[3][tk]), ("validation", val_logits[tk])]:
            pr = softmax(lg, temps[tk])
            with open(f"{args.data}/{tk}.{split}.transformer.jsonl", "w") as f:
                for row in pr:
                    f.write(json.dumps([round(float(v), 6) for v in row]) + "\n")
    v = metrics["validation"]
    summary = {
        "sector_kursk_accuracy": v["sector"]["kursk"]["accuracy"],
        "sector_kursk_macro_f1": v["sector"]["kursk"]["macro_f1"],
        "sector_kursk_macro_f1_official9": v["sector"]["kursk"]["macro_f1_official9"],
        "sector_spb_accuracy": v["sector"]["spb"]["accuracy"],
        "sector_spb_macro_f1": v["sector"]["spb"]["macro_f1"],
        "sentiment_macro_f1": v["sentiment"]["macro_f1"],
        "toxicity_f1_toxic": v["toxicity"]["f1_toxic"],
    }
    log("VALIDATION " + json.dumps(summary))
    for src in ["kursk", "spb"]:
        log(f"sector per-class ({src} validation):")
        for c, d in v["sector"][src]["per_class"].items():
            log(f"   {c:10s} P={d['precision']:.3f} R={d['recall']:.3f} F1={d['f1']:.3f} n={d['support']}")
    for tk in ["sentiment", "toxicity"]:
        log(f"{tk} per-class: " + json.dumps(v[tk]["per_class"]))

    if args.no_export:
        return
    # ---- export ----
    t = time.time()
    out = args.out
    os.makedirs(f"{out}/onnx", exist_ok=True)
    exp = Export(model).eval()
    samples = ["Добрый день! Во дворе дома №5 по ул. Ленина ёлка упала на детскую площадку, просьба убрать.",
               "Спасибо большое за оперативный ремонт дороги, всё отлично!",
               "Когда уже починят лифт в подъезде? Третью неделю не работает, ужас."]
    sids = [tok.encode(s) for s in samples]
    ids, mask = pad_batch(sids)
    types = torch.zeros_like(ids)
    torch.onnx.export(exp, (ids, mask, types), f"{out}/onnx/model.onnx",
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["sector_logits", "sentiment_logits", "toxicity_logits", "embedding"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                                    "token_type_ids": {0: "batch", 1: "sequence"}, "sector_logits": {0: "batch"},
                                    "sentiment_logits": {0: "batch"}, "toxicity_logits": {0: "batch"}, "embedding": {0: "batch"}},
                      opset_version=14, do_constant_folding=True, **legacy_exporter())
    n_q = quantize_onnx(f"{out}/onnx/model.onnx", f"{out}/onnx/model_quantized.onnx")
    with torch.no_grad():
        ref = exp(ids, mask, types)
    reference = {"texts": samples, "input_ids": [s for s in sids], "attention_mask": mask.tolist(),
                 "padded_input_ids": ids.tolist(),
                 "sector_logits": ref[0].tolist(), "sentiment_logits": ref[1].tolist(),
                 "toxicity_logits": ref[2].tolist(), "embedding": ref[3].tolist()}
    json.dump(reference, open(f"{out}/reference.json", "w"), ensure_ascii=False)
    json.dump(tokenizer_json(vocab, args.max_len), open(f"{out}/tokenizer.json", "w"), ensure_ascii=False)
    with open(f"{out}/vocab.txt", "w") as f:
        f.write("\n".join(sorted(vocab, key=vocab.get)) + "\n")
    json.dump({"tokenizer_class": "BertTokenizer", "model_max_length": args.max_len, "do_lower_case": True,
               "strip_accents": False, "tokenize_chinese_chars": True, "unk_token": "[UNK]", "sep_token": "[SEP]",
               "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]", "clean_up_tokenization_spaces": True},
              open(f"{out}/tokenizer_config.json", "w"), indent=2)
    json.dump({"[UNK]": "[UNK]", "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
               "cls_token": "[CLS]", "mask_token": "[MASK]"} and
              {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"},
              open(f"{out}/special_tokens_map.json", "w"), indent=2)
    sc = classes["sector"]
    config = {
        "model_type": "bert", "architectures": ["OtklikMultiTaskEncoder"],
        "vocab_size": len(vocab), "hidden_size": args.hidden, "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads, "intermediate_size": args.ff, "hidden_act": "gelu",
        "max_position_embeddings": args.max_len, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
        "pre_layer_norm": True, "pooling": "mean", "pad_token_id": PAD,
        "max_length": args.max_len, "truncation": {"strategy": "head+tail", "head_tokens": args.head_tokens,
                                                   "tail_tokens": args.max_len - 2 - args.head_tokens},
        "id2label": {str(i): c for i, c in enumerate(sc)}, "label2id": {c: i for i, c in enumerate(sc)},
        "heads": {tk: classes[tk] for tk in TASKS},
        "outputs": {"sector": "sector_logits", "sentiment": "sentiment_logits", "toxicity": "toxicity_logits",
                    "embedding": "embedding"},
        "temperature": temps,
    }
    json.dump(config, open(f"{out}/config.json", "w"), ensure_ascii=False, indent=2)
    timing["export_s"] = round(time.time() - t, 1)
    timing["total_s"] = round(time.time() - T0, 1)
    torch.save({"state_dict": model.state_dict(), "vocab": vocab, "args": vars(args), "temperature": temps},
               f"{out}/checkpoint.pt")
    metrics.update({"summary_validation": summary, "dev_history": history, "best_epoch": best[1],
                    "temperature": temps, "timing": timing, "params": n_params, "quantized_matmuls": n_q,
                    "hyperparameters": vars(args), "torch": torch.__version__,
                    "baseline_classic_validation": {"sector_kursk_macro_f1_official9": 0.694, "sector_spb_macro_f1": 0.901,
                                                    "sentiment_macro_f1": 0.714, "toxicity_f1_toxic": 0.870}})
    json.dump(metrics, open(f"{out}/metrics.json", "w"), ensure_ascii=False, indent=2)
    log(f"export done in {timing['export_s']}s; total {timing['total_s']}s; timing {timing}")


if __name__ == "__main__":
    main()
