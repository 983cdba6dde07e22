#!/usr/bin/env python3
"""Writes a tiny cross-encoder-shaped ONNX model folder for the rerank tests.

    make_cross_encoder_onnx.py --out DIR [--output b1|b|b2|b3|tokens] [--output-name NAME]
                               [--no-token-type-ids]

DIR receives what a user's cross-encoder folder holds (model.onnx, vocab.txt,
config.json with "task": "cross_encoder") and weights.json, the per-token
weights below, so a test can compute the scores it expects.

The model scores a pair as the sum of a per-token weight over the document's
tokens: logits = ReduceSum(weight[input_ids] * attention_mask *
token_type_ids), so the query segment (token type 0, [CLS] and the first [SEP]
included) adds nothing and padding adds nothing; the closing [SEP] (type 1)
adds its weight. [CLS] and [PAD] weigh much more than any word, so a pair fed
with the wrong segments or mask shows. With --no-token-type-ids the model
declares no token_type_ids input and sums over every real token instead.

--output picks the output's shape: b1 [batch, 1] (the default), b [batch],
b2 [batch, 2] (column 0 is minus the score, column 1 the score), and two
shapes a cross-encoder must refuse: b3 [batch, 3] (the score thrice; ONNX
Runtime knows the 3 at load) and tokens [batch, seq] (each token's weight, not
summed; the size is known only when it runs). Needs python3-onnx and
python3-numpy (Debian); IR version 7 and opset 13 keep it loadable by any
recent ONNX Runtime.
"""
import argparse
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "?", "what", "is",
    "a", "the", "on", "and", "solar", "panel", "##s", "sun", "power", "wind",
    "turbine", "cat", "dog", "roof",
]
# Exact in float32, and every sum of a few of them is distinct.
WEIGHTS = {
    "[PAD]": 64.0, "[CLS]": 128.0, "[SEP]": 0.5,
    "solar": 4.0, "panel": 2.0, "##s": 1.0, "sun": 8.0, "power": 16.0, "wind": 0.25,
}


def build(output, output_name, token_types):
    table = np.array([WEIGHTS.get(t, 0.0) for t in VOCAB], dtype=np.float32)
    inits = [numpy_helper.from_array(table, "token_weights"),
             numpy_helper.from_array(np.array([1], dtype=np.int64), "axes1")]
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
    ]
    nodes = [
        helper.make_node("Gather", ["token_weights", "input_ids"], ["weights"]),
        helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["weights", "mask"], ["real"]),
    ]
    counted = "real"
    if token_types:
        inputs.append(helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["batch", "seq"]))
        nodes += [
            helper.make_node("Cast", ["token_type_ids"], ["types"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["real", "types"], ["document"]),
        ]
        counted = "document"
    keep = 0 if output == "b" else 1
    summed = output_name if output in ("b", "b1") else "score"
    if output == "tokens":
        nodes.append(helper.make_node("Identity", [counted], [output_name]))
    else:
        nodes.append(helper.make_node("ReduceSum", [counted, "axes1"], [summed], keepdims=keep))
    if output == "b2":
        nodes += [helper.make_node("Neg", ["score"], ["negated"]),
                  helper.make_node("Concat", ["negated", "score"], [output_name], axis=1)]
    elif output == "b3":
        nodes.append(helper.make_node("Concat", ["score", "score", "score"], [output_name], axis=1))
    shape = {"b": ["batch"], "b1": ["batch", 1], "b2": ["batch", 2], "b3": ["batch", 3],
             "tokens": ["batch", "seq"]}[output]
    outputs = [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, shape)]
    graph = helper.make_graph(nodes, "tiny_cross_encoder", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="strata-tests")
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--output", choices=["b1", "b", "b2", "b3", "tokens"], default="b1")
    parser.add_argument("--output-name", default="logits")
    parser.add_argument("--no-token-type-ids", dest="token_types", action="store_false")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    onnx.save(build(args.output, args.output_name, args.token_types), os.path.join(args.out, "model.onnx"))
    with open(os.path.join(args.out, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    config = {"backend": "onnx", "task": "cross_encoder", "max_length": 512}
    if args.output_name != "logits":
        config["output_name"] = args.output_name
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(args.out, "weights.json"), "w") as f:
        json.dump(WEIGHTS, f, indent=2)


if __name__ == "__main__":
    main()
