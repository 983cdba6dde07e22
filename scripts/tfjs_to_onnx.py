#!/usr/bin/env python3
"""Converts a TensorFlow.js graph model (model.json + binary weight shards) to ONNX.

Usage:
  tfjs_to_onnx.py MODEL_JSON OUT_ONNX [--input ONNX_NAME=TF_PLACEHOLDER ...]
                  [--output ONNX_NAME=TF_TENSOR ...] [--layout nchw|nhwc]

Only Debian's python3-onnx and python3-numpy are needed (no TensorFlow). The
model.json format is TF.js's (tfjs-converter/src/operations/... and
tfjs-core/src/io/types.ts): `modelTopology.node[]` is a GraphDef in JSON
(`op`, `input` with `^ctrl` and `name:1` references, `attr` values `i`, `f`, `b`,
`s` (base64 or a byte list), `type`, `shape`, `list`), and `weightsManifest[]`
lists every Const's value, in order, in the concatenated bytes of each group's
shards, optionally quantised.

How the TF ops map to ONNX (opset 17, which ONNX Runtime 1.21 runs):
- Integers: TF.js computes every int32/int64 tensor as int32; here every integer
  tensor is int64, the type ONNX wants for shapes, indices (Gather, GatherND,
  ScatterND, Slice) and axes. So integer model inputs are int64 and Cast between
  integer types is dropped.
- Layout: TF graphs are NHWC; ONNX Runtime's Conv/pooling/Resize are NCHW. A
  tensor made by a Conv is kept NCHW and the layout travels through elementwise
  ops (per-channel constants are reshaped to [C,1,1]), pads, concats on the
  channel axis, pooling, resizing and reductions; a Transpose back to NHWC is
  inserted only where an op needs the TF layout (Reshape, StridedSlice, a graph
  output...): MobileNetV2 keeps one Transpose (the input), CenterNet four.
  Measured with ONNX Runtime 1.21 on 2 threads (its own transpose optimiser on),
  this beats `--layout nhwc` (TF's layout kept, a Transpose pair around each
  spatial Conv/pool): MobileNetV2 224x224 68-71 ms vs 100-125 ms, CenterNet
  512x512 360-400 ms vs 435-480 ms per image.
- A 1x1 stride-1 Conv2D whose input is NHWC (USE-lite's "conv" projections) is a
  MatMul over the last axis: no transposes at all.
- TF SAME padding puts the odd pixel at the end: ONNX auto_pad SAME_UPPER.
- TF ScatterNd adds duplicate indices: ScatterND(reduction="add") on zeros.
- TF FloorDiv/FloorMod on integers round towards -inf: Mod(fmod=0) and
  Div(a - Mod(a, b), b), which is exact; ONNX Div alone truncates.
- ResizeBilinear: align_corners -> "align_corners", half_pixel_centers ->
  "half_pixel", else "asymmetric" (TF's legacy rule).
- Constants: weights are dequantised here (TF.js rule, io/io_utils.ts: uint8 and
  uint16 are `q * scale + min`, float16 widened to float32), fused BatchNorm
  parameters are folded into the conv weights, and ops whose inputs are all
  constant are evaluated with numpy when they are simple shape arithmetic.
"""

import argparse
import base64
import json
import os
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min

# TF DataType enum (types.proto), numeric or "DT_*" in model.json.
_TF_DTYPES = {
    1: 'float32', 2: 'float64', 3: 'int32', 4: 'uint8', 5: 'int16', 6: 'int8',
    7: 'string', 9: 'int64', 10: 'bool', 19: 'float16', 17: 'uint16',
}
_TF_DTYPE_NAMES = {
    'DT_FLOAT': 'float32', 'DT_DOUBLE': 'float64', 'DT_INT32': 'int32',
    'DT_UINT8': 'uint8', 'DT_INT16': 'int16', 'DT_INT8': 'int8',
    'DT_STRING': 'string', 'DT_INT64': 'int64', 'DT_BOOL': 'bool',
    'DT_HALF': 'float16', 'DT_UINT16': 'uint16',
}
# What each TF dtype becomes in the ONNX graph (see "Integers" above).
_ONNX_OF = {
    'float32': TensorProto.FLOAT, 'float64': TensorProto.FLOAT, 'float16': TensorProto.FLOAT,
    'int32': TensorProto.INT64, 'int64': TensorProto.INT64, 'int16': TensorProto.INT64,
    'int8': TensorProto.INT64, 'uint8': TensorProto.INT64, 'uint16': TensorProto.INT64,
    'bool': TensorProto.BOOL,
}
_NP_OF = {TensorProto.FLOAT: np.float32, TensorProto.INT64: np.int64, TensorProto.BOOL: np.bool_}

# NHWC axis held at each NCHW position, and the reverse.
TO_NCHW = [0, 3, 1, 2]
TO_NHWC = [0, 2, 3, 1]


class ConversionError(Exception):
    pass


def tf_dtype(v):
    if isinstance(v, int) or (isinstance(v, str) and v.isdigit()):
        return _TF_DTYPES[int(v)]
    return _TF_DTYPE_NAMES[v]


def attr_s(a):
    """A string attr: base64 text (tfjs-converter) or a list of byte values."""
    s = a.get('s', '')
    if isinstance(s, list):
        return bytes(s).decode()
    return base64.b64decode(s).decode()


def norm_np(value):
    """A constant as the ONNX graph holds it: float32, int64 or bool."""
    value = np.asarray(value)
    if value.dtype == np.bool_:
        return value
    if np.issubdtype(value.dtype, np.integer):
        return value.astype(np.int64)
    return value.astype(np.float32)


# --------------------------------------------------------------------------
# model.json + shards


def load_weights(model_json_path, model):
    """Every weight of the manifest as a numpy array, dequantised."""
    base = os.path.dirname(model_json_path)
    out = {}
    for group in model['weightsManifest']:
        data = b''.join(open(os.path.join(base, p), 'rb').read() for p in group['paths'])
        off = 0
        for w in group['weights']:
            shape = [int(d) for d in w['shape']]
            count = int(np.prod(shape)) if shape else 1
            q = w.get('quantization')
            if q:
                qdt = {'uint8': np.uint8, 'uint16': np.uint16, 'float16': np.float16}[q['dtype']]
                raw = np.frombuffer(data, dtype=qdt, count=count, offset=off)
                off += count * raw.itemsize
                if q['dtype'] == 'float16':
                    val = raw.astype(np.float32)
                else:
                    # TF.js: value = q * scale + min, computed in double, stored float32.
                    val = (raw.astype(np.float64) * q['scale'] + q['min']).astype(np.float32)
                if w['dtype'] == 'int32':
                    val = np.round(val).astype(np.int32)
            else:
                dt = {'float32': np.float32, 'int32': np.int32, 'bool': np.bool_}.get(w['dtype'])
                if dt is None:
                    raise ConversionError(f"weight {w['name']}: dtype {w['dtype']} is not supported")
                val = np.frombuffer(data, dtype=dt, count=count, offset=off)
                off += count * val.itemsize
            out[w['name']] = val.reshape(shape)
        if off != len(data):
            raise ConversionError(f'weights group {group["paths"]}: read {off} of {len(data)} bytes')
    return out


def signature_of(model):
    sig = model.get('signature') or (model.get('userDefinedMetadata') or {}).get('signature') or {}
    return sig


# --------------------------------------------------------------------------
# the converter


class Converter:
    def __init__(self, model, weights, layout='nchw'):
        self.model = model
        self.weights = weights
        self.layout_mode = layout
        self.nodes_tf = {n['name']: n for n in model['modelTopology']['node']}
        self.onnx_nodes = []
        self.initializers = {}
        self.consts = {}       # TF tensor name -> numpy value (folded constants)
        self.alias = {}        # TF tensor name -> ONNX value name
        self.nchw = set()      # ONNX value names holding the NCHW form of an NHWC tensor
        self.rank = {}         # ONNX/TF value name -> static rank when known
        self.cache = {}        # memoised transposes
        self.inputs = []
        self.counter = 0

    # ---- names and values

    def fresh(self, base):
        self.counter += 1
        return f'{base}__{self.counter}'

    @staticmethod
    def ref(inp):
        """TF input reference -> canonical tensor name ("node" or "node:k")."""
        if inp.endswith(':0'):
            return inp[:-2]
        return inp

    def data_inputs(self, node):
        return [self.ref(i) for i in node.get('input', []) if not i.startswith('^')]

    def is_const(self, name):
        return name in self.consts

    def const(self, name):
        return self.consts[name]

    def init(self, value, base='const'):
        """An initializer for a numpy value; returns its name."""
        value = norm_np(value)
        key = (value.dtype.str, value.shape, value.tobytes())
        if len(key[2]) <= 64:
            cached = self.cache.get(('init',) + key)
            if cached:
                return cached
        name = self.fresh(base)
        self.initializers[name] = numpy_helper.from_array(value, name)
        self.rank[name] = value.ndim
        if len(key[2]) <= 64:
            self.cache[('init',) + key] = name
        return name

    def value(self, name):
        """ONNX value name for a TF tensor, in whatever layout it is held."""
        if name in self.consts:
            return self.init(self.consts[name], base=name)
        if name not in self.alias:
            raise ConversionError(f'tensor {name} was not produced')
        return self.alias[name]

    def nhwc(self, name):
        """ONNX value for a TF tensor in its TF (NHWC) layout."""
        v = self.value(name)
        if v in self.nchw:
            key = ('nhwc', v)
            if key not in self.cache:
                out = self.emit('Transpose', [v], base=v + '_nhwc', perm=TO_NHWC)
                self.rank[out] = 4
                self.cache[key] = out
            return self.cache[key]
        return v

    def to_nchw(self, name):
        """ONNX value for a rank-4 TF tensor in NCHW layout."""
        if name in self.consts:
            return self.init(np.transpose(self.consts[name], TO_NCHW), base=name + '_nchw')
        v = self.value(name)
        if v in self.nchw:
            return v
        key = ('nchw', v)
        if key not in self.cache:
            out = self.emit('Transpose', [v], base=v + '_nchw', perm=TO_NCHW)
            self.nchw.add(out)
            self.rank[out] = 4
            self.cache[key] = out
        return self.cache[key]

    def held_nchw(self, name):
        return name not in self.consts and self.alias.get(name) in self.nchw

    def rank_of(self, name):
        if name in self.consts:
            return self.consts[name].ndim
        return self.rank.get(self.alias.get(name))

    def emit(self, op, inputs, base='t', outputs=1, **attrs):
        outs = [self.fresh(base) for _ in range(outputs)] if isinstance(outputs, int) else outputs
        self.onnx_nodes.append(helper.make_node(op, inputs, outs, name=self.fresh(op), **attrs))
        return outs[0] if len(outs) == 1 else outs

    def bind(self, tf_name, onnx_name, nchw=False, rank=None):
        self.alias[tf_name] = onnx_name
        if nchw:
            self.nchw.add(onnx_name)
            self.rank[onnx_name] = 4
        elif rank is not None:
            self.rank[onnx_name] = rank

    # ---- graph walk

    def toposort(self, wanted):
        order, state = [], {}
        for root in wanted:
            stack = [(root.split(':')[0], False)]
            while stack:
                name, done = stack.pop()
                if done:
                    if state.get(name) != 2:
                        state[name] = 2
                        order.append(name)
                    continue
                if state.get(name):
                    continue
                state[name] = 1
                stack.append((name, True))
                node = self.nodes_tf.get(name)
                if node is None:
                    raise ConversionError(f'node {name} is missing from the graph')
                for i in node.get('input', []):
                    dep = i.lstrip('^').split(':')[0]
                    if not state.get(dep):
                        stack.append((dep, False))
        return order

    def convert(self, inputs, outputs, name='model'):
        """inputs/outputs: lists of (onnx_name, tf_name)."""
        self.input_names = dict((tf, on) for on, tf in inputs)
        for node_name in self.toposort([tf for _, tf in outputs]):
            node = self.nodes_tf[node_name]
            try:
                self.convert_node(node)
            except ConversionError:
                raise
            except Exception as e:  # name the node in any failure
                raise ConversionError(f"{node['op']} {node_name}: {e!r}") from e

        graph_outputs = []
        for onnx_name, tf_name in outputs:
            tf_name = self.ref(tf_name)
            src = self.nhwc(tf_name)
            self.emit('Identity', [src], outputs=[onnx_name])
            dt = self.dtype_of(tf_name)
            rank = self.rank.get(src)
            shape = [f'{onnx_name}_{k}' for k in range(rank)] if rank is not None else None
            graph_outputs.append(helper.make_tensor_value_info(onnx_name, dt, shape))

        graph = helper.make_graph(self.onnx_nodes, name, self.inputs, graph_outputs,
                                  initializer=list(self.initializers.values()))
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)],
                              producer_name='strata tfjs_to_onnx')
        m.ir_version = 8
        return m

    def dtype_of(self, tf_name):
        node = self.nodes_tf[tf_name.split(':')[0]]
        attr = node.get('attr', {})
        for key in ('T', 'dtype', 'DstT', 'out_type', 'Tparams'):
            if key in attr and 'type' in attr[key]:
                return _ONNX_OF[tf_dtype(attr[key]['type'])]
        if node['op'] in ('Less', 'Greater', 'Equal', 'NotEqual', 'LessEqual', 'GreaterEqual',
                          'LogicalAnd', 'LogicalOr', 'LogicalNot'):
            return TensorProto.BOOL
        return TensorProto.FLOAT

    # ---- per-op conversion

    def convert_node(self, node):
        op = node['op']
        name = node['name']
        attr = node.get('attr', {})
        ins = self.data_inputs(node)

        if op == 'Const':
            if name in self.weights:
                self.consts[name] = norm_np(self.weights[name])
            else:
                raise ConversionError(f'Const {name} has no weight in the manifest')
            return
        if op == 'Placeholder':
            dims = attr.get('shape', {}).get('shape', {}).get('dim', [])
            shape = [int(d['size']) if int(d['size']) >= 0 else 'N' for d in dims]
            onnx_name = self.input_names.get(name, name.replace('/', '_'))
            dt = _ONNX_OF[tf_dtype(attr['dtype']['type'])]
            self.inputs.append(helper.make_tensor_value_info(onnx_name, dt, shape))
            self.bind(name, onnx_name, rank=len(shape))
            return
        if op in ('Identity', 'StopGradient', 'Snapshot'):
            src = ins[0]
            if src in self.consts:
                self.consts[name] = self.consts[src]
            else:
                self.alias[name] = self.alias[src]
            return
        if op == 'NoOp':
            return

        folded = self.try_fold(node, op, ins, attr)
        if folded is not None:
            if isinstance(folded, list):
                for k, v in enumerate(folded):
                    self.consts[name if k == 0 else f'{name}:{k}'] = norm_np(v)
            else:
                self.consts[name] = norm_np(folded)
            return

        handler = getattr(self, 'op_' + op, None)
        if handler is None:
            if op in UNARY:
                return self.unary(node, ins, UNARY[op])
            if op in BINARY:
                return self.binary(node, ins, BINARY[op])
            raise ConversionError(f'op {op} ({name}) has no ONNX mapping yet')
        handler(node, ins, attr)

    # ---- constant folding (shape arithmetic only; ORT folds the rest at load)

    def try_fold(self, node, op, ins, attr):
        if not ins or not all(i in self.consts for i in ins):
            return None
        c = [self.consts[i] for i in ins]
        if op in ('Add', 'AddV2'):
            return c[0] + c[1]
        if op == 'Sub':
            return c[0] - c[1]
        if op == 'Mul':
            return c[0] * c[1]
        if op == 'RealDiv':
            return c[0] / c[1]
        if op == 'FloorDiv':
            return np.floor_divide(c[0], c[1])
        if op == 'FloorMod':
            return np.mod(c[0], c[1])
        if op == 'Maximum':
            return np.maximum(c[0], c[1])
        if op == 'Minimum':
            return np.minimum(c[0], c[1])
        if op == 'Neg':
            return -c[0]
        if op == 'Cast':
            dst = tf_dtype(attr['DstT']['type'])
            return c[0].astype(_NP_OF[_ONNX_OF[dst]])
        if op == 'Reshape':
            return c[0].reshape([int(d) for d in c[1].reshape(-1)])
        if op == 'ExpandDims':
            return np.expand_dims(c[0], int(c[1].reshape(-1)[0]))
        if op == 'Squeeze':
            axes = [int(a) for a in attr.get('squeeze_dims', {}).get('list', {}).get('i', [])]
            return np.squeeze(c[0], axis=tuple(axes) if axes else None)
        if op == 'Transpose':
            return np.transpose(c[0], c[1].reshape(-1))
        if op == 'ConcatV2':
            return np.concatenate(c[:-1], axis=int(c[-1]))
        if op == 'Pack':
            return np.stack(c, axis=int(attr.get('axis', {}).get('i', 0)))
        if op == 'Shape':
            return np.array(c[0].shape, dtype=np.int64)
        if op == 'Prod':
            return np.prod(c[0], axis=tuple(np.reshape(c[1], -1)),
                           keepdims=attr.get('keep_dims', {}).get('b', False))
        if op == 'GatherV2':
            return np.take(c[0], c[1], axis=int(c[2]))
        if op == 'Range':
            return np.arange(c[0], c[1], c[2])
        if op == 'Fill':
            return np.full([int(d) for d in c[0]], c[1])
        return None

    # ---- elementwise

    def unary(self, node, ins, onnx_op, **attrs):
        x = ins[0]
        if self.held_nchw(x):
            out = self.emit(onnx_op, [self.value(x)], base=node['name'], **attrs)
            self.bind(node['name'], out, nchw=True)
        else:
            out = self.emit(onnx_op, [self.nhwc(x)], base=node['name'], **attrs)
            self.bind(node['name'], out, rank=self.rank_of(x))

    def elementwise_inputs(self, ins):
        """The ONNX operands of an elementwise op, NCHW when that needs no extra
        transpose of a computed tensor; returns (values, is_nchw)."""
        if self.layout_mode == 'nchw' and any(self.held_nchw(i) for i in ins):
            ok = True
            for i in ins:
                if self.held_nchw(i):
                    continue
                if i in self.consts:
                    if self.consts[i].ndim > 4:
                        ok = False
                elif self.rank_of(i) != 4:
                    ok = False
            if ok:
                vals = []
                for i in ins:
                    if i in self.consts:
                        c = self.consts[i]
                        if c.ndim == 0:
                            vals.append(self.init(c, base=i))
                        else:
                            c4 = c.reshape((1,) * (4 - c.ndim) + c.shape)
                            vals.append(self.init(np.transpose(c4, TO_NCHW), base=i + '_nchw'))
                    else:
                        vals.append(self.to_nchw(i))
                return vals, True
        return [self.nhwc(i) for i in ins], False

    def binary(self, node, ins, onnx_op):
        vals, nchw = self.elementwise_inputs(ins)
        out = self.emit(onnx_op, vals, base=node['name'])
        ranks = [self.rank_of(i) for i in ins]
        self.bind(node['name'], out, nchw=nchw,
                  rank=None if None in ranks else max(ranks))

    def op_BiasAdd(self, node, ins, attr):
        self.binary(node, ins, 'Add')

    def op_Relu6(self, node, ins, attr):
        lo, hi = self.init(np.float32(0)), self.init(np.float32(6))
        x = ins[0]
        nchw = self.held_nchw(x)
        out = self.emit('Clip', [self.value(x) if nchw else self.nhwc(x), lo, hi], base=node['name'])
        self.bind(node['name'], out, nchw=nchw, rank=self.rank_of(x))

    def op_Rsqrt(self, node, ins, attr):
        # TF.js rsqrt is 1 / sqrt(x) in float32.
        x = ins[0]
        nchw = self.held_nchw(x)
        s = self.emit('Sqrt', [self.value(x) if nchw else self.nhwc(x)], base=node['name'])
        out = self.emit('Reciprocal', [s], base=node['name'])
        self.bind(node['name'], out, nchw=nchw, rank=self.rank_of(x))

    def op_Square(self, node, ins, attr):
        x = ins[0]
        nchw = self.held_nchw(x)
        v = self.value(x) if nchw else self.nhwc(x)
        out = self.emit('Mul', [v, v], base=node['name'])
        self.bind(node['name'], out, nchw=nchw, rank=self.rank_of(x))

    def op_SquaredDifference(self, node, ins, attr):
        vals, nchw = self.elementwise_inputs(ins)
        d = self.emit('Sub', vals, base=node['name'])
        out = self.emit('Mul', [d, d], base=node['name'])
        self.bind(node['name'], out, nchw=nchw)

    def op_LeakyRelu(self, node, ins, attr):
        self.unary(node, ins, 'LeakyRelu', alpha=float(attr.get('alpha', {}).get('f', 0.2)))

    def op_Prelu(self, node, ins, attr):
        self.binary(node, ins, 'PRelu')

    def op_FloorDiv(self, node, ins, attr):
        vals, nchw = self.elementwise_inputs(ins)
        if self.dtype_of(node['name']) == TensorProto.FLOAT:
            q = self.emit('Div', vals, base=node['name'])
            out = self.emit('Floor', [q], base=node['name'])
        else:
            m = self.emit('Mod', vals, base=node['name'], fmod=0)
            d = self.emit('Sub', [vals[0], m], base=node['name'])
            out = self.emit('Div', [d, vals[1]], base=node['name'])
        self.bind(node['name'], out, nchw=nchw)

    def op_FloorMod(self, node, ins, attr):
        vals, nchw = self.elementwise_inputs(ins)
        if self.dtype_of(node['name']) == TensorProto.FLOAT:
            q = self.emit('Floor', [self.emit('Div', vals)])
            out = self.emit('Sub', [vals[0], self.emit('Mul', [vals[1], q])], base=node['name'])
        else:
            out = self.emit('Mod', vals, base=node['name'], fmod=0)
        self.bind(node['name'], out, nchw=nchw)

    def op_Cast(self, node, ins, attr):
        src = tf_dtype(attr['SrcT']['type'])
        dst = tf_dtype(attr['DstT']['type'])
        if _ONNX_OF[src] == _ONNX_OF[dst]:
            x = ins[0]
            self.alias[node['name']] = self.value(x)
            return
        self.unary(node, ins, 'Cast', to=_ONNX_OF[dst])

    def op_Select(self, node, ins, attr):
        vals, nchw = self.elementwise_inputs(ins)
        out = self.emit('Where', vals, base=node['name'])
        self.bind(node['name'], out, nchw=nchw)

    op_SelectV2 = op_Select

    # ---- convolutions and pooling

    @staticmethod
    def hw(lst, default=1):
        v = [int(x) for x in lst.get('list', {}).get('i', [])] if lst else []
        if not v:
            return [default, default]
        return v[1:3]  # NHWC lists

    def pads_attrs(self, attr, ksize):
        padding = attr_s(attr['padding'])
        if padding == 'SAME':
            return {'auto_pad': 'SAME_UPPER'}
        if padding == 'VALID':
            return {'auto_pad': 'VALID'}
        if padding == 'EXPLICIT':
            p = [int(x) for x in attr['explicit_paddings']['list']['i']]  # NHWC pairs
            return {'pads': [p[2], p[4], p[3], p[5]]}
        raise ConversionError(f'padding {padding}')

    def conv_core(self, node, ins, attr, depthwise):
        name = node['name']
        if attr.get('data_format') and attr_s(attr['data_format']) != 'NHWC':
            raise ConversionError('only NHWC convolutions are supported')
        if ins[1] not in self.consts:
            raise ConversionError('convolution weights must be constant')
        w = self.consts[ins[1]].astype(np.float32)  # HWIO, or HW C M for depthwise
        kh, kw = w.shape[0], w.shape[1]
        strides = self.hw(attr.get('strides'))
        dil = self.hw(attr.get('dilations'))
        fused = [bytes(base64.b64decode(s)).decode() if not isinstance(s, list) else bytes(s).decode()
                 for s in attr.get('fused_ops', {}).get('list', {}).get('s', [])]
        extra = ins[2:]
        bias = None
        act = []
        for f in fused:
            if f == 'BiasAdd':
                bias = self.consts[extra.pop(0)]
            elif f == 'FusedBatchNorm':
                scale, offset, mean, var = (self.consts[extra.pop(0)] for _ in range(4))
                eps = float(attr.get('epsilon', {}).get('f', 0.0))
                mul = scale / np.sqrt(var + eps)
                w = w * (mul.reshape(1, 1, -1, 1) if depthwise else mul)
                bias = offset - mean * mul
            elif f in ('Relu', 'Relu6', 'Elu', 'Sigmoid', 'Tanh', 'LeakyRelu', 'Prelu'):
                act.append(f)
            else:
                raise ConversionError(f'fused op {f}')

        x = ins[0]
        onnx_w_pointwise = (not depthwise and kh == 1 and kw == 1 and strides == [1, 1]
                            and dil == [1, 1])
        if onnx_w_pointwise and not self.held_nchw(x):
            # 1x1 conv on an NHWC tensor: a MatMul over the channel axis.
            y = self.emit('MatMul', [self.nhwc(x), self.init(w[0, 0], base=name + '_w')], base=name)
            if bias is not None:
                y = self.emit('Add', [y, self.init(bias, base=name + '_b')], base=name)
            nchw = False
        else:
            if depthwise:
                c, m = w.shape[2], w.shape[3]
                w_oihw = np.transpose(w, (2, 3, 0, 1)).reshape(c * m, 1, kh, kw)
                group = c
            else:
                w_oihw = np.transpose(w, (3, 2, 0, 1))
                group = 1
            conv_in = [self.to_nchw(x), self.init(np.ascontiguousarray(w_oihw), base=name + '_w')]
            if bias is not None:
                conv_in.append(self.init(bias.reshape(-1), base=name + '_b'))
            y = self.emit('Conv', conv_in, base=name, kernel_shape=[kh, kw], strides=strides,
                          dilations=dil, group=group, **self.pads_attrs(attr, [kh, kw]))
            nchw = True
        for a in act:
            y = self.activation(a, y, extra, attr, nchw, name)
        if nchw and self.layout_mode == 'nhwc':
            y = self.emit('Transpose', [y], perm=TO_NHWC, base=name)
            nchw = False
        self.bind(name, y, nchw=nchw, rank=4)

    def activation(self, a, y, extra, attr, nchw, name):
        if a == 'Relu':
            return self.emit('Relu', [y], base=name)
        if a == 'Relu6':
            return self.emit('Clip', [y, self.init(np.float32(0)), self.init(np.float32(6))], base=name)
        if a == 'Elu':
            return self.emit('Elu', [y], base=name)
        if a == 'Sigmoid':
            return self.emit('Sigmoid', [y], base=name)
        if a == 'Tanh':
            return self.emit('Tanh', [y], base=name)
        if a == 'LeakyRelu':
            return self.emit('LeakyRelu', [y], base=name,
                             alpha=float(attr.get('leakyrelu_alpha', {}).get('f', 0.2)))
        if a == 'Prelu':
            alpha = self.consts[extra.pop(0)]
            if nchw:
                alpha = alpha.reshape(-1, 1, 1)
            return self.emit('PRelu', [y, self.init(alpha, base=name + '_alpha')], base=name)
        raise ConversionError(a)

    def op_Conv2D(self, node, ins, attr):
        self.conv_core(node, ins, attr, depthwise=False)

    op__FusedConv2D = op_Conv2D

    def op_DepthwiseConv2dNative(self, node, ins, attr):
        self.conv_core(node, ins, attr, depthwise=True)

    op_FusedDepthwiseConv2dNative = op_DepthwiseConv2dNative

    def pool(self, node, ins, attr, onnx_op):
        k = self.hw(attr['ksize'])
        s = self.hw(attr['strides'])
        extra = {} if onnx_op == 'MaxPool' else {'count_include_pad': 0}
        y = self.emit(onnx_op, [self.to_nchw(ins[0])], base=node['name'], kernel_shape=k,
                      strides=s, **self.pads_attrs(attr, k), **extra)
        if self.layout_mode == 'nhwc':
            y = self.emit('Transpose', [y], perm=TO_NHWC)
            self.bind(node['name'], y, rank=4)
        else:
            self.bind(node['name'], y, nchw=True)

    def op_MaxPool(self, node, ins, attr):
        self.pool(node, ins, attr, 'MaxPool')

    def op_AvgPool(self, node, ins, attr):
        self.pool(node, ins, attr, 'AveragePool')

    def resize(self, node, ins, attr, mode):
        x = self.to_nchw(ins[0])
        size = self.as_int64(ins[1])
        nc = self.emit('Slice', [self.emit('Shape', [x]), self.init(np.array([0])),
                                 self.init(np.array([2]))])
        sizes = self.emit('Concat', [nc, size], axis=0)
        align = attr.get('align_corners', {}).get('b', False)
        half = attr.get('half_pixel_centers', {}).get('b', False)
        if align:
            ctm = 'align_corners'
        elif half:
            ctm = 'half_pixel' if mode == 'linear' else 'tf_half_pixel_for_nn'
        else:
            ctm = 'asymmetric'
        extra = {}
        if mode == 'nearest':
            extra['nearest_mode'] = 'round_prefer_ceil' if (align or half) else 'floor'
        y = self.emit('Resize', [x, '', '', sizes], base=node['name'], mode=mode,
                      coordinate_transformation_mode=ctm, **extra)
        if self.layout_mode == 'nhwc':
            self.bind(node['name'], self.emit('Transpose', [y], perm=TO_NHWC), rank=4)
        else:
            self.bind(node['name'], y, nchw=True)

    def op_ResizeBilinear(self, node, ins, attr):
        self.resize(node, ins, attr, 'linear')

    def op_ResizeNearestNeighbor(self, node, ins, attr):
        self.resize(node, ins, attr, 'nearest')

    def op_FusedBatchNorm(self, node, ins, attr):
        scale, offset, mean, var = (self.consts[i] for i in ins[1:5])
        eps = float(attr.get('epsilon', {}).get('f', 0.001))
        mul = scale / np.sqrt(var + eps)
        add = offset - mean * mul
        x = ins[0]
        if self.held_nchw(x):
            v, mul, add, nchw = self.value(x), mul.reshape(-1, 1, 1), add.reshape(-1, 1, 1), True
        else:
            v, nchw = self.nhwc(x), False
        y = self.emit('Mul', [v, self.init(mul)], base=node['name'])
        y = self.emit('Add', [y, self.init(add)], base=node['name'])
        self.bind(node['name'], y, nchw=nchw, rank=4)

    op_FusedBatchNormV3 = op_FusedBatchNorm

    # ---- matrix products

    def op_MatMul(self, node, ins, attr, fused=()):
        name = node['name']
        ta = attr.get('transpose_a', {}).get('b', False)
        tb = attr.get('transpose_b', {}).get('b', False)
        ops = []
        for i, t in ((ins[0], ta), (ins[1], tb)):
            if i in self.consts:
                c = self.consts[i]
                ops.append(self.init(c.T if t else c, base=i))
            else:
                v = self.nhwc(i)
                ops.append(self.emit('Transpose', [v], perm=[1, 0]) if t else v)
        y = self.emit('MatMul', ops, base=name)
        extra = ins[2:]
        for f in fused:
            if f == 'BiasAdd':
                y = self.emit('Add', [y, self.init(self.consts[extra.pop(0)], base=name + '_b')])
            else:
                y = self.activation(f, y, extra, attr, False, name)
        self.bind(name, y, rank=2)

    def op__FusedMatMul(self, node, ins, attr):
        fused = [bytes(base64.b64decode(s)).decode() if not isinstance(s, list) else bytes(s).decode()
                 for s in attr.get('fused_ops', {}).get('list', {}).get('s', [])]
        self.op_MatMul(node, ins, attr, fused)

    def op_BatchMatMul(self, node, ins, attr):
        name = node['name']
        adj = [attr.get('adj_x', {}).get('b', False), attr.get('adj_y', {}).get('b', False)]
        ranks = [self.rank_of(i) for i in ins]
        if any(adj) and None in ranks:
            # Rank unknown: einsum with an ellipsis transposes without knowing it.
            eq = '...' + ('ji' if adj[0] else 'ij') + ',...' + ('kj' if adj[1] else 'jk') + '->...ik'
            y = self.emit('Einsum', [self.nhwc(i) for i in ins], base=name, equation=eq)
            self.bind(name, y)
            return
        ops = []
        for i, t, r in zip(ins, adj, ranks):
            if i in self.consts:
                c = self.consts[i]
                ops.append(self.init(np.swapaxes(c, -1, -2) if t else c, base=i))
            else:
                v = self.nhwc(i)
                if t:
                    perm = list(range(r))
                    perm[-1], perm[-2] = perm[-2], perm[-1]
                    v = self.emit('Transpose', [v], perm=perm)
                ops.append(v)
        y = self.emit('MatMul', ops, base=name)
        self.bind(name, y, rank=None if None in ranks else max(ranks))

    op_BatchMatMulV2 = op_BatchMatMul

    def op_Einsum(self, node, ins, attr):
        y = self.emit('Einsum', [self.nhwc(i) for i in ins], base=node['name'],
                      equation=attr_s(attr['equation']))
        self.bind(node['name'], y)

    # ---- shapes and indexing

    def as_int64(self, name):
        """An integer TF tensor as an int64 ONNX value (all integers are int64 here)."""
        if name in self.consts:
            return self.init(self.consts[name].astype(np.int64), base=name)
        return self.nhwc(name)

    def const_list(self, name):
        if name not in self.consts:
            raise ConversionError(f'{name} must be constant')
        return [int(v) for v in np.reshape(self.consts[name], -1)]

    def op_Shape(self, node, ins, attr):
        x = ins[0]
        if self.held_nchw(x):
            s = self.emit('Shape', [self.value(x)])
            y = self.emit('Gather', [s, self.init(np.array(TO_NHWC))], base=node['name'], axis=0)
        else:
            y = self.emit('Shape', [self.nhwc(x)], base=node['name'])
        self.bind(node['name'], y, rank=1)

    def op_Reshape(self, node, ins, attr):
        y = self.emit('Reshape', [self.nhwc(ins[0]), self.as_int64(ins[1])], base=node['name'])
        rank = len(self.consts[ins[1]].reshape(-1)) if ins[1] in self.consts else None
        self.bind(node['name'], y, rank=rank)

    def op_ExpandDims(self, node, ins, attr):
        axis = self.const_list(ins[1])
        r = self.rank_of(ins[0])
        y = self.emit('Unsqueeze', [self.nhwc(ins[0]), self.init(np.array(axis))], base=node['name'])
        self.bind(node['name'], y, rank=None if r is None else r + 1)

    def reduce_nchw_ok(self, x, axes, keep):
        """Whether reducing an NCHW-held tensor over TF axes keeps a usable layout:
        returns (onnx_axes, out_is_nchw) or None."""
        if not self.held_nchw(x):
            return None
        axes = [a % 4 for a in axes]
        onnx_axes = [TO_NCHW.index(a) for a in axes]
        if keep:
            return onnx_axes, True
        remaining = [a for a in TO_NCHW if a not in axes]
        if remaining == sorted(remaining):
            return onnx_axes, False
        return None

    def op_Squeeze(self, node, ins, attr):
        axes = [int(a) for a in attr.get('squeeze_dims', {}).get('list', {}).get('i', [])]
        x = ins[0]
        r = self.rank_of(x)
        if axes:
            plan = self.reduce_nchw_ok(x, axes, False)
            if plan:
                y = self.emit('Squeeze', [self.value(x), self.init(np.array(plan[0]))],
                              base=node['name'])
            else:
                y = self.emit('Squeeze', [self.nhwc(x), self.init(np.array(axes))],
                              base=node['name'])
            self.bind(node['name'], y, rank=None if r is None else r - len(axes))
        else:
            y = self.emit('Squeeze', [self.nhwc(x)], base=node['name'])
            self.bind(node['name'], y)

    def op_Transpose(self, node, ins, attr):
        perm = self.const_list(ins[1])
        y = self.emit('Transpose', [self.nhwc(ins[0])], base=node['name'], perm=perm)
        self.bind(node['name'], y, rank=len(perm))

    def op_ConcatV2(self, node, ins, attr):
        axis = self.const_list(ins[-1])[0]
        parts = ins[:-1]
        if (self.layout_mode == 'nchw' and any(self.held_nchw(p) for p in parts)
                and all(self.held_nchw(p) or self.rank_of(p) == 4 for p in parts)):
            y = self.emit('Concat', [self.to_nchw(p) for p in parts], base=node['name'],
                          axis=TO_NCHW.index(axis % 4))
            self.bind(node['name'], y, nchw=True)
            return
        ranks = [self.rank_of(p) for p in parts]
        y = self.emit('Concat', [self.as_int64(p) if self.dtype_of(p) == TensorProto.INT64
                                 else self.nhwc(p) for p in parts], base=node['name'], axis=axis)
        self.bind(node['name'], y, rank=None if None in ranks else ranks[0])

    def op_Pack(self, node, ins, attr):
        axis = int(attr.get('axis', {}).get('i', 0))
        ax = self.init(np.array([axis]))
        parts = [self.emit('Unsqueeze', [self.value(p) if p in self.consts else self.nhwc(p), ax])
                 for p in ins]
        y = self.emit('Concat', parts, base=node['name'], axis=axis)
        r = self.rank_of(ins[0])
        self.bind(node['name'], y, rank=None if r is None else r + 1)

    def op_Unpack(self, node, ins, attr):
        axis = int(attr.get('axis', {}).get('i', 0))
        num = int(attr['num']['i'])
        outs = [node['name'] if k == 0 else f"{node['name']}:{k}" for k in range(num)]
        parts = self.emit('Split', [self.nhwc(ins[0])], outputs=[self.fresh(o) for o in outs],
                          axis=axis)
        parts = parts if isinstance(parts, list) else [parts]
        ax = self.init(np.array([axis]))
        for o, p in zip(outs, parts):
            self.bind(o, self.emit('Squeeze', [p, ax]))

    def op_SplitV(self, node, ins, attr):
        sizes = self.const_list(ins[1])
        axis = self.const_list(ins[2])[0]
        self.split(node, ins[0], axis, sizes)

    def op_Split(self, node, ins, attr):
        axis = self.const_list(ins[0])[0]
        num = int(attr['num_split']['i'])
        self.split(node, ins[1], axis, None, num)

    def split(self, node, x, axis, sizes, num=None):
        n = len(sizes) if sizes else num
        if sizes and -1 in sizes:
            raise ConversionError('SplitV with an inferred (-1) size')
        outs = [node['name'] if k == 0 else f"{node['name']}:{k}" for k in range(n)]
        onnx_outs = [self.fresh(o) for o in outs]
        r = self.rank_of(x)
        if self.held_nchw(x):
            inputs = [self.value(x)]
            ax = TO_NCHW.index(axis % 4)
        else:
            inputs = [self.nhwc(x)]
            ax = axis
        if sizes:
            inputs.append(self.init(np.array(sizes)))
        self.emit('Split', inputs, outputs=onnx_outs, axis=ax)
        for o, v in zip(outs, onnx_outs):
            self.bind(o, v, nchw=self.held_nchw(x), rank=r)

    def op_Slice(self, node, ins, attr):
        x = ins[0]
        begin = self.as_int64(ins[1])
        if ins[2] in self.consts:
            b = self.consts[ins[1]] if ins[1] in self.consts else None
            size = self.consts[ins[2]].reshape(-1)
            if b is not None:
                ends = np.where(size < 0, INT64_MAX, b.reshape(-1) + size)
                end = self.init(ends)
            else:
                end = self.emit('Add', [begin, self.init(np.where(size < 0, 0, size))])
                end = self.emit('Where', [self.init(size < 0), self.init(np.array(INT64_MAX)), end])
        else:
            end = self.emit('Add', [begin, self.as_int64(ins[2])])
            neg = self.emit('Less', [self.as_int64(ins[2]), self.init(np.array(0))])
            end = self.emit('Where', [neg, self.init(np.array(INT64_MAX)), end])
        y = self.emit('Slice', [self.nhwc(x), begin, end], base=node['name'])
        self.bind(node['name'], y, rank=self.rank_of(x))

    def op_StridedSlice(self, node, ins, attr):
        x = ins[0]
        begin, end, strides = (self.const_list(i) for i in ins[1:4])
        mask = {k: int(attr.get(k, {}).get('i', 0)) for k in
                ('begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask')}
        rank = self.rank_of(x)
        starts, ends, axes, steps, shrink, new_axes = [], [], [], [], [], []
        ax = 0
        out_pos = 0
        n_real = sum(1 for i in range(len(begin)) if not (mask['new_axis_mask'] >> i) & 1
                     and not (mask['ellipsis_mask'] >> i) & 1)
        for i in range(len(begin)):
            bit = 1 << i
            if mask['ellipsis_mask'] & bit:
                if rank is None:
                    raise ConversionError('StridedSlice ellipsis on a tensor of unknown rank')
                span = rank - n_real
                ax += span
                out_pos += span
                continue
            if mask['new_axis_mask'] & bit:
                new_axes.append(out_pos)
                out_pos += 1
                continue
            st = strides[i]
            if mask['shrink_axis_mask'] & bit:
                b = begin[i]
                starts.append(b)
                ends.append(b + 1 if b != -1 else INT64_MAX)
                axes.append(ax)
                steps.append(1)
                shrink.append(ax)
                ax += 1
                continue
            b = begin[i] if not mask['begin_mask'] & bit else (0 if st > 0 else INT64_MAX)
            e = end[i] if not mask['end_mask'] & bit else (INT64_MAX if st > 0 else INT64_MIN)
            if not (b == 0 and e == INT64_MAX and st == 1):
                starts.append(b)
                ends.append(e)
                axes.append(ax)
                steps.append(st)
            ax += 1
            out_pos += 1
        y = self.nhwc(x)
        if axes:
            y = self.emit('Slice', [y, self.init(np.array(starts)), self.init(np.array(ends)),
                                    self.init(np.array(axes)), self.init(np.array(steps))])
        if shrink:
            y = self.emit('Squeeze', [y, self.init(np.array(shrink))])
        if new_axes:
            y = self.emit('Unsqueeze', [y, self.init(np.array(new_axes))])
        if y == self.nhwc(x):
            y = self.emit('Identity', [y])
        out_rank = None if rank is None else rank - len(shrink) + len(new_axes)
        self.bind(node['name'], y, rank=out_rank)

    def op_GatherV2(self, node, ins, attr):
        if int(attr.get('batch_dims', {}).get('i', 0)) != 0:
            raise ConversionError('GatherV2 with batch_dims')
        axis = self.const_list(ins[2])[0]
        params = self.value(ins[0]) if ins[0] in self.consts else self.nhwc(ins[0])
        y = self.emit('Gather', [params, self.as_int64(ins[1])], base=node['name'], axis=axis)
        r0, r1 = self.rank_of(ins[0]), self.rank_of(ins[1])
        self.bind(node['name'], y, rank=None if None in (r0, r1) else r0 + r1 - 1)

    def op_GatherNd(self, node, ins, attr):
        y = self.emit('GatherND', [self.nhwc(ins[0]), self.as_int64(ins[1])], base=node['name'])
        self.bind(node['name'], y)

    def zeros_of_shape(self, shape, dtype):
        return self.emit('ConstantOfShape', [shape],
                         value=numpy_helper.from_array(np.zeros([1], dtype=_NP_OF[dtype])))

    def op_ScatterNd(self, node, ins, attr):
        # TF ScatterNd sums the updates of repeated indices into zeros.
        dt = self.dtype_of(node['name'])
        data = self.zeros_of_shape(self.as_int64(ins[2]), dt)
        y = self.emit('ScatterND', [data, self.as_int64(ins[0]), self.nhwc(ins[1])],
                      base=node['name'], reduction='add')
        r = len(self.consts[ins[2]].reshape(-1)) if ins[2] in self.consts else None
        self.bind(node['name'], y, rank=r)

    def op_SparseToDense(self, node, ins, attr):
        idx, shape, vals, default = ins
        shape_v = self.as_int64(shape)
        data = self.emit('Expand', [self.nhwc(default) if default not in self.consts
                                    else self.value(default), shape_v])
        idx_v = self.as_int64(idx)
        if self.rank_of(idx) == 1:
            idx_v = self.emit('Unsqueeze', [idx_v, self.init(np.array([1]))])
        vals_v = self.value(vals) if vals in self.consts else self.nhwc(vals)
        if self.rank_of(vals) == 0:
            n = self.emit('Slice', [self.emit('Shape', [idx_v]), self.init(np.array([0])),
                                    self.init(np.array([1]))])
            vals_v = self.emit('Expand', [vals_v, n])
        y = self.emit('ScatterND', [data, idx_v, vals_v], base=node['name'])
        r = len(self.consts[shape].reshape(-1)) if shape in self.consts else None
        self.bind(node['name'], y, rank=r)

    def op_Where(self, node, ins, attr):
        if len(ins) == 3:
            return self.op_Select(node, ins, attr)
        nz = self.emit('NonZero', [self.nhwc(ins[0])])
        y = self.emit('Transpose', [nz], base=node['name'], perm=[1, 0])
        self.bind(node['name'], y, rank=2)

    def op_Range(self, node, ins, attr):
        vals = [self.value(i) if i in self.consts else self.nhwc(i) for i in ins]
        y = self.emit('Range', vals, base=node['name'])
        self.bind(node['name'], y, rank=1)

    def op_Fill(self, node, ins, attr):
        y = self.emit('Expand', [self.value(ins[1]) if ins[1] in self.consts else self.nhwc(ins[1]),
                                 self.as_int64(ins[0])], base=node['name'])
        self.bind(node['name'], y)

    def op_Tile(self, node, ins, attr):
        y = self.emit('Tile', [self.nhwc(ins[0]), self.as_int64(ins[1])], base=node['name'])
        self.bind(node['name'], y, rank=self.rank_of(ins[0]))

    def op_Pad(self, node, ins, attr, mode='constant'):
        p = self.consts[ins[1]].astype(np.int64)  # [rank, 2]
        x = ins[0]
        if self.held_nchw(x):
            p = p[TO_NCHW]
            v, nchw = self.value(x), True
        else:
            v, nchw = self.nhwc(x), False
        pads = self.init(np.concatenate([p[:, 0], p[:, 1]]))
        inputs = [v, pads]
        if len(ins) > 2:
            inputs.append(self.value(ins[2]))
        y = self.emit('Pad', inputs, base=node['name'], mode=mode)
        self.bind(node['name'], y, nchw=nchw, rank=self.rank_of(x))

    op_PadV2 = op_Pad

    def op_MirrorPad(self, node, ins, attr):
        m = attr_s(attr['mode']).lower()
        if m != 'reflect':
            raise ConversionError('MirrorPad SYMMETRIC has no ONNX equivalent')
        self.op_Pad(node, ins, attr, mode='reflect')

    def reduce(self, node, ins, attr, onnx_op):
        axes = self.const_list(ins[1])
        keep = int(bool(attr.get('keep_dims', {}).get('b', False)))
        x = ins[0]
        r = self.rank_of(x)
        if not axes:
            self.alias[node['name']] = self.value(x)
            return
        plan = self.reduce_nchw_ok(x, axes, keep)
        if plan:
            v, axes_o, nchw = self.value(x), plan[0], plan[1]
        else:
            v, axes_o, nchw = self.nhwc(x), axes, False
        if onnx_op == 'ReduceSum':
            y = self.emit(onnx_op, [v, self.init(np.array(axes_o))], base=node['name'], keepdims=keep)
        else:
            y = self.emit(onnx_op, [v], base=node['name'], axes=axes_o, keepdims=keep)
        self.bind(node['name'], y, nchw=nchw,
                  rank=None if r is None else (r if keep else r - len(axes)))

    def op_Mean(self, node, ins, attr):
        self.reduce(node, ins, attr, 'ReduceMean')

    def op_Sum(self, node, ins, attr):
        self.reduce(node, ins, attr, 'ReduceSum')

    def op_Max(self, node, ins, attr):
        self.reduce(node, ins, attr, 'ReduceMax')

    def op_Min(self, node, ins, attr):
        self.reduce(node, ins, attr, 'ReduceMin')

    def op_Prod(self, node, ins, attr):
        self.reduce(node, ins, attr, 'ReduceProd')

    def op_ArgMax(self, node, ins, attr):
        axis = self.const_list(ins[1])[0]
        y = self.emit('ArgMax', [self.nhwc(ins[0])], base=node['name'], axis=axis, keepdims=0)
        self.bind(node['name'], y)

    def op_Softmax(self, node, ins, attr):
        y = self.emit('Softmax', [self.nhwc(ins[0])], base=node['name'], axis=-1)
        self.bind(node['name'], y, rank=self.rank_of(ins[0]))

    def op_TopKV2(self, node, ins, attr):
        k = self.emit('Reshape', [self.as_int64(ins[1]), self.init(np.array([1]))])
        name = node['name']
        vals, idx = self.fresh(name), self.fresh(name + '_i')
        self.emit('TopK', [self.nhwc(ins[0]), k], outputs=[vals, idx], axis=-1, largest=1,
                  sorted=1)
        r = self.rank_of(ins[0])
        self.bind(name, vals, rank=r)
        self.bind(name + ':1', idx, rank=r)

    def op_Softplus(self, node, ins, attr):
        self.unary(node, ins, 'Softplus')


# Layout-agnostic elementwise ops.
UNARY = {
    'Relu': 'Relu', 'Sigmoid': 'Sigmoid', 'Tanh': 'Tanh', 'Exp': 'Exp', 'Log': 'Log',
    'Sqrt': 'Sqrt', 'Abs': 'Abs', 'Neg': 'Neg', 'Floor': 'Floor', 'Ceil': 'Ceil',
    'Round': 'Round', 'Sin': 'Sin', 'Cos': 'Cos', 'Elu': 'Elu', 'Reciprocal': 'Reciprocal',
    'Erf': 'Erf', 'LogicalNot': 'Not', 'Sign': 'Sign',
}
BINARY = {
    'Add': 'Add', 'AddV2': 'Add', 'Sub': 'Sub', 'Mul': 'Mul', 'RealDiv': 'Div', 'Div': 'Div',
    'Maximum': 'Max', 'Minimum': 'Min', 'Pow': 'Pow', 'Less': 'Less', 'Greater': 'Greater',
    'Equal': 'Equal', 'LessEqual': 'LessOrEqual', 'GreaterEqual': 'GreaterOrEqual',
    'LogicalAnd': 'And', 'LogicalOr': 'Or',
}


def parse_pairs(items):
    out = []
    for item in items or []:
        if '=' not in item:
            raise SystemExit(f'expected NAME=TF_NAME, got {item!r}')
        a, b = item.split('=', 1)
        out.append((a, b))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('model_json')
    ap.add_argument('out_onnx')
    ap.add_argument('--input', action='append', help='ONNX_NAME=TF_PLACEHOLDER')
    ap.add_argument('--output', action='append', help='ONNX_NAME=TF_TENSOR (default: the signature)')
    ap.add_argument('--layout', choices=['nchw', 'nhwc'], default='nchw',
                    help='nchw: keep conv activations NCHW between convs (default); '
                         'nhwc: keep the TF layout, a Transpose pair around each spatial '
                         'Conv/pool (for comparison)')
    args = ap.parse_args(argv)

    t0 = time.time()
    model = json.load(open(args.model_json))
    weights = load_weights(args.model_json, model)
    sig = signature_of(model)
    outputs = parse_pairs(args.output)
    if not outputs:
        outs = sig.get('outputs', {})
        if not outs:
            raise SystemExit('no --output given and the model has no signature outputs')
        outputs = [(k.split(':')[0].replace('/', '_'), v.get('name', k)) for k, v in outs.items()]
    inputs = parse_pairs(args.input)

    conv = Converter(model, weights, layout=args.layout)
    try:
        onnx_model = conv.convert(inputs, outputs, name=os.path.basename(os.path.dirname(
            os.path.abspath(args.model_json))) or 'model')
    except ConversionError as e:
        raise SystemExit(f'tfjs_to_onnx: {e}')
    # Outputs of unknown rank have no shape field, which the checker refuses:
    # fill them in from ONNX shape inference where it can tell.
    inferred = onnx.shape_inference.infer_shapes(onnx_model)
    known = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for out in onnx_model.graph.output:
        if not out.type.tensor_type.HasField('shape') and out.name in known:
            out.CopyFrom(known[out.name])
    onnx.checker.check_model(onnx_model)
    tmp = args.out_onnx + '.part'
    onnx.save(onnx_model, tmp)
    os.replace(tmp, args.out_onnx)
    print(f'tfjs_to_onnx: {args.model_json} -> {args.out_onnx}: '
          f'{len(onnx_model.graph.node)} nodes, {len(onnx_model.graph.initializer)} initializers, '
          f'inputs {[i.name for i in onnx_model.graph.input]}, '
          f'outputs {[o.name for o in onnx_model.graph.output]} '
          f'({time.time() - t0:.2f} s)')


if __name__ == '__main__':
    main()
