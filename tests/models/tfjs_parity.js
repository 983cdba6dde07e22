#!/usr/bin/env node
// Parity of the ONNX models made by scripts/tfjs_to_onnx.py with the TensorFlow.js
// graphs they come from: each TF.js graph runs on TF.js's pure-JavaScript cpu
// backend, its ONNX conversion on ONNX Runtime (onnxruntime-node), on the same
// fixed inputs, and the outputs must agree.
//
//   node tests/models/tfjs_parity.js           the checks (ctest models.tfjs_parity)
//   node tests/models/tfjs_parity.js --bench   USE-lite sentences/s (batch of 64)
//                                              and per-image times, both runtimes
//
// Everything comes from .cache (scripts/fetch_tfjs.sh): the TF.js graphs in
// .cache/tfjs/graphs, the ONNX models in .cache/models, TF.js and onnxruntime-node
// in .cache/tfjs/node_modules. When any of that is missing the test is skipped
// (exit code 77). Nothing is downloaded.
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const ROOT = path.resolve(__dirname, '..', '..');
const TFJS_DIR = path.join(ROOT, '.cache', 'tfjs');
const GRAPHS = path.join(TFJS_DIR, 'graphs');
const MODELS = process.env.STRATA_MODELS_DIR || path.join(ROOT, '.cache', 'models');
const SKIP = 77;

function skip(why) {
  console.log(`SKIP: ${why} (run scripts/fetch_tfjs.sh)`);
  process.exit(SKIP);
}

const MODEL_NAMES = ['use-lite', 'mobilenet-v2', 'centernet', 'blazeface', 'mobilefacenet', 'faceres'];
const nodeModules = path.join(TFJS_DIR, 'node_modules');
if (!fs.existsSync(nodeModules)) skip('.cache/tfjs/node_modules is missing');
for (const name of MODEL_NAMES) {
  if (!fs.existsSync(path.join(GRAPHS, name, 'model.json'))) skip(`.cache/tfjs/graphs/${name} is missing`);
  if (!fs.existsSync(path.join(MODELS, name, 'model.onnx'))) skip(`${name}/model.onnx is missing`);
}
const requireCache = createRequire(path.join(nodeModules, 'index.js'));
let tf, tfconv, use, ort;
try {
  tf = requireCache('@tensorflow/tfjs-core');
  requireCache('@tensorflow/tfjs-backend-cpu');
  tfconv = requireCache('@tensorflow/tfjs-converter');
  use = requireCache('@tensorflow-models/universal-sentence-encoder');
  ort = requireCache('onnxruntime-node');
} catch (e) {
  skip(`the reference runtime does not load: ${e.message.split('\n')[0]}`);
}

// ---- loading

// A TF.js IOHandler over model.json + its shards on disk (tfjs-core's own file
// loader is in tfjs-node, which is not used here).
function fileHandler(modelJson) {
  return {
    load: async () => {
      const m = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
      const specs = [];
      const bufs = [];
      for (const g of m.weightsManifest) {
        specs.push(...g.weights);
        for (const p of g.paths) bufs.push(fs.readFileSync(path.join(path.dirname(modelJson), p)));
      }
      const all = Buffer.concat(bufs);
      return {
        modelTopology: m.modelTopology,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        format: m.format,
        generatedBy: m.generatedBy,
        convertedBy: m.convertedBy,
        userDefinedMetadata: m.userDefinedMetadata,
        signature: m.signature,
      };
    },
  };
}

async function loadPair(name) {
  const graph = await tfconv.loadGraphModel(fileHandler(path.join(GRAPHS, name, 'model.json')));
  const onnxModel = await ort.InferenceSession.create(path.join(MODELS, name, 'model.onnx'), {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
  });
  return { graph, onnxModel };
}

// ---- comparisons

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

function cosine(a, b) {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
}

function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function sameShape(ref, got, what) {
  const ok = ref.length === got.length && ref.every((d, i) => d === Number(got[i]));
  check(ok, `${what}: shape [${got}] (TF.js [${ref}])`);
  return ok;
}

// Element-wise agreement relative to the output's own scale.
function closeTensors(ref, got, what, rel = 1e-4) {
  if (!sameShape(ref.shape, got.dims, what)) return;
  const r = ref.dataSync();
  const d = maxAbsDiff(r, got.data);
  const scale = Math.max(1, maxAbs(r));
  check(d <= rel * scale, `${what}: max |diff| ${d.toExponential(2)} (scale ${scale.toFixed(3)})`);
}

function cosineRows(ref, got, dims, what, min = 0.9999) {
  if (!sameShape(ref.shape, got.dims, what)) return;
  const r = ref.dataSync();
  let worst = 1;
  for (let i = 0; i < dims[0]; i++) {
    const a = r.subarray(i * dims[1], (i + 1) * dims[1]);
    const b = got.data.subarray(i * dims[1], (i + 1) * dims[1]);
    worst = Math.min(worst, cosine(a, b));
  }
  check(worst >= min, `${what}: worst cosine ${worst.toFixed(7)} over ${dims[0]} rows`);
}

// ---- fixed inputs

const SENTENCES = [
  'Hello world.',
  'The quick brown fox jumps over the lazy dog.',
  'How old are you?',
  'What is the capital of France?',
  'Strata stores objects in buckets and turns them into searchable documents.',
  'I like my phone',
  'Your cellphone looks great.',
  'An apple a day keeps the doctor away!',
  'Numbers like 3.14159 and dates like 2024-05-01 are tokenized too.',
  'x',
];

function useInputs(tokenizer, sentences) {
  const ids = sentences.map((s) => tokenizer.encode(s));
  const indices = [];
  const values = [];
  ids.forEach((row, i) => row.forEach((id, j) => {
    indices.push(i, j);
    values.push(id);
  }));
  return { ids, indices, values };
}

// A deterministic synthetic RGB image in 0..255 (NHWC, batch 1): smooth colour
// gradients, sinusoidal texture, a bright disc and a dark rectangle, so every
// channel and spatial frequency is exercised.
function syntheticImage(h, w, seed = 1) {
  const data = new Float32Array(h * w * 3);
  const cx = w * (0.3 + 0.1 * seed);
  const cy = h * 0.55;
  const rad = Math.min(h, w) * 0.18;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = x / w;
      const v = y / h;
      let r = 255 * u;
      let g = 255 * v;
      let b = 127.5 + 127.5 * Math.sin(12 * u * seed + 7 * v);
      if ((x - cx) ** 2 + (y - cy) ** 2 < rad * rad) {
        r = 250;
        g = 220;
        b = 180;
      }
      if (x > w * 0.65 && x < w * 0.9 && y > h * 0.1 && y < h * 0.4) {
        r = 20;
        g = 30;
        b = 90;
      }
      const o = (y * w + x) * 3;
      data[o] = Math.round(r);
      data[o + 1] = Math.round(g);
      data[o + 2] = Math.round(b);
    }
  }
  return data;
}

function scaled(data, mul, add) {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] * mul + add;
  return out;
}

// USE-lite has data-dependent shapes (Where), so it needs executeAsync; the
// image models run with execute.
async function runTf(graph, feeds, outputs, dynamic = false) {
  const res = dynamic ? await graph.executeAsync(feeds, outputs) : graph.execute(feeds, outputs);
  return Array.isArray(res) ? res : [res];
}

// ---- the models

async function useLite(bench) {
  const { graph, onnxModel } = await loadPair('use-lite');
  const vocab = JSON.parse(fs.readFileSync(path.join(MODELS, 'use-lite', 'vocab.json'), 'utf8'));
  const tokenizer = new use.Tokenizer(vocab);
  const out = 'module_apply_default/Encoder_en/hidden_layers/l2_normalize';

  const runOrt = async (inp) => (await onnxModel.run({
    indices: new ort.Tensor('int64', BigInt64Array.from(inp.indices, BigInt), [inp.values.length, 2]),
    values: new ort.Tensor('int64', BigInt64Array.from(inp.values, BigInt), [inp.values.length]),
  })).embeddings;
  const runRef = async (inp) => {
    const feeds = {
      indices: tf.tensor2d(inp.indices, [inp.values.length, 2], 'int32'),
      values: tf.tensor1d(inp.values, 'int32'),
    };
    const [t] = await runTf(graph, feeds, [out], true);
    tf.dispose(Object.values(feeds));
    return t;
  };

  if (bench) {
    const batch = [];
    for (let i = 0; i < 64; i++) batch.push(SENTENCES[i % SENTENCES.length] + ` (${i})`);
    const inp = useInputs(tokenizer, batch);
    await runOrt(inp);
    (await runRef(inp)).dispose();
    const time = async (fn, reps) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < reps; i++) await fn();
      return Number(process.hrtime.bigint() - t0) / 1e9 / reps;
    };
    const tOrt = await time(() => runOrt(inp), 10);
    const tTf = await time(async () => (await runRef(inp)).dispose(), 3);
    console.log(`use-lite batch of 64 (${inp.values.length} tokens): TF.js cpu ${(64 / tTf).toFixed(1)} sentences/s, ` +
      `ONNX Runtime 2 threads ${(64 / tOrt).toFixed(1)} sentences/s`);
    return;
  }

  const inp = useInputs(tokenizer, SENTENCES);
  const ref = await runRef(inp);
  const got = await runOrt(inp);
  cosineRows(ref, got, [SENTENCES.length, 512], 'use-lite embeddings, 10 sentences');
  // A sentence alone embeds as it does in a batch (padding does not leak).
  const single = await runOrt(useInputs(tokenizer, [SENTENCES[4]]));
  const r = ref.dataSync().subarray(4 * 512, 5 * 512);
  check(cosine(r, single.data) >= 0.9999, 'use-lite: a sentence alone matches its batch row');
  // Different sentences stay apart and related ones close (phone / cellphone).
  const e = got.data;
  const row = (i) => e.subarray(i * 512, (i + 1) * 512);
  check(cosine(row(5), row(6)) > cosine(row(5), row(3)),
    'use-lite: "I like my phone" is closer to "Your cellphone looks great." than to a capital question');
  ref.dispose();
}

async function image(name, size, inputName, feedScale, outputs, compare, bench) {
  const started = Date.now();
  const { graph, onnxModel } = await loadPair(name);
  const pixels = syntheticImage(size, size, name.length % 3 + 1);
  const input = scaled(pixels, feedScale[0], feedScale[1]);
  const t = tf.tensor4d(input, [1, size, size, 3]);
  const tfNames = outputs.map((o) => o[1]);
  const feeds = { [graph.inputs[0].name]: t };
  if (bench) {
    const time = async (fn, reps) => {
      await fn();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < reps; i++) await fn();
      return Number(process.hrtime.bigint() - t0) / 1e9 / reps;
    };
    const ortFeed = { [inputName]: new ort.Tensor('float32', input, [1, size, size, 3]) };
    const tOrt = await time(() => onnxModel.run(ortFeed), 10);
    const tTf = await time(async () => tf.dispose(await runTf(graph, feeds, tfNames)), 2);
    console.log(`${name} ${size}x${size}: TF.js cpu ${(tTf * 1000).toFixed(0)} ms/image, ` +
      `ONNX Runtime 2 threads ${(tOrt * 1000).toFixed(1)} ms/image`);
    t.dispose();
    return;
  }
  const ref = await runTf(graph, feeds, tfNames);
  const got = await onnxModel.run({ [inputName]: new ort.Tensor('float32', input, [1, size, size, 3]) });
  outputs.forEach(([onnxName], i) => compare[onnxName](ref[i], got[onnxName], `${name} ${onnxName}`));
  console.log(`     ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  tf.dispose(ref);
  t.dispose();
}

// CenterNet's detections are the top 100 heatmap peaks: rows are compared by
// score, and a box where its score is clear of its neighbours (so a float
// rounding cannot swap the order).
function compareDetections(ref, got, what) {
  if (!sameShape(ref.shape, got.dims, what)) return;
  const r = ref.dataSync();
  const g = got.data;
  const n = ref.shape[1];
  let scoreDiff = 0;
  let boxDiff = 0;
  let compared = 0;
  for (let i = 0; i < n; i++) {
    scoreDiff = Math.max(scoreDiff, Math.abs(r[i * 6 + 4] - g[i * 6 + 4]));
    const prev = i > 0 ? r[(i - 1) * 6 + 4] : Infinity;
    const next = i + 1 < n ? r[(i + 1) * 6 + 4] : -Infinity;
    if (prev - r[i * 6 + 4] > 1e-4 && r[i * 6 + 4] - next > 1e-4) {
      for (const k of [0, 1, 2, 3, 5]) boxDiff = Math.max(boxDiff, Math.abs(r[i * 6 + k] - g[i * 6 + k]));
      compared++;
    }
  }
  check(scoreDiff <= 1e-4, `${what}: scores max |diff| ${scoreDiff.toExponential(2)}`);
  check(compared > 0 && boxDiff <= 1e-2,
    `${what}: boxes and classes of ${compared} well-separated rows max |diff| ${boxDiff.toExponential(2)}`);
}

async function main() {
  const bench = process.argv.includes('--bench');
  await tf.setBackend('cpu');
  tf.env().set('IS_TEST', true);  // keeps TF.js's tfjs-node advice off the output
  const t0 = Date.now();
  await useLite(bench);
  const cos = (ref, got, what) => cosineRows(ref, got, [ref.shape[0], ref.shape[ref.shape.length - 1]], what);
  // Each model fed as its config.json says (see scripts/fetch_tfjs.sh).
  await image('mobilenet-v2', 224, 'images', [1 / 255, 0], [
    ['embedding', 'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/' +
      'StatefulPartitionedCall/StatefulPartitionedCall/predict/feature_vector/SpatialSqueeze'],
    ['nsfw_probabilities', 'Identity'],
  ], { embedding: cos, nsfw_probabilities: closeTensors }, bench);
  await image('centernet', 512, 'images', [1, 0], [
    ['detections', 'tower_0/detections'], ['heatmap', 'tower_0/keypoints'], ['box_sizes', 'tower_0/wh'],
  ], { detections: compareDetections, heatmap: closeTensors, box_sizes: closeTensors }, bench);
  if (bench) return;
  await image('blazeface', 256, 'images', [1 / 127.5, -1], [
    ['scores_16', 'Identity'], ['scores_8', 'Identity_1'], ['boxes_16', 'Identity_2'], ['boxes_8', 'Identity_3'],
  ], { scores_16: closeTensors, scores_8: closeTensors, boxes_16: closeTensors, boxes_8: closeTensors });
  await image('mobilefacenet', 112, 'images', [1 / 255, 0], [['embedding', 'embeddings']],
    { embedding: cos });
  await image('faceres', 224, 'images', [1, 0], [
    ['descriptor', 'global_pooling/Mean'], ['gender', 'gender_pred/Sigmoid'], ['age', 'age_pred/Softmax'],
  ], { descriptor: cos, gender: closeTensors, age: closeTensors });
  console.log(`${failures ? 'FAILED' : 'passed'} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
