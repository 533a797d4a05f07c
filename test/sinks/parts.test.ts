/** The pure parts of the sinks: cursor arithmetic, bandwidth cap, alarm state, live values, topics, config. */
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { AckTracker } from '../../src/sinks/ack-tracker.js';
import { alarmStateMessage } from '../../src/sinks/alarm-state.js';
import { LiveValues } from '../../src/sinks/live-values.js';
import { classify } from '../../src/sinks/mqtt/connection.js';
import { Topics, level } from '../../src/sinks/mqtt/topics.js';
import { TokenBucket } from '../../src/sinks/token-bucket.js';
import { sinkCursors } from '../../src/sinks/create.js';
import { encodeBatch } from '../../src/sinks/batch-format.js';
import { decodeCommand } from '../../src/cli/decode.js';
import { configSchema } from '../../src/settings/schema.js';

describe('AckTracker', () => {
  it('moves only to the highest contiguous confirmed seq', () => {
    const t = new AckTracker(0);
    const a = t.add(10, 1, 1, 50);
    const b = t.add(20, 1, 1, 50);
    const c = t.add(30, 2, 1, 50);
    expect(t.confirm(b)).toEqual([]);
    expect(t.position).toBe(0);
    expect(t.confirm(a).map((u) => u.lastSeq)).toEqual([10, 20]);
    expect(t.position).toBe(20);
    expect(t.confirm(c)).toEqual([]);
    expect(t.confirm(c).map((u) => u.lastSeq)).toEqual([30]);
    expect(t.position).toBe(30);
  });

  it('forgets in-flight units on reset and reads again after the cursor', () => {
    const t = new AckTracker(5);
    t.add(10, 1, 1, 1);
    const b = t.add(20, 1, 1, 1);
    t.reset();
    expect(t.readAfter).toBe(5);
    expect(t.has(b)).toBe(false);
    expect(() => t.add(5, 1, 1, 1)).toThrow(RangeError);
  });
});

describe('TokenBucket', () => {
  it('lets a one-second burst through, then paces to the rate', () => {
    const b = new TokenBucket(1000, 0);
    expect(b.delay(600, 0)).toBe(0);
    b.take(600, 0);
    expect(b.delay(600, 0)).toBe(200);
    expect(b.delay(600, 200)).toBe(0);
    b.take(600, 200);
    // A message larger than the burst goes once the bucket is full.
    expect(b.delay(5000, 200)).toBeGreaterThan(0);
    expect(b.delay(5000, 20_000)).toBe(0);
  });
});

describe('alarm state', () => {
  const meta = { seq: 7, at: 1000, agent: 'a1' };
  it('retains an active alarm under device/point/alarm and clears it when it ends', () => {
    const event = {
      kind: 'limits',
      alarm: 'limits',
      device: 'boiler-1',
      point: 'drum_pressure',
      event: 'raised',
      state: 'unack',
    };
    const raised = alarmStateMessage(event, meta);
    expect([raised.device, raised.point, raised.alarm]).toEqual(['boiler-1', 'drum_pressure', 'limits']);
    expect(JSON.parse(raised.payload)).toMatchObject({ seq: 7, alarm: { event: 'raised', state: 'unack' } });
    // Returned but not acknowledged, or shelved: still on the operator's screen.
    expect(alarmStateMessage({ ...event, event: 'returned', state: 'rtn-unack' }, meta).payload).not.toBe('');
    expect(alarmStateMessage({ ...event, event: 'shelved', state: 'shelved' }, meta).payload).not.toBe('');
    // Back to normal: the retained message is cleared.
    expect(alarmStateMessage({ ...event, event: 'cleared', state: 'normal' }, meta).payload).toBe('');
    expect(alarmStateMessage({ kind: 'agent-health' }, meta)).toMatchObject({
      device: '_',
      point: '_',
      alarm: 'agent-health',
    });
  });
});

describe('live values', () => {
  it('publishes changed points at once and everything in a snapshot', () => {
    const l = new LiveValues('a1');
    const batch = (v: number) => ({
      device: 'b1',
      ts: 1,
      readings: [
        { device: 'b1', point: 'p', value: v, ts: 1, quality: 'good' as const },
        { device: 'b1', point: 'q', value: NaN, ts: 1, quality: 'timeout' as const },
      ],
    });
    expect(l.update(batch(1))).toBe(true);
    expect(JSON.parse(l.take('b1', false, 5)!).points).toEqual({
      p: { value: 1, quality: 'good', ts: 1 },
      q: { value: null, quality: 'timeout', ts: 1 },
    });
    expect(l.update(batch(1))).toBe(false);
    expect(l.take('b1', false, 6)).toBeUndefined();
    expect(l.update(batch(2))).toBe(true);
    expect(Object.keys(JSON.parse(l.take('b1', false, 7)!).points)).toEqual(['p']);
    expect(Object.keys(JSON.parse(l.take('b1', true, 8)!).points)).toEqual(['p', 'q']);
  });
});

describe('topics', () => {
  it('builds every topic under prefix/site/agent and makes data topic-safe', () => {
    const t = new Topics({ prefix: 'plant/halfweg', site: 'sugar', agent: 'bh-1' });
    expect(t.status).toBe('plant/halfweg/sugar/bh-1/status');
    expect(t.heartbeat).toBe('plant/halfweg/sugar/bh-1/status/heartbeat');
    expect(t.values('boiler-1')).toBe('plant/halfweg/sugar/bh-1/values/boiler-1');
    expect(t.alarmState('b/1', '+', '')).toBe('plant/halfweg/sugar/bh-1/alarms/b_1/_/_');
    expect(t.batch('readings', 'binary')).toBe('plant/halfweg/sugar/bh-1/batches/readings');
    expect(t.batch('alarm', 'json')).toBe('plant/halfweg/sugar/bh-1/alarms/events');
    expect(level('#')).toBe('_');
  });
});

describe('connection errors', () => {
  it('classifies CONNACK refusals as credentials and TLS failures as TLS', () => {
    expect(classify(Object.assign(new Error('Connection refused: Not authorized'), { code: 5 }))).toBe(
      'HALFWEG_MQTT_AUTH',
    );
    expect(classify(Object.assign(new Error('Connection refused: Bad username or password'), { code: 134 }))).toBe(
      'HALFWEG_MQTT_AUTH',
    );
    expect(
      classify(
        Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
      ),
    ).toBe('HALFWEG_MQTT_TLS');
    expect(classify(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe(
      'HALFWEG_MQTT_UNREACHABLE',
    );
  });
});

describe('sinks config', () => {
  it('parses the documented example and declares one store cursor per sink and type', () => {
    const c = configSchema().parse({
      sinks: {
        controlRoom: {
          url: 'mqtt://10.0.0.5:1883',
          allowInsecure: true,
          types: ['alarm', 'aggregate'],
          format: 'json',
          live: { interval: '5s' },
        },
        cloud: {
          url: 'mqtts://broker.example.com:8883',
          tls: { ca: 'ca.pem', cert: 'agent.pem', key: 'agent.key' },
          auth: { username: 'u', passwordEnv: 'HW_PW' },
          bandwidth: 4096,
        },
      },
    });
    expect(c.sinks.cloud!.qos).toBe(1);
    expect(c.sinks.controlRoom!.live!.interval).toBe(5000);
    expect(sinkCursors(c.sinks)).toEqual({
      'controlRoom.alarm': { types: ['alarm'] },
      'controlRoom.aggregate': { types: ['aggregate'] },
      'cloud.alarm': { types: ['alarm'] },
      'cloud.aggregate': { types: ['aggregate'] },
      'cloud.readings': { types: ['readings'] },
    });
  });

  it('reports bad sink options with their path', () => {
    const r = configSchema().safeParse({
      sinks: {
        cloud: {
          url: 'mqtt://u:p@host',
          qos: 0,
          prefix: 'a/#',
          auth: { username: 'u', password: 'x', passwordEnv: 'Y' },
          tls: { cert: 'c.pem' },
        },
      },
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining(['sinks.cloud.url', 'sinks.cloud.qos', 'sinks.cloud.prefix', 'sinks.cloud.auth']),
    );
  });
});

describe('halfweg decode', () => {
  it('prints a batch from stdin as JSON, non-finite numbers as strings', async () => {
    const bytes = encodeBatch({
      agent: 'a1',
      records: [
        {
          type: 'readings',
          seq: 3,
          at: 9,
          batch: {
            device: 'd',
            ts: 1,
            readings: [{ device: 'd', point: 'p', value: -Infinity, ts: 1, quality: 'decode' }],
          },
        },
      ],
    });
    const stdin = new PassThrough();
    stdin.end(Buffer.from(bytes));
    let out = '';
    const stdout = new PassThrough();
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await decodeCommand.run(['-'], {
      stdin,
      stdout,
      stderr: new PassThrough(),
      stopSignal: new Promise(() => {}),
      onReload: () => () => undefined,
    });
    expect(code).toBe(0);
    const j = JSON.parse(out);
    expect(j).toMatchObject({ agent: 'a1', firstSeq: 3, lastSeq: 3 });
    expect(j.records[0].batch.readings[0].value).toBe('-Infinity');
  });
});
