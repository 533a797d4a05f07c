// Measurement behind the decision to keep src/aggregate/sketch.ts (issue 20, item 6): accuracy at
// p50/p95/p99 on a fixed series, ns per add, bytes per sketch, against @datadog/sketches-js.
// Not part of `npm run bench` (the library is not a dependency). Reproduce:
//   npm run build && npm install --no-save @datadog/sketches-js@2.1.1 protobufjs@7 \
//     && node --expose-gc bench/compare/sketch-vs-library.mjs
import { DDSketch } from '@datadog/sketches-js';
const { QuantileSketch, SketchMapping } = await import(new URL('../../dist/src/aggregate/sketch.js', import.meta.url).href);
function rng(seed) { return () => { seed |= 0; seed = (seed + 0x6d2b79f5) | 0; let t = Math.imul(seed ^ (seed >>> 15), 1 | seed); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }; }
const r = rng(42);
const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
// A fixed series: a drum pressure around 12 bar with noise, a slow daily swing and 1 % spikes.
const N = 100_000;
const series = Float64Array.from({ length: N }, (_, i) => 12 + 0.8 * Math.sin(i / 3000) + 0.15 * gauss() + (r() < 0.01 ? 3 + 2 * r() : 0));
const sorted = Float64Array.from(series).sort();
const exact = (q) => sorted[Math.floor(q * (N - 1))];
const ours = new QuantileSketch(new SketchMapping(0.01));
const dd = new DDSketch({ relativeAccuracy: 0.01 });
for (const v of series) { ours.add(v); dd.accept(v); }
for (const q of [0.5, 0.95, 0.99]) {
  const x = exact(q);
  console.log(`p${q * 100}: exact ${x.toFixed(4)}  ours ${ours.quantile(q).toFixed(4)} (rel err ${(Math.abs(ours.quantile(q) - x) / x * 100).toFixed(3)} %)  datadog ${dd.getValueAtQuantile(q).toFixed(4)} (rel err ${(Math.abs(dd.getValueAtQuantile(q) - x) / x * 100).toFixed(3)} %)`);
}
// ns per add: 5 rounds of 1e6 adds each, median.
function nsPerAdd(make, add) {
  const times = [];
  for (let round = 0; round < 5; round++) {
    const s = make();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 1_000_000; i++) add(s, series[i % N]);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b)[2];
}
console.log(`ns/add (median of 5 x 1e6): ours ${nsPerAdd(() => new QuantileSketch(), (s, v) => s.add(v)).toFixed(1)}  datadog ${nsPerAdd(() => new DDSketch({ relativeAccuracy: 0.01 }), (s, v) => s.accept(v)).toFixed(1)}`);
// Bytes per sketch: 20,000 sketches, each one window of 60 readings (a 1-minute window at 1 Hz), heap delta / count.
function bytesPer(make, add) {
  globalThis.gc(); const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const keep = [];
  for (let k = 0; k < 20_000; k++) { const s = make(); for (let i = 0; i < 60; i++) add(s, series[(k * 60 + i) % N]); keep.push(s); }
  globalThis.gc(); const after = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  return { bytes: (after - before) / keep.length, keep };
}
const o = bytesPer(() => new QuantileSketch(), (s, v) => s.add(v));
const d = bytesPer(() => new DDSketch({ relativeAccuracy: 0.01 }), (s, v) => s.accept(v));
console.log(`bytes/sketch (60 readings each, heap+arrayBuffers delta / 20,000): ours ${o.bytes.toFixed(0)}  datadog ${d.bytes.toFixed(0)}; serialized: ours JSON(save()) ${JSON.stringify(o.keep[0].save()).length} B, datadog toProto ${d.keep[0].toProto().length} B`);
