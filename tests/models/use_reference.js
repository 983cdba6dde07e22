#!/usr/bin/env node
// The reference USE-lite answers for the C++ UseEmbedder's parity test
// (src/extract/models/use_embedder_test.cc): token ids from the tokenizer of
// @tensorflow-models/universal-sentence-encoder 1.3.3 and embeddings from its
// UniversalSentenceEncoder.embed over the TF.js graph, on TF.js's cpu backend.
//
//   node tests/models/use_reference.js [--ids-only] [SENTENCES.json]
//
// Prints one JSON object: {"sentences": [...], "ids": [[...]], "embeddings":
// [[512 floats]]} ("embeddings" left out with --ids-only, which needs no graph).
// The sentences are the fixed ones below unless a JSON array file is given.
// Each sentence is embedded on its own (embed of a batch drops trailing empty
// sentences: the graph sizes its batch from the largest sentence index).
//
// Everything comes from .cache (scripts/fetch_tfjs.sh): the vocabulary in
// .cache/models/use-lite (or STRATA_MODELS_DIR), the graph in
// .cache/tfjs/graphs/use-lite, TF.js in .cache/tfjs/node_modules. When any of
// that is missing it prints the reason and exits with 77. Nothing is downloaded.
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const ROOT = path.resolve(__dirname, '..', '..');
const TFJS_DIR = path.join(ROOT, '.cache', 'tfjs');
const GRAPH = path.join(TFJS_DIR, 'graphs', 'use-lite', 'model.json');
const MODELS = process.env.STRATA_MODELS_DIR || path.join(ROOT, '.cache', 'models');
const VOCAB = path.join(MODELS, 'use-lite', 'vocab.json');
const SKIP = 77;

// Punctuation, capitals, digits, an accented word, a word the vocabulary does
// not have (unknown pieces), non-Latin script, and the empty string.
const SENTENCES = [
  'A puppy is playing in the park.',
  'The dog runs on the grass.',
  'Stock markets fell sharply today.',
  'Hello, World! Is THIS thing on?',
  'Call 555-0199 before 10:30 on 2024-05-01.',
  'The café serves crème brûlée and naïve piñatas.',
  'Zyxqvbn glorpfizzle wubbawoo.',
  'Tokyo is 東京 in Japanese.',
  '',
];

function skip(why) {
  console.log(`SKIP: ${why} (run scripts/fetch_tfjs.sh)`);
  process.exit(SKIP);
}

const args = process.argv.slice(2);
const idsOnly = args.includes('--ids-only');
const file = args.find((a) => !a.startsWith('--'));
const sentences = file ? JSON.parse(fs.readFileSync(file, 'utf8')) : SENTENCES;

const nodeModules = path.join(TFJS_DIR, 'node_modules');
if (!fs.existsSync(nodeModules)) skip('.cache/tfjs/node_modules is missing');
if (!fs.existsSync(VOCAB)) skip(`${VOCAB} is missing`);
if (!idsOnly && !fs.existsSync(GRAPH)) skip('.cache/tfjs/graphs/use-lite is missing');

const requireCache = createRequire(path.join(nodeModules, 'index.js'));
let tf, tfconv, use;
try {
  tf = requireCache('@tensorflow/tfjs-core');
  requireCache('@tensorflow/tfjs-backend-cpu');
  tfconv = requireCache('@tensorflow/tfjs-converter');
  use = requireCache('@tensorflow-models/universal-sentence-encoder');
} catch (e) {
  skip(`the reference runtime does not load: ${e.message.split('\n')[0]}`);
}

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
      };
    },
  };
}

async function main() {
  await tf.setBackend('cpu');
  const vocabulary = JSON.parse(fs.readFileSync(VOCAB, 'utf8'));
  const tokenizer = new use.Tokenizer(vocabulary);
  const out = { sentences, ids: sentences.map((s) => tokenizer.encode(s)) };
  if (!idsOnly) {
    // The package's own encoder object, given the graph and tokenizer its
    // load() would fetch over the network.
    const encoder = new use.UniversalSentenceEncoder();
    encoder.model = await tfconv.loadGraphModel(fileHandler(GRAPH));
    encoder.tokenizer = tokenizer;
    out.embeddings = [];
    for (const s of sentences) {
      const t = await encoder.embed([s]);
      const rows = t.arraySync();
      t.dispose();
      out.embeddings.push(rows.length > 0 ? rows[0] : null);
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
