#!/usr/bin/env python3
"""Counts the multiply-adds (MACs) of one run of an ONNX model.

Usage:
  count_flops.py MODEL.onnx --image               image models: one NHWC image of
                                                  the input's own size, batch 1
  count_flops.py MODEL.onnx --tokens 16 [--sentences 1]
                                                  USE-lite: sentences of 16 tokens

MatMul/Gemm count rows x K x columns, Conv output elements x (Cin / group) x kh x kw,
Einsum its contraction. The shapes of USE-lite depend on the data (the token
count), so rather than infer them statically, the model is run once with ONNX
Runtime (onnxruntime-node from .cache/tfjs, as scripts/fetch_tfjs.sh lays it
out) with every counted node's output made a graph output, and the counts come
from the actual shapes. Other ops (elementwise, softmax, pooling) are not counted.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE_MODULES = os.path.join(ROOT, '.cache', 'tfjs', 'node_modules')

RUNNER = r"""
const ort = require('onnxruntime-node');
const fs = require('fs');
const [model, feedsPath] = process.argv.slice(1);  // node -e: no script path
(async () => {
  const spec = JSON.parse(fs.readFileSync(feedsPath, 'utf8'));
  const feeds = {};
  for (const [name, f] of Object.entries(spec)) {
    feeds[name] = f.type === 'int64'
      ? new ort.Tensor('int64', BigInt64Array.from(f.data, BigInt), f.dims)
      : new ort.Tensor('float32', Float32Array.from(f.data), f.dims);
  }
  const m = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  const out = await m.run(feeds);
  const shapes = {};
  for (const [k, v] of Object.entries(out)) shapes[k] = v.dims;
  console.log(JSON.stringify(shapes));
})().catch((e) => { console.error(e); process.exit(1); });
"""

COUNTED = ('MatMul', 'Gemm', 'Conv', 'Einsum')


def feeds_for(model, args):
    if args.tokens:
        indices, values = [], []
        for s in range(args.sentences):
            for t in range(args.tokens):
                indices += [s, t]
                values.append(100 + (s * 7 + t * 13) % 7000)  # any in-vocabulary ids
        n = len(values)
        return {'indices': {'type': 'int64', 'dims': [n, 2], 'data': indices},
                'values': {'type': 'int64', 'dims': [n], 'data': values}}
    inp = model.graph.input[0]
    dims = [d.dim_value if d.dim_value > 0 else 1 for d in inp.type.tensor_type.shape.dim]
    rng = np.random.default_rng(0)
    return {inp.name: {'type': 'float32', 'dims': dims,
                       'data': rng.uniform(0, 1, int(np.prod(dims))).round(3).tolist()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('model')
    ap.add_argument('--image', action='store_true')
    ap.add_argument('--tokens', type=int)
    ap.add_argument('--sentences', type=int, default=1)
    args = ap.parse_args()
    if not args.image and not args.tokens:
        ap.error('give --image or --tokens N')

    model = onnx.load(args.model)
    inits = {i.name: list(i.dims) for i in model.graph.initializer}
    watch = set()
    counted = [n for n in model.graph.node if n.op_type in COUNTED]
    for n in counted:
        watch.update(x for x in list(n.input) + list(n.output) if x and x not in inits)
    existing = {o.name for o in model.graph.output} | {i.name for i in model.graph.input}
    for name in sorted(watch - existing):
        model.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'm.onnx')
        onnx.save(model, path)
        feeds = os.path.join(tmp, 'feeds.json')
        with open(feeds, 'w') as f:
            json.dump(feeds_for(model, args), f)
        env = dict(os.environ, NODE_PATH=NODE_MODULES)
        out = subprocess.run(['node', '-e', RUNNER, path, feeds], env=env,
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f'count_flops: running the model failed:\n{out.stderr}')
        shapes = json.loads(out.stdout.strip().splitlines()[-1])
    for name in model.graph.input:
        shapes.setdefault(name.name, feeds_for(model, args)[name.name]['dims'])

    def shape(x):
        return inits[x] if x in inits else shapes[x]

    total = 0
    by_op = {}
    for n in counted:
        y = shape(n.output[0])
        if n.op_type in ('MatMul', 'Gemm'):
            a = shape(n.input[0])
            k = a[0] if n.op_type == 'Gemm' and any(
                at.name == 'transA' and at.i for at in n.attribute) else a[-1]
            macs = int(np.prod(y)) * k
        elif n.op_type == 'Conv':
            w = shape(n.input[1])
            macs = int(np.prod(y)) * w[1] * w[2] * w[3]
        else:  # Einsum: product of every distinct index's size
            eq = next(at.s.decode() for at in n.attribute if at.name == 'equation')
            lhs = eq.split('->')[0].split(',')
            sizes = {}
            for term, x in zip(lhs, n.input):
                s = shape(x)
                term = term.replace('...', '')
                for ch, d in zip(term, s[len(s) - len(term):]):
                    sizes[ch] = d
                batch = s[:len(s) - len(term)]
            macs = int(np.prod(list(sizes.values()))) * int(np.prod(batch))
        total += macs
        by_op[n.op_type] = by_op.get(n.op_type, 0) + macs
    per = args.sentences if args.tokens else 1
    what = f'per sentence of {args.tokens} tokens' if args.tokens else 'per image'
    print(f'{os.path.basename(os.path.dirname(os.path.abspath(args.model)))}: '
          f'{total / per / 1e6:.1f} M multiply-adds {what} '
          f'({", ".join(f"{k} {v / per / 1e6:.1f} M" for k, v in sorted(by_op.items()))})')


if __name__ == '__main__':
    main()
