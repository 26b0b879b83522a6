#!/usr/bin/env node
// Runs an ONNX model under ONNX Runtime (npm onnxruntime-node, CPU execution provider) with
// profiling on and prints the trace file's path. Used by scripts/ort-profile.
//   node scripts/ort-profile.js MODEL.onnx LEVEL WARMUP RUNS THREADS PREFIX
// LEVEL: disabled | basic | extended | all. Inputs are uniform random in [-1, 1] (seeded),
// dynamic dims are refused. The warm-up runs are profiled too; the trace marks each model_run.
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const [model, level, warmup, runs, threads, prefix] = process.argv.slice(2);
  if (!prefix) {
    console.error('usage: ort-profile.js MODEL LEVEL WARMUP RUNS THREADS PREFIX');
    process.exit(2);
  }
  const session = await ort.InferenceSession.create(model, {
    enableProfiling: true, profileFilePrefix: prefix, graphOptimizationLevel: level,
    intraOpNumThreads: Number(threads), interOpNumThreads: 1, executionMode: 'sequential',
  });
  let seed = 12345;
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 1073741824 - 1; };
  const feeds = {};
  for (const name of session.inputNames) {
    const meta = session.inputMetadata ? session.inputMetadata.find((m) => m.name === name) : null;
    const dims = meta && meta.shape ? meta.shape : null;
    if (!dims || dims.some((d) => typeof d !== 'number' || d <= 0))
      throw new Error(`input '${name}' has dynamic or unknown dims: export the model with static ones`);
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; ++i) data[i] = rand();
    feeds[name] = new ort.Tensor('float32', data, dims);
  }
  for (let i = 0; i < Number(warmup) + Number(runs); ++i) await session.run(feeds);
  const ret = await session.endProfiling();
  // Some versions return the file's path, others nothing: then find <prefix>_<date>.json.
  const path = require('path'), fs = require('fs');
  let file = typeof ret === 'string' ? ret : null;
  if (!file) {
    const dir = path.dirname(prefix), base = path.basename(prefix);
    const found = fs.readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json')).sort();
    if (found.length === 0) throw new Error('ONNX Runtime wrote no profile');
    file = path.join(dir, found[found.length - 1]);
  }
  console.log(file);
}

main().catch((e) => { console.error(`ort-profile: error: ${e.message}`); process.exit(1); });
