#!/usr/bin/env python3
"""Writes a tiny BERT-shaped ONNX model folder for the ONNX embedder's tests.

    make_bert_onnx.py --out DIR [--no-token-type-ids]

DIR receives what a user's model folder holds (model.onnx, vocab.txt,
config.json) and expected.json: for a few texts, the token ids and the
last_hidden_state that numpy computes with the same weights, so the C++ test
checks ONNX Runtime's answer (and the embedder's pooling) against an
independent computation.

The model: word + position (+ token type) embeddings, then tanh(x W + b), with
padded positions zeroed by attention_mask. Like BERT, a token's state does not
depend on padding after it. Outputs: last_hidden_state [batch, seq, hidden] and
sentence_embedding [batch, hidden] (the [CLS] state). Weights come from a fixed
seed, so every run writes the same files. Needs python3-onnx and python3-numpy
(Debian); IR version 7 and opset 13 keep it loadable by any recent ONNX Runtime.
"""
import argparse
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!", "?", ":",
    "query", "passage", "hello", "world", "the", "quick", "brown", "fox",
    "jump", "##s", "##ed", "over", "lazy", "dog", "un", "##want", "run",
    "##ning", "a", "cat",
]
HIDDEN = 8
MAX_POSITIONS = 64
CONFIG = {
    "backend": "onnx",
    "pooling": "mean",
    "normalize": True,
    "dimensions": HIDDEN,
    "max_tokens": 32,
    "query_prefix": "query: ",
    "passage_prefix": "passage: ",
}
# (text, max_tokens) pairs whose expected states go to expected.json.
CASES = [
    ("hello world", 32),
    ("query: hello world", 32),
    ("passage: hello world", 32),
    ("The quick brown fox jumped over the lazy dog.", 32),
    ("The quick brown fox jumped over the lazy dog.", 6),
    ("unwanted running cat!", 32),
    ("zebra", 32),
    ("", 32),
]


def weights():
    rng = np.random.RandomState(20240607)
    return {
        "word_embeddings": rng.normal(0, 0.5, (len(VOCAB), HIDDEN)).astype(np.float32),
        "position_embeddings": rng.normal(0, 0.1, (MAX_POSITIONS, HIDDEN)).astype(np.float32),
        "token_type_embeddings": rng.normal(0, 0.1, (2, HIDDEN)).astype(np.float32),
        "dense_weight": rng.normal(0, 0.5, (HIDDEN, HIDDEN)).astype(np.float32),
        "dense_bias": rng.normal(0, 0.1, (HIDDEN,)).astype(np.float32),
    }


def tokenize(text, max_tokens):
    """BERT's uncased WordPiece for the ASCII test texts."""
    words = []
    for chunk in text.lower().split():
        word = ""
        for ch in chunk:
            if not ch.isalnum():
                words += [word, ch] if word else [ch]
                word = ""
            else:
                word += ch
        if word:
            words.append(word)
    pieces = []
    for word in words:
        start, sub = 0, []
        while start < len(word):
            end = len(word)
            while end > start:
                cand = ("##" if start else "") + word[start:end]
                if cand in VOCAB:
                    break
                end -= 1
            if end == start:
                sub = ["[UNK]"]
                break
            sub.append(cand)
            start = end
        pieces += sub
    pieces = pieces[: max_tokens - 2]
    return [VOCAB.index("[CLS]")] + [VOCAB.index(p) for p in pieces] + [VOCAB.index("[SEP]")]


def forward(w, ids, token_types):
    ids = np.array(ids, dtype=np.int64)
    x = w["word_embeddings"][ids] + w["position_embeddings"][: len(ids)]
    if token_types:
        x = x + w["token_type_embeddings"][np.zeros_like(ids)]
    return np.tanh(x @ w["dense_weight"] + w["dense_bias"])


def build(w, token_types):
    const = lambda name, value: numpy_helper.from_array(np.array(value, dtype=np.int64), name)
    inits = [numpy_helper.from_array(v, k) for k, v in w.items()]
    inits += [const("one", 1), const("zero", 0), const("axes0", [0]), const("axes2", [2]),
              const("starts0", [0])]
    nodes = [
        helper.make_node("Gather", ["word_embeddings", "input_ids"], ["words"]),
        helper.make_node("Shape", ["input_ids"], ["shape"]),
        helper.make_node("Gather", ["shape", "one"], ["seq_len"], axis=0),
        helper.make_node("Unsqueeze", ["seq_len", "axes0"], ["seq_end"]),
        helper.make_node("Slice", ["position_embeddings", "starts0", "seq_end", "axes0"], ["positions"]),
        helper.make_node("Add", ["words", "positions"], ["embedded0"]),
    ]
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
    ]
    embedded = "embedded0"
    if token_types:
        inputs.append(helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["batch", "seq"]))
        nodes += [
            helper.make_node("Gather", ["token_type_embeddings", "token_type_ids"], ["types"]),
            helper.make_node("Add", ["embedded0", "types"], ["embedded1"]),
        ]
        embedded = "embedded1"
    else:
        inits = [i for i in inits if i.name != "token_type_embeddings"]
    nodes += [
        helper.make_node("MatMul", [embedded, "dense_weight"], ["projected"]),
        helper.make_node("Add", ["projected", "dense_bias"], ["biased"]),
        helper.make_node("Tanh", ["biased"], ["hidden"]),
        helper.make_node("Cast", ["attention_mask"], ["mask_float"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_float", "axes2"], ["mask3"]),
        helper.make_node("Mul", ["hidden", "mask3"], ["last_hidden_state"]),
        helper.make_node("Gather", ["last_hidden_state", "zero"], ["sentence_embedding"], axis=1),
    ]
    outputs = [
        helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", HIDDEN]),
        helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", HIDDEN]),
    ]
    graph = helper.make_graph(nodes, "tiny_bert", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="strata-tests")
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--no-token-type-ids", dest="token_types", action="store_false")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    w = weights()
    onnx.save(build(w, args.token_types), os.path.join(args.out, "model.onnx"))
    with open(os.path.join(args.out, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    expected = []
    for text, max_tokens in CASES:
        ids = tokenize(text, max_tokens)
        hidden = forward(w, ids, args.token_types)
        expected.append({"text": text, "max_tokens": max_tokens, "ids": ids,
                         "hidden": hidden.astype(float).tolist()})
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
