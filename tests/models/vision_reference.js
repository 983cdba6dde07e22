#!/usr/bin/env node
// The reference answers for the parity tests of the C++ vision models
// (src/extract/models/mobilenet_embedder_test.cc, object_detector_test.cc):
// the TF.js graphs on TF.js's pure-JavaScript cpu backend, with the pre- and
// post-processing of the libraries they come from.
//
//   node tests/models/vision_reference.js [--no-embeddings] [--no-detections]
//        [--min-score S] [--max-detections N] WIDTHxHEIGHT:FILE.rgb ...
//
// Each image is raw RGB bytes (row-major, 3 bytes a pixel, no header), so
// this side and the C++ side read exactly the same pixels. Prints one JSON
// object: {"images": [{"width", "height", "embedding": [1792 floats],
// "detections": [{"label", "class_id", "score", "box": [x, y, w, h]}]}]}.
//
// MobileNetV2 (nsfwjs 4.4.0, src/index.ts classify/infer): the pixels as
// float32, divided by 255, then tf.image.resizeBilinear to 224x224 with
// alignCorners = true (skipped when the image is already 224x224), batch of
// one; the embedding is the feature_vector/SpatialSqueeze node, not
// normalised here (the C++ side L2-normalises; the test compares cosines).
//
// CenterNet (@vladmandic/human 3.x, src/object/centernet.ts predict/process):
// the pixels as float32 in 0..255, tf.image.resizeBilinear to 512x512 with
// the defaults (alignCorners = false, halfPixelCenters = false: the image is
// stretched, not letterboxed), the `tower_0/detections` output [1, 100, 6]
// of (x1, y1, x2, y2 in input pixels, score, class), then
// tf.image.nonMaxSuppressionAsync over (y1, x1, y2, x2) with all classes
// together, maxOutputSize = max detections, iouThreshold = 0.4 (Human's
// config.object.iouThreshold) and scoreThreshold = min score; a box goes back
// to the image as x / 512 * width, y / 512 * height. Two display roundings of
// Human are left out on both sides (scores truncated to 2 decimals, boxes to
// whole pixels), and boxes are clipped to the image (Strata's addition).
//
// Answers are kept in .cache/tfjs/reference/<sha256 of script, graphs, options
// and pixels>.json: CenterNet takes some 16 s an image on this backend, and
// the same inputs give the same answer. STRATA_VISION_REFERENCE_FRESH=1
// recomputes. When node_modules or a graph is missing it prints the reason
// and exits with 77. Nothing is downloaded.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const ROOT = path.resolve(__dirname, '..', '..');
const TFJS_DIR = path.join(ROOT, '.cache', 'tfjs');
const GRAPHS = path.join(TFJS_DIR, 'graphs');
const CACHE = path.join(TFJS_DIR, 'reference');
const SKIP = 77;

const EMBEDDING_NODE = 'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/' +
  'StatefulPartitionedCall/StatefulPartitionedCall/predict/feature_vector/SpatialSqueeze';
const DETECTIONS_NODE = 'tower_0/detections';
const MOBILENET_SIZE = 224;
const CENTERNET_SIZE = 512;
const IOU_THRESHOLD = 0.4;

// Human's src/object/labels.ts: index = the model's class value.
const COCO = ['person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
  'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse',
  'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie',
  'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove',
  'skateboard', 'surfboard', 'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon',
  'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut',
  'cake', 'chair', 'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse',
  'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book',
  'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush'];

function skip(why) {
  console.log(`SKIP: ${why} (run scripts/fetch_tfjs.sh)`);
  process.exit(SKIP);
}

function fail(why) {
  console.error(why);
  process.exit(2);
}

// ---- arguments

const opts = { embeddings: true, detections: true, minScore: 0.3, maxDetections: 20, images: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--no-embeddings') opts.embeddings = false;
  else if (a === '--no-detections') opts.detections = false;
  else if (a === '--min-score') opts.minScore = Number(argv[++i]);
  else if (a === '--max-detections') opts.maxDetections = Number(argv[++i]);
  else {
    const m = /^(\d+)x(\d+):(.+)$/.exec(a);
    if (!m) fail(`not WIDTHxHEIGHT:FILE.rgb: ${a}`);
    opts.images.push({ width: Number(m[1]), height: Number(m[2]), file: m[3] });
  }
}
if (opts.images.length === 0) fail('no images given');
for (const img of opts.images) {
  img.pixels = fs.readFileSync(img.file);
  if (img.pixels.length !== img.width * img.height * 3) {
    fail(`${img.file}: ${img.pixels.length} bytes, expected ${img.width}x${img.height}x3`);
  }
}

const nodeModules = path.join(TFJS_DIR, 'node_modules');
if (!fs.existsSync(nodeModules)) skip('.cache/tfjs/node_modules is missing');
const needed = [];
if (opts.embeddings) needed.push('mobilenet-v2');
if (opts.detections) needed.push('centernet');
for (const name of needed) {
  if (!fs.existsSync(path.join(GRAPHS, name, 'model.json'))) skip(`.cache/tfjs/graphs/${name} is missing`);
}

// ---- the answer cache

function cacheKey() {
  const h = crypto.createHash('sha256');
  h.update(fs.readFileSync(__filename));
  h.update(JSON.stringify({ e: opts.embeddings, d: opts.detections, s: opts.minScore, n: opts.maxDetections }));
  for (const name of needed) {
    for (const f of fs.readdirSync(path.join(GRAPHS, name)).sort()) {
      const st = fs.statSync(path.join(GRAPHS, name, f));
      h.update(`${name}/${f}:${st.size}:${st.mtimeMs}`);
    }
  }
  for (const img of opts.images) {
    h.update(`${img.width}x${img.height}`);
    h.update(img.pixels);
  }
  return h.digest('hex');
}

const cacheFile = path.join(CACHE, `${cacheKey()}.json`);
if (process.env.STRATA_VISION_REFERENCE_FRESH !== '1' && fs.existsSync(cacheFile)) {
  process.stdout.write(fs.readFileSync(cacheFile, 'utf8'));
  process.exit(0);
}

const requireCache = createRequire(path.join(nodeModules, 'index.js'));
let tf, tfconv;
try {
  tf = requireCache('@tensorflow/tfjs-core');
  requireCache('@tensorflow/tfjs-backend-cpu');
  tfconv = requireCache('@tensorflow/tfjs-converter');
} catch (e) {
  skip(`the reference runtime does not load: ${e.message.split('\n')[0]}`);
}

// A TF.js IOHandler over model.json + its shards on disk (as tfjs_parity.js).
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

const loadGraph = (name) => tfconv.loadGraphModel(fileHandler(path.join(GRAPHS, name, 'model.json')));

// The image as a float32 [1, h, w, 3] tensor of 0..255 values.
const pixelTensor = (img) => tf.tensor4d(Float32Array.from(img.pixels), [1, img.height, img.width, 3]);

async function embed(graph, img) {
  const out = tf.tidy(() => {
    const normalized = tf.div(pixelTensor(img), 255);
    const resized = img.width === MOBILENET_SIZE && img.height === MOBILENET_SIZE ? normalized
      : tf.image.resizeBilinear(normalized, [MOBILENET_SIZE, MOBILENET_SIZE], true);
    return graph.execute({ [graph.inputs[0].name]: resized }, EMBEDDING_NODE);
  });
  const v = Array.from(await out.data());
  out.dispose();
  return v;
}

async function detect(graph, img) {
  const res = tf.tidy(() => {
    const resized = tf.image.resizeBilinear(pixelTensor(img), [CENTERNET_SIZE, CENTERNET_SIZE]);
    return graph.execute({ [graph.inputs[0].name]: resized }, DETECTIONS_NODE);
  });
  const det = (await res.array())[0];
  // Human's process(): boxes reordered to (y1, x1, y2, x2) for tf's NMS.
  const boxes = tf.tensor2d(det.map((d) => [d[1], d[0], d[3], d[2]]));
  const scores = tf.tensor1d(det.map((d) => d[4]));
  const keep = await tf.image.nonMaxSuppressionAsync(boxes, scores, opts.maxDetections, IOU_THRESHOLD,
    opts.minScore);
  const ids = Array.from(await keep.data());
  tf.dispose([res, boxes, scores, keep]);
  const clip = (v, max) => Math.min(Math.max(v, 0), max);
  return ids.map((id) => {
    const [x1, y1, x2, y2, score, cls] = det[id];
    const left = clip((x1 / CENTERNET_SIZE) * img.width, img.width);
    const top = clip((y1 / CENTERNET_SIZE) * img.height, img.height);
    const right = clip((x2 / CENTERNET_SIZE) * img.width, img.width);
    const bottom = clip((y2 / CENTERNET_SIZE) * img.height, img.height);
    return { label: COCO[cls], class_id: cls, score, box: [left, top, right - left, bottom - top] };
  });
}

async function main() {
  await tf.setBackend('cpu');
  tf.env().set('IS_TEST', true);  // keeps TF.js's tfjs-node advice off the output
  const out = { images: opts.images.map((img) => ({ width: img.width, height: img.height })) };
  if (opts.embeddings) {
    const graph = await loadGraph('mobilenet-v2');
    for (let i = 0; i < opts.images.length; i++) out.images[i].embedding = await embed(graph, opts.images[i]);
    graph.dispose();
  }
  if (opts.detections) {
    const graph = await loadGraph('centernet');
    for (let i = 0; i < opts.images.length; i++) out.images[i].detections = await detect(graph, opts.images[i]);
    graph.dispose();
  }
  const text = `${JSON.stringify(out)}\n`;
  try {
    fs.mkdirSync(CACHE, { recursive: true });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, cacheFile);
  } catch (e) {
    console.error(`not cached: ${e.message}`);
  }
  process.stdout.write(text);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
