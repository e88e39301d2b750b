#!/usr/bin/python3
"""Dump Python-tokenizer ids (no truncation) for texts, to cross-check with @xenova/transformers.
Usage: /usr/bin/python3 models/dump_ids.py MODEL_DIR OUT.json [N]"""
import json, sys, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import Tok, read_jsonl, CLS, SEP
d, out = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
vocab = json.load(open(f"{d}/tokenizer.json"))["model"]["vocab"]
tok = Tok(vocab, 10**9, 0)
texts = ["Ёлка во дворе ещё не убрана, её уронили!", "Пожалуйста, почините мой подъезд. Йошкар-Ола, улица Чайковского д.1",
         "ЁЖИК и ЙОГУРТ — «объём» №5 😊 test@mail.ru 100% 中文 café", "  множественные   пробелы\tи\nпереносы  "]
for t in ["sector", "sentiment", "toxicity"]:
    texts += [r["text"] for r in read_jsonl(f"data/nlp/{t}.validation.jsonl")[: n // 3]]
json.dump([{"text": x, "ids": [CLS] + tok.raw_ids(x) + [SEP]} for x in texts], open(out, "w"), ensure_ascii=False)
print(len(texts), "texts")
