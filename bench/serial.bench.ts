/**
 * Serial framing + parsing throughput (issue 6): frames per second and CPU ms per 1,000 frames
 * through the pure path the source runs on every read (line framer → checksum → parser → points),
 * median of several runs. The input arrives in 64-byte reads, as a USB adapter delivers it.
 *
 *   node dist/bench/serial.bench.js [--quick]
 */
import { FrameDecoder } from '../src/sources/serial/frame-decoder.js';
import { createFramer } from '../src/sources/serial/create-framer.js';
import { appendChecksum } from '../src/sources/serial/checksum.js';
import {
  resolveChecksum,
  type ChecksumSpec,
  type ParserSpec,
  type SerialPointSpec,
} from '../src/settings/serial-schema.js';

const quick = process.argv.includes('--quick');
const FRAMES = quick ? 20_000 : 200_000;
const RUNS = quick ? 3 : 7;
const READ = 64;

const point = (name: string, field: string): SerialPointSpec => ({
  name,
  description: '',
  unit: '',
  field,
  column: null,
  scale: 1,
  offset: 0,
  range: [0, 1000],
  precision: null,
  limits: {},
});
const points = [point('o2', 'O2'), point('co', 'CO'), point('nox', 'NOX'), point('t', 'T')];
const kv: ParserSpec = { type: 'key-value', pairSeparator: ';', kvSeparator: '=' };
const regex: ParserSpec = {
  type: 'regex',
  pattern: '^O2=(?<O2>[0-9.]+);CO=(?<CO>[0-9]+);NOX=(?<NOX>[0-9]+);T=(?<T>[0-9.]+)$',
  flags: '',
};
const xor = resolveChecksum({ type: 'nmea-xor', skip: 0 });
const crc = resolveChecksum({ type: 'crc16-modbus', encoding: 'hex', separator: '*', skip: 0 });

function stream(checksum: ChecksumSpec | null): Buffer {
  const lines: Buffer[] = [];
  for (let i = 0; i < FRAMES; i++) {
    const payload = Buffer.from(
      `O2=${(4 + (i % 10) / 10).toFixed(1)};CO=${30 + (i % 17)};NOX=${80 + (i % 5)};T=${(182 + (i % 7) / 2).toFixed(1)}`,
    );
    lines.push(checksum ? appendChecksum(payload, checksum) : payload, Buffer.from('\r\n'));
  }
  return Buffer.concat(lines);
}

function run(parser: ParserSpec, checksum: ChecksumSpec | null, input: Buffer): { fps: number; cpuPer1000: number } {
  const framer = createFramer({ type: 'line', delimiter: '\r\n', maxLength: 256 });
  const decoder = new FrameDecoder('bench', { parser, checksum, points });
  let good = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let at = 0; at < input.length; at += READ) {
    for (const frame of framer.push(input.subarray(at, at + READ))) {
      if (decoder.decode(frame, 0, false).kind === 'readings') good++;
    }
  }
  const ns = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  if (good !== FRAMES) throw new Error(`expected ${FRAMES} good frames, got ${good}`);
  return { fps: FRAMES / (ns / 1e9), cpuPer1000: (cpu.user + cpu.system) / 1000 / (FRAMES / 1000) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const cases: [string, ParserSpec, ChecksumSpec | null][] = [
  ['key=value', kv, null],
  ['key=value + nmea-xor', kv, xor],
  ['regex', regex, null],
  ['regex + crc16 (hex)', regex, crc],
];

console.log(
  `serial framer+parser: ${FRAMES} frames of ~40 bytes in ${READ}-byte reads, median of ${RUNS} runs (node ${process.version})`,
);
console.log(`${'case'.padEnd(24)} ${'frames/s'.padStart(12)} ${'CPU ms/1000 frames'.padStart(20)}`);
for (const [name, parser, checksum] of cases) {
  const input = stream(checksum);
  run(parser, checksum, input); // warm-up
  const results = Array.from({ length: RUNS }, () => run(parser, checksum, input));
  const fps = median(results.map((r) => r.fps));
  const cpu = median(results.map((r) => r.cpuPer1000));
  console.log(
    `${name.padEnd(24)} ${Math.round(fps).toLocaleString('en-US').padStart(12)} ${cpu.toFixed(3).padStart(20)}`,
  );
}
