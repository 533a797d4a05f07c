import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../../src/agent.js';
import { renderStatus } from '../../../src/cli/status.js';
import { AgentMetrics } from '../../../src/ops/metrics.js';
import { silentLogger } from '../../../src/ops/log.js';
import { FrameDecoder } from '../../../src/sources/serial/frame-decoder.js';
import { SerialSource, type SerialDeviceStats } from '../../../src/sources/serial/serial-source.js';
import { SerialInstrument } from '../../../src/sources/simulator/serial-instrument.js';
import { resolveChecksum } from '../../../src/settings/serial-schema.js';
import { allQuality, Collector, deviceFor, PtyPair } from './pty.js';
import { sleep, until } from '../../support/wait.js';

/**
 * Issue 16.7, against a simulated instrument on a socat pty pair:
 * - with a checksum configured, line noise was counted as checksum failures (7 noise + 14 bad
 *   checksums gave checksum 21, noise 0): the text check now comes first;
 * - in polled mode a lost port stored `disconnected` twice, 1 ms apart;
 * - a streaming device showed `last poll never` in `halfweg status`: it shows its last frame;
 * - the drop counters were only in /status JSON: they are in /metrics and `halfweg status` too.
 */
const analyser = YAML.parse(readFileSync(path.resolve('devices/flue-gas-analyser.yaml'), 'utf8')) as Record<
  string,
  unknown
>;
const flowComputer = YAML.parse(readFileSync(path.resolve('devices/flow-computer.yaml'), 'utf8')) as unknown;

const pairs: PtyPair[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  for (const p of pairs) await p.kill();
});

/** Control bytes ending in the line delimiter: one noise frame. */
const NOISE = Buffer.from([0x00, 0x1b, 0xff, 0x10, 0x07, 0x00, 0x1b, 0x5b, 0x02, 0x7f, 0x01, 0x0d, 0x0a]);

function statusWith(devices: AgentStatus['devices']): AgentStatus {
  return {
    agent: { id: 'a', site: 's', pid: 1, uptimeS: 60 },
    memory: { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 },
    health: { healthy: true, problems: [], warnings: [] } as unknown as AgentStatus['health'],
    counters: { batches: 0, readings: 0, good: 0, bad: 0, uncommitted: 0 },
    devices,
    store: null,
    sinks: [],
    alarms: [],
  };
}

describe('issue 16.7: serial drops, losses and status', () => {
  it('issue 16.7: the text check comes before the checksum (pure decoder)', () => {
    const decoder = new FrameDecoder('d', {
      checksum: resolveChecksum({ type: 'nmea-xor', skip: 0 }),
      parser: { type: 'key-value', pairSeparator: ';', kvSeparator: '=' },
      points: [],
    });
    expect(decoder.decode(NOISE.subarray(0, -2), 0, false)).toEqual({ kind: 'noise' });
    expect(decoder.decode(Buffer.from('O2=4.1*00'), 0, false)).toEqual({ kind: 'checksum' });
    // A binary CRC at the end may be any byte: only the payload must be text.
    const crc = new FrameDecoder('d', {
      checksum: resolveChecksum({ type: 'crc16-modbus', skip: 0 }),
      parser: { type: 'key-value', pairSeparator: ';', kvSeparator: '=' },
      points: [],
    });
    expect(crc.decode(Buffer.from([0x4f, 0x32, 0x3d, 0x34, 0x00, 0x1b]), 0, false)).toEqual({ kind: 'checksum' });
  });

  it('issue 16.7: 7 noise lines and 14 bad checksums are counted as noise 7 and checksum 14, and show in /metrics and in status', async () => {
    const pair = new PtyPair();
    pairs.push(pair);
    await pair.start();
    const profileDoc = { ...analyser, mode: { type: 'streaming', staleAfter: '5s' }, checksum: { type: 'nmea-xor' } };
    const { spec, profile } = deviceFor(profileDoc, pair.agent);
    const inst = new SerialInstrument({ profile, path: pair.instrument, period: 30 });
    await inst.start();
    const source = new SerialSource(spec, silentLogger());
    const out = new Collector();
    await source.start(out.emit);
    cleanups.push(
      () => source.stop(),
      () => inst.stop(),
    );
    const stats = () => source.stats().devices[0] as SerialDeviceStats;
    await out.waitFor(allQuality('good'));

    inst.corruptNext(14);
    for (let i = 0; i < 7; i++) {
      await inst.write(NOISE);
      await sleep(20);
    }
    await until('14 checksum drops', () => stats().dropped.checksum >= 14, 5000);
    await sleep(100);
    expect(stats().dropped).toMatchObject({ checksum: 14, noise: 7 });

    // /metrics carries every drop counter and the last frame's time.
    const d = stats();
    const metrics = await new AgentMetrics({
      deviceStats: () => [d],
      storeStats: () => null,
      sinkStats: () => [],
      activeAlarms: () => 0,
      healthy: () => true,
    }).metrics();
    expect(metrics).toContain('halfweg_device_frames_dropped_total{device="dev",reason="checksum"} 14');
    expect(metrics).toContain('halfweg_device_frames_dropped_total{device="dev",reason="noise"} 7');
    expect(metrics).toMatch(/halfweg_device_frames_total\{device="dev"\} [1-9]/);
    expect(metrics).toMatch(/halfweg_device_last_frame_timestamp_seconds\{device="dev"\} 1\d{9}/);

    // `halfweg status`: a streaming device has no polls; its last frame and its drops are shown.
    expect(d.lastPollTs).toBeNull();
    expect(d.lastFrameTs).toBeGreaterThan(Date.now() - 5000);
    const text = renderStatus(statusWith([d]), d.lastFrameTs! + 1500);
    expect(text).toMatch(/dev +up +last frame 1\.5 s ago/);
    expect(text).not.toContain('last poll never');
    expect(text).toMatch(/frames \d+, dropped: checksum 14, noise 7/);
  });

  it('issue 16.7: a polled device whose port is lost during a poll stores disconnected once', async () => {
    const pair = new PtyPair();
    pairs.push(pair);
    await pair.start();
    const { spec, profile } = deviceFor(flowComputer, pair.agent, { pollInterval: '1s', timeout: '800ms' });
    const inst = new SerialInstrument({ profile, path: pair.instrument, values: () => 1, fixedFields: { id: 'FC1' } });
    await inst.start();
    const source = new SerialSource(spec, silentLogger());
    const out = new Collector();
    await source.start(out.emit);
    cleanups.push(
      () => source.stop(),
      () => inst.stop(),
    );
    await out.waitFor(allQuality('good'));
    // The instrument goes quiet; right after it receives the next command (a poll is waiting for
    // its answer), the adapter is pulled.
    inst.silent = true;
    const commands = inst.stats.commands;
    while (inst.stats.commands === commands) await sleep(1);
    await pair.kill();
    const first = await out.waitFor(allQuality('disconnected'), 5000);
    await sleep(600); // less than the poll interval: nothing else is due
    const disconnected = out.batches.filter(allQuality('disconnected'));
    expect(disconnected).toEqual([first]);
  });
});
