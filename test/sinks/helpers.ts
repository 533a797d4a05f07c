/** Shared pieces of the sink tests: a LevelStore with the sinks' cursors, a recording subscriber. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { mqttSinkSchema, type MqttSinkConfig } from '../../src/settings/sink-schema.js';
import { storeSchema } from '../../src/settings/schema.js';
import { sinkCursors } from '../../src/sinks/create.js';
import { decodeBatch } from '../../src/sinks/batch-format.js';
import { LevelStore } from '../../src/store/level-store.js';
import { silentLogger } from '../../src/ops/log.js';
import type { StoredRecord } from '../../src/store/records.js';

export function sinkConfig(over: Record<string, unknown>): MqttSinkConfig {
  return mqttSinkSchema().parse({ reconnect: { initial: 100, max: 1000 }, heartbeat: 60_000, ...over });
}

/** Sink tests commit one record after another: a 10 ms sync pacing keeps them quick (pacing itself: test/store). */
export async function openStore(
  sinks: Record<string, MqttSinkConfig>,
  over: Record<string, unknown> = {},
): Promise<{ store: LevelStore; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'halfweg-sink-'));
  const store = new LevelStore({
    dir: path.join(root, 'store'),
    config: storeSchema().parse({ syncInterval: 10, sinks: sinkCursors(sinks), ...over }),
    log: silentLogger(),
  });
  await store.open();
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface Received {
  topic: string;
  payload: Buffer;
  at: number;
}

/** A QoS 1 subscriber with a persistent session, decoding binary batches as they come. */
export class Subscriber {
  readonly messages: Received[] = [];
  /** Records from batches, by seq (duplicates dropped). */
  readonly bySeq = new Map<number, StoredRecord>();
  /** Seqs in arrival order, duplicates included. */
  readonly arrivals: number[] = [];
  duplicates = 0;
  private client: MqttClient | undefined;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly url: string,
    private readonly topic: string,
    private readonly opts: mqtt.IClientOptions = {},
  ) {}

  async start(): Promise<void> {
    const client = mqtt.connect(this.url, {
      clientId: `sub-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      clean: false,
      reconnectPeriod: 200,
      ...this.opts,
    });
    this.client = client;
    client.on('message', (topic, payload) => {
      this.messages.push({ topic, payload, at: Date.now() });
      if (topic.includes('/batches/')) {
        for (const r of decodeBatch(payload).records) {
          this.arrivals.push(r.seq);
          if (this.bySeq.has(r.seq)) this.duplicates++;
          else this.bySeq.set(r.seq, r);
        }
      }
      for (const w of this.waiters.splice(0)) w();
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => client.subscribe(this.topic, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
      client.once('error', reject);
    });
  }

  readings(): number {
    let n = 0;
    for (const r of this.bySeq.values()) if (r.type === 'readings') n += r.batch.readings.length;
    return n;
  }

  async waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > until) return false;
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return true;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.client?.end(true, {}, () => r()) ?? r());
  }
}
