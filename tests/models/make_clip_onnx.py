#!/usr/bin/env python3
"""Writes a small CLIP-shaped model folder for the ONNX CLIP slot's tests.

    make_clip_onnx.py --out DIR

DIR receives what a user's CLIP folder holds (image_model.onnx, text_model.onnx,
vocab.txt, config.json with "task": "clip") and expected.json: the embeddings
numpy computes with the same weights for a solid colour image and a few texts,
so the C++ test checks pre-processing (resize, crop, RGB order, mean/std) and
tokenization against an independent computation.

Both towers end in the same D=32 space, aligned on purpose:
  image: pixel_values [N, 3, S, S] (CLIP-normalised RGB) -> 1x1 conv that undoes
         the normalisation (so it sees RGB in [0, 1]) -> global average pool ->
         mean colour minus its gray level (the chroma) -> linear: red, green and
         blue chroma go to three orthonormal directions, brightness to a fourth
         -> L2 norm -> image_embeds [N, D]
  text:  input_ids, attention_mask [N, T] -> embedding lookup -> mean over real
         tokens -> linear (a random rotation) -> L2 norm -> text_embeds [N, D].
         The words "red", "green", "blue" are embedded so that after the
         rotation they point along the image tower's colour directions; every
         other token is small noise.
So the text "red" is closest to a red image. Weights come from a fixed seed.
Needs python3-onnx and python3-numpy (Debian); IR 7, opset 13.
"""
import argparse
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

D = 32
IMAGE_SIZE = 64
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "photo", "of", "red", "green", "blue",
         "dress", "car", "the", "sky", "##s"]
COLOURS = ["red", "green", "blue"]
CONFIG = {
    "backend": "onnx",
    "task": "clip",
    "image_model": "image_model.onnx",
    "text_model": "text_model.onnx",
    "image_size": IMAGE_SIZE,
    "mean": MEAN,
    "std": STD,
    "tokenizer": "wordpiece",
    "max_length": 16,
}
TEXTS = ["red", "a photo of a green dress", "blue sky", "zebra"]
SOLID_BGR = [30, 60, 200]  # a red-orange: B, G, R as OpenCV stores it


def weights():
    rng = np.random.RandomState(20240611)
    basis, _ = np.linalg.qr(rng.normal(size=(D, D)))  # orthonormal columns
    directions = basis.T[:4].astype(np.float32)  # red, green, blue, brightness
    rotation, _ = np.linalg.qr(rng.normal(size=(D, D)))
    rotation = rotation.astype(np.float32)
    table = rng.normal(0, 0.05, (len(VOCAB), D)).astype(np.float32)
    for i, colour in enumerate(COLOURS):
        # After `@ rotation` the word lands on its colour's direction.
        table[VOCAB.index(colour)] = directions[i] @ rotation.T * 3.0
    return {"directions": directions, "rotation": rotation, "table": table}


def image_forward(w, rgb01):
    """The image tower on one RGB image of floats in [0, 1], [S, S, 3]."""
    mean_rgb = rgb01.reshape(-1, 3).mean(axis=0)
    chroma = mean_rgb - mean_rgb.mean()
    v = chroma @ w["directions"][:3] + 0.2 * mean_rgb.mean() * w["directions"][3]
    return v / np.sqrt((v * v).sum() + 1e-12)


def tokenize(text, max_length):
    ids = [VOCAB.index("[CLS]")]
    for word in text.lower().split():
        ids.append(VOCAB.index(word) if word in VOCAB else VOCAB.index("[UNK]"))
    return ids[: max_length - 1] + [VOCAB.index("[SEP]")]


def text_forward(w, ids):
    v = w["table"][np.array(ids)].mean(axis=0) @ w["rotation"]
    return v / np.sqrt((v * v).sum() + 1e-12)


def save(model, path):
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, path)


def build_image(w):
    # Conv weight [3, 3, 1, 1]: diag(std); bias: mean. x * std + mean = RGB in [0, 1].
    conv_w = np.zeros((3, 3, 1, 1), np.float32)
    for c in range(3):
        conv_w[c, c, 0, 0] = STD[c]
    # Chroma (centre the three channels) and projection folded into one matrix.
    centre = np.eye(3, dtype=np.float32) - np.full((3, 3), 1.0 / 3, np.float32)
    proj = centre @ w["directions"][:3] + np.full((3, 1), 0.2 / 3, np.float32) * w["directions"][3]
    inits = [
        numpy_helper.from_array(conv_w, "conv_w"),
        numpy_helper.from_array(np.array(MEAN, np.float32), "conv_b"),
        numpy_helper.from_array(proj.astype(np.float32), "proj"),
        numpy_helper.from_array(np.array(1e-12, np.float32), "eps"),
    ]
    nodes = [
        helper.make_node("Conv", ["pixel_values", "conv_w", "conv_b"], ["rgb"]),
        helper.make_node("GlobalAveragePool", ["rgb"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["mean_rgb"], axis=1),
        helper.make_node("MatMul", ["mean_rgb", "proj"], ["projected"]),
        helper.make_node("Mul", ["projected", "projected"], ["squared"]),
        helper.make_node("ReduceSum", ["squared", "axes1"], ["sum"], keepdims=1),
        helper.make_node("Add", ["sum", "eps"], ["sum_eps"]),
        helper.make_node("Sqrt", ["sum_eps"], ["norm"]),
        helper.make_node("Div", ["projected", "norm"], ["image_embeds"]),
    ]
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "axes1"))
    graph = helper.make_graph(
        nodes, "tiny_clip_image",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT,
                                       ["batch", 3, IMAGE_SIZE, IMAGE_SIZE])],
        [helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", D])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                             producer_name="strata-tests")


def build_text(w):
    inits = [
        numpy_helper.from_array(w["table"], "table"),
        numpy_helper.from_array(w["rotation"], "rotation"),
        numpy_helper.from_array(np.array([1], np.int64), "axes1"),
        numpy_helper.from_array(np.array([2], np.int64), "axes2"),
        numpy_helper.from_array(np.array(1e-12, np.float32), "eps"),
    ]
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["tokens"]),
        helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask", "axes2"], ["mask3"]),
        helper.make_node("Mul", ["tokens", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axes1"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "axes1"], ["count"], keepdims=0),
        helper.make_node("Div", ["summed", "count"], ["pooled"]),
        helper.make_node("MatMul", ["pooled", "rotation"], ["projected"]),
        helper.make_node("Mul", ["projected", "projected"], ["squared"]),
        helper.make_node("ReduceSum", ["squared", "axes1"], ["sum"], keepdims=1),
        helper.make_node("Add", ["sum", "eps"], ["sum_eps"]),
        helper.make_node("Sqrt", ["sum_eps"], ["norm"]),
        helper.make_node("Div", ["projected", "norm"], ["text_embeds"]),
    ]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
              for n in ("input_ids", "attention_mask")]
    graph = helper.make_graph(
        nodes, "tiny_clip_text", inputs,
        [helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch", D])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                             producer_name="strata-tests")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    w = weights()
    save(build_image(w), os.path.join(args.out, "image_model.onnx"))
    save(build_text(w), os.path.join(args.out, "text_model.onnx"))
    with open(os.path.join(args.out, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    b, g, r = SOLID_BGR
    solid = np.tile(np.array([r, g, b], np.float32) / 255.0, (IMAGE_SIZE, IMAGE_SIZE, 1))
    expected = {
        "dimensions": D,
        "solid": {"bgr": SOLID_BGR, "embedding": image_forward(w, solid).astype(float).tolist()},
        "texts": [{"text": t, "ids": tokenize(t, CONFIG["max_length"]),
                   "embedding": text_forward(w, tokenize(t, CONFIG["max_length"])).astype(float).tolist()}
                  for t in TEXTS],
    }
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
