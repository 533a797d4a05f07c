/**
 * A Sink that forwards store records to one MQTT broker. Contract: ../sink.ts; topics and
 * payloads: ../README.md.
 *
 * Lanes. Each forwarded record type has its own durable store cursor `<sink>.<type>` and an
 * AckTracker. Lanes are served in priority order alarm > aggregate > readings on every step, so a
 * new alarm is the next thing published whatever the backlog; `wake()` after a commit makes it
 * immediate, a 250 ms poll catches what only the clock makes due, and runs only while something
 * can be (../lane-wake.ts: PollClock).
 *
 * The window. At most `maxInflight` messages are unconfirmed; aggregates may not take the last
 * two slots and raw readings not the last quarter, so alarms always find room. Raw readings are
 * also limited in bytes by a delay-based window: when confirmations come back within
 * TARGET_RTT_MS the byte window grows, when they take longer than twice that it shrinks, and raw
 * batches are sized to half of it. On a slow link that keeps the bytes queued ahead of an alarm
 * to about half a second of link time; on a LAN the window opens to megabytes.
 *
 * A bandwidth cap. A raw message costs a fixed overhead (MQTT header, topic, batch header, the
 * names of its points: ~260 bytes) plus ~1.2 bytes per reading, so small messages on a slow link
 * spend most of it on headers (issue 15: 20 readings a message at 300 B/s cost 11.6 bytes per
 * reading and drained 25 readings/s). Under a cap, raw messages grow until one fills
 * RAW_LINK_SECONDS of the link (`capReadings` in flow-control.ts, adjusted from each message's
 * real size), so a reading costs the same ~1.5 bytes at any cap. Alarms still go first: the token
 * bucket holds a large raw message back until its tokens are there, and the alarm lane is served
 * before it, so an alarm waits at most for the raw message already on the wire: RAW_LINK_SECONDS
 * of link time.
 *
 * Delivery. Messages go out only while connected, on the connection they were built for; a
 * confirmation moves the cursor to the highest seq below which everything is confirmed. When the
 * connection drops every lane forgets what was in flight and reads again after its cursor
 * (at least once: consumers drop duplicates by seq).
 */
import type { IClientPublishOptions } from 'mqtt';
import type { Logger } from '../../ops/log.js';
import type { MqttSinkConfig } from '../../settings/sink-schema.js';
import type { ReadingBatch } from '../../shared/reading.js';
import type { RecordType, StoredRecord } from '../../store/records.js';
import type { Store } from '../../store/store.js';
import { cursorName } from '../cursors.js';
import { LaneWake, PollClock } from '../lane-wake.js';
import { AckTracker, type Unit } from '../ack-tracker.js';
import { alarmStateMessage } from '../alarm-state.js';
import { encodeBatch } from '../batch-format.js';
import { encodeJsonBatch } from '../batch-json.js';
import { heartbeatPayload, type AgentHealthFacts } from '../heartbeat.js';
import { DrainEstimator } from '../drain.js';
import { LiveValues } from '../live-values.js';
import { LivePublisher } from './live-publisher.js';
import { plainMessages } from '../json-plain.js';
import { EMPTY_CATALOGUE, type PointCatalogue } from '../point-catalogue.js';
import type { MqttBackedSink, SinkPolicy, SinkStats } from '../sink.js';
import { TokenBucket } from '../token-bucket.js';
import { MqttConnection } from './connection.js';
import { FlowControl } from './flow-control.js';
import { checkTransport, clientOptions, safeUrl } from './options.js';
import { Topics } from './topics.js';

export const LANE_ORDER: readonly RecordType[] = ['alarm', 'aggregate', 'readings'];
/** Drain figures: a sample every 2 s, rates over the last minute. */
const DRAIN_SAMPLE_MS = 2000;
const DRAIN_WINDOW_MS = 60_000;

export { cursorName } from '../cursors.js';
export { RAW_LINK_SECONDS } from './flow-control.js';

interface Outgoing {
  readonly topic: string;
  readonly payload: Buffer | string;
  readonly bytes: number;
  readonly retain: boolean;
  readonly unit: Unit;
}

interface Lane {
  readonly type: RecordType;
  readonly cursor: string;
  tracker: AckTracker;
  /** Whether the lane reads the store now or waits to be woken or polled. */
  readonly wait: LaneWake;
  /** Built for the current connection, not yet published. */
  staged: Outgoing[];
  inflightMessages: number;
  inflightBytes: number;
  /** Store acks in progress (stop() waits for them). */
  acking: Promise<unknown>;
}

export interface MqttSinkOptions {
  readonly name: string;
  readonly config: MqttSinkConfig;
  readonly store: Store;
  readonly log: Logger;
  readonly ids: { readonly agent: string; readonly site: string };
  /** Relative TLS and password file paths are resolved against it (the config file's directory). */
  readonly baseDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly policy?: SinkPolicy;
  /** Units and precisions of the points (the JSON contract rounds values to them). */
  readonly points?: PointCatalogue;
  /** The agent's own health, for the heartbeat (a device down makes it say so). */
  readonly agentHealth?: () => AgentHealthFacts;
  /** Drain figures: sample period and rate window, ms (tests shorten them). */
  readonly drain?: { readonly sampleMs: number; readonly windowMs: number };
}

export class MqttSink implements MqttBackedSink {
  readonly name: string;
  private readonly config: MqttSinkConfig;
  private readonly store: Store;
  private readonly log: Logger;
  private readonly topics: Topics;
  private lanes: Lane[] = [];
  private conn: MqttConnection | undefined;
  private generation = -1;
  private running = false;
  private stopping = false;
  private pumping = false;
  private again = false;
  /** The lanes' poll (lane-wake.ts): every 250 ms while one can be due, else the 5 s sweep. */
  private readonly clock = new PollClock((sweep) => {
    let due = false;
    for (const l of this.lanes) if (l.wait.poll(sweep) || l.staged.length > 0) due = true;
    if (due) void this.pump();
    return due;
  });
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private tokenTimer: NodeJS.Timeout | undefined;
  private readonly bucket: TokenBucket | undefined;
  private readonly live: LivePublisher | undefined;
  private readonly flow: FlowControl;
  private readonly drain: DrainEstimator;
  private drainTimer: NodeJS.Timeout | undefined;
  private behindWarned = false;
  private startedAt = 0;
  private lastDropped = 0;
  private unheardWarned = false;
  private readonly delivered = { records: 0, readings: 0, messages: 0, bytes: 0 };
  private idleWaiters: (() => void)[] = [];
  private readonly subscriptions = new Map<
    string,
    (topic: string, payload: Buffer, meta?: { readonly retain: boolean }) => void
  >();

  constructor(private readonly opts: MqttSinkOptions) {
    this.name = opts.name;
    this.config = opts.config;
    this.store = opts.store;
    this.log = opts.log;
    this.topics = new Topics({ prefix: opts.config.prefix, site: opts.ids.site, agent: opts.ids.agent });
    this.bucket =
      opts.config.bandwidth !== undefined ? new TokenBucket(opts.config.bandwidth, performance.now()) : undefined;
    this.drain = new DrainEstimator(opts.drain?.windowMs ?? DRAIN_WINDOW_MS, opts.config.bandwidth);
    this.flow = new FlowControl(opts.config);
    this.live = opts.config.live
      ? new LivePublisher(
          opts.config.live,
          new LiveValues(opts.ids.agent, opts.points ?? EMPTY_CATALOGUE),
          this.topics,
          {
            generation: () => this.generation,
            queuedBytes: () => this.conn?.clientFor(this.generation)?.stream?.writableLength ?? 0,
            canSend: (gen) => this.conn?.clientFor(gen) !== undefined && this.totalInflight() < this.config.maxInflight,
            publish: (gen, topic, payload, o) => this.conn!.publish(gen, topic, payload, o),
          },
        )
      : undefined;
    checkTransport(opts.name, opts.config);
  }

  // ------------------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    if (this.running) return;
    const { config, name } = this;
    this.lanes = LANE_ORDER.filter((t) => config.types.includes(t)).map((type) => {
      const cursor = cursorName(name, type);
      return {
        type,
        cursor,
        tracker: new AckTracker(this.store.cursor(cursor, type)),
        wait: new LaneWake(this.clock),
        staged: [],
        inflightMessages: 0,
        inflightBytes: 0,
        acking: Promise.resolve(),
      };
    });
    const options = await clientOptions(
      name,
      config,
      this.opts.ids,
      this.opts.baseDir ?? process.cwd(),
      { topic: this.topics.status, payload: 'offline' },
      this.opts.env,
    );
    this.conn = new MqttConnection(config.url, safeUrl(config.url), options, config.reconnect, this.log, {
      up: (gen) => this.onUp(gen),
      down: (gen) => this.onDown(gen),
    });
    this.running = true;
    this.startedAt = Date.now();
    this.lastDropped = this.droppedTotal();
    this.conn.start();
    this.clock.start();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), config.heartbeat);
    this.drainTimer = setInterval(() => this.sampleDrain(), this.opts.drain?.sampleMs ?? DRAIN_SAMPLE_MS);
    this.drainTimer.unref();
    this.live?.start();
    this.log.info(
      { url: safeUrl(config.url), types: this.lanes.map((l) => l.type), format: config.format },
      'sink started',
    );
  }

  async stop(): Promise<void> {
    if (!this.running || this.stopping) return;
    this.stopping = true;
    this.clock.stop();
    clearInterval(this.heartbeatTimer);
    clearInterval(this.drainTimer);
    this.live?.stop();
    clearTimeout(this.tokenTimer);
    const deadline = performance.now() + this.config.stopTimeout;
    for (const l of this.lanes) l.staged = [];
    // Let what is in flight be confirmed (and acknowledged in the store) within the deadline.
    while (this.conn?.connected && this.lanes.some((l) => l.inflightMessages > 0) && performance.now() < deadline) {
      await new Promise<void>((r) => {
        this.idleWaiters.push(r);
        setTimeout(r, 50);
      });
    }
    await Promise.all(this.lanes.map((l) => l.acking));
    const conn = this.conn!;
    if (conn.connected) {
      const left = Math.max(100, deadline - performance.now());
      await Promise.race([
        conn.publish(this.generation, this.topics.status, 'offline', { qos: 1, retain: true }).catch(() => undefined),
        new Promise((r) => setTimeout(r, left)),
      ]);
    }
    await conn.stop(true, Math.max(100, deadline - performance.now()));
    this.running = false;
    this.log.info({ delivered: this.delivered }, 'sink stopped');
  }

  wake(type?: RecordType): void {
    if (!this.running || this.stopping) return;
    for (const l of this.lanes) if (type === undefined || l.type === type) l.wait.wake();
    void this.pump();
  }

  // ------------------------------------------------------------------------------ commands

  /**
   * Listen on an exact topic over this sink's connection (operator commands come in on the
   * control-room broker: one connection per broker). Kept across reconnects.
   */
  async subscribe(
    topic: string,
    handler: (topic: string, payload: Buffer, meta?: { readonly retain: boolean }) => void,
  ): Promise<void> {
    this.subscriptions.set(topic, handler);
    if (this.generation >= 0) this.subscribeOn(this.generation, topic);
  }

  async unsubscribe(topic: string): Promise<void> {
    this.subscriptions.delete(topic);
    this.conn?.clientFor(this.generation)?.unsubscribe(topic);
  }

  /** Publish a small message (a command result) at QoS 1; rejects while disconnected. */
  publish(topic: string, payload: string): Promise<void> {
    if (!this.conn) return Promise.reject(new Error('not started'));
    return this.conn.publish(this.generation, topic, payload, { qos: 1 });
  }

  private subscribeOn(gen: number, topic: string): void {
    this.conn?.clientFor(gen)?.subscribe(topic, { qos: 1 }, (err) => {
      if (err)
        this.log.warn(
          { topic, err: err.message },
          'cannot subscribe; operator commands on this topic will not arrive until the next reconnect',
        );
    });
  }

  // ------------------------------------------------------------------------------ connection

  private onUp(gen: number): void {
    this.generation = gen;
    const client = this.conn!.clientFor(gen);
    if (client) {
      // Clean sessions and a fresh client per connection: subscribe again every time.
      client.on('message', (topic, payload, packet) =>
        this.subscriptions.get(topic)?.(topic, payload, { retain: packet.retain }),
      );
      for (const topic of this.subscriptions.keys()) this.subscribeOn(gen, topic);
    }
    for (const l of this.lanes) l.wait.wake();
    void this.conn!.publish(gen, this.topics.status, 'online', { qos: 1, retain: true }).catch(() => undefined);
    this.live?.connected();
    this.heartbeat();
    void this.pump();
  }

  private onDown(gen: number): void {
    if (gen !== this.generation) return;
    this.generation = -1;
    for (const l of this.lanes) {
      l.tracker.reset();
      l.staged = [];
      l.inflightMessages = 0;
      l.inflightBytes = 0;
      l.wait.wake();
    }
    this.live?.disconnected();
    this.flushIdleWaiters();
  }

  // ------------------------------------------------------------------------------ delivery

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        while (await this.step());
      } while (this.again);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'sink delivery step failed; retrying at the next poll');
    } finally {
      this.pumping = false;
    }
  }

  private totalInflight(): number {
    let n = this.live?.inflight ?? 0;
    for (const l of this.lanes) n += l.inflightMessages;
    return n;
  }

  /** Whether `lane` may put one more message in flight. */
  private hasRoom(lane: Lane, bytes: number): boolean {
    return this.flow.hasRoom(lane, bytes, this.totalInflight());
  }

  /** One unit of progress; false when nothing more can be done now. */
  private async step(): Promise<boolean> {
    if (!this.running || this.stopping || !this.conn?.connected) return false;
    const gen = this.generation;
    for (const lane of this.lanes) {
      if (lane.staged.length === 0) {
        if (lane.wait.idle || !this.hasRoom(lane, 0)) continue;
        if (this.opts.policy?.laneOpen && !this.opts.policy.laneOpen(lane.type, Date.now())) continue;
        const maxRecords = this.flow.readSize(lane.type);
        lane.wait.reading();
        const records = await this.store.read(lane.cursor, {
          maxRecords,
          types: [lane.type],
          after: lane.tracker.readAfter,
        });
        if (gen !== this.generation || this.stopping) return gen !== this.generation && this.conn.connected;
        if (records.length === 0 || this.flow.holdBack(lane.type, records, maxRecords, Date.now())) {
          lane.wait.rest(records.length === 0 && !this.store.committedAfter(lane.type, lane.tracker.readAfter));
          continue;
        }
        lane.staged = this.build(lane, records, records.length >= maxRecords);
        // Something of higher priority may have been woken while we read.
        return true;
      }
      const msg = lane.staged[0]!;
      if (!this.hasRoom(lane, msg.bytes)) continue;
      if (this.bucket) {
        const wait = this.bucket.delay(msg.bytes, performance.now());
        if (wait > 0) {
          if (!this.tokenTimer) {
            this.tokenTimer = setTimeout(() => {
              this.tokenTimer = undefined;
              void this.pump();
            }, wait);
          }
          return false;
        }
        this.bucket.take(msg.bytes, performance.now());
      }
      lane.staged.shift();
      this.send(lane, msg, gen);
      return true;
    }
    return false;
  }

  /** The messages for one read: one batch, plus retained state per alarm. */
  private build(lane: Lane, read: StoredRecord[], full: boolean): Outgoing[] {
    const { config } = this;
    const agent = this.opts.ids.agent;
    const lastSeq = read[read.length - 1]!.seq;
    const select = this.opts.policy?.select;
    const records = select ? read.flatMap((r) => select(r) ?? []) : read;
    if (records.length === 0) {
      // Nothing here is for this sink: acknowledge the range without sending (in order behind
      // anything still in flight).
      this.settle(lane, lane.tracker.confirm(lane.tracker.add(lastSeq, 0, 0, 0)));
      return [];
    }
    let readings = 0;
    for (const r of records) if (r.type === 'readings') readings += r.batch.readings.length;
    const payloads: { topic: string; payload: Buffer | string; retain: boolean }[] = [];
    const batchTopic = this.topics.batch(lane.type, config.format);
    if (config.format === 'json' && config.jsonStyle === 'plain') {
      for (const r of records)
        for (const m of plainMessages(r, agent, this.topics, this.opts.points ?? EMPTY_CATALOGUE))
          payloads.push({ ...m, retain: false });
    } else if (config.format === 'binary') {
      const bytes = encodeBatch({ agent, records }, { compression: config.compression });
      payloads.push({
        topic: batchTopic,
        payload: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        retain: false,
      });
    } else if (lane.type === 'alarm') {
      for (const r of records)
        payloads.push({ topic: batchTopic, payload: encodeJsonBatch(agent, [r]), retain: false });
    } else payloads.push({ topic: batchTopic, payload: encodeJsonBatch(agent, records), retain: false });
    if (lane.type === 'alarm' && config.alarmState) {
      for (const r of records) {
        // A write's audit event (kind "write", src/writes/) rides the alarm lane but has no state to retain.
        if (r.type !== 'alarm' || r.alarm.kind === 'write') continue;
        const s = alarmStateMessage(r.alarm, { seq: r.seq, at: r.at, agent });
        payloads.push({ topic: this.topics.alarmState(s.device, s.point, s.alarm), payload: s.payload, retain: true });
      }
    }
    if (lane.type === 'readings' && records.length > 0) {
      const bytes = payloads.reduce((s, p) => s + Buffer.byteLength(p.payload), 0);
      this.flow.built(bytes, readings, records.length, full);
    }
    const unit = lane.tracker.add(lastSeq, payloads.length, records.length, readings);
    return payloads.map((p) => ({ ...p, bytes: Buffer.byteLength(p.payload) + p.topic.length + 5, unit }));
  }

  private send(lane: Lane, msg: Outgoing, gen: number): void {
    const client = this.conn!.clientFor(gen);
    if (!client) return;
    lane.inflightMessages++;
    lane.inflightBytes += msg.bytes;
    const sentAt = performance.now();
    const opts: IClientPublishOptions = { qos: this.config.qos as 1 | 2, retain: msg.retain };
    client.publish(msg.topic, msg.payload, opts, (err, packet) => {
      if (gen !== this.generation) return; // a connection that is gone: onDown reset the lane
      lane.inflightMessages--;
      lane.inflightBytes -= msg.bytes;
      if (err) {
        // Only a client-side failure (the connection closes right after); re-read from the cursor.
        this.log.debug({ err: err.message, topic: msg.topic }, 'publish failed; will resend after reconnecting');
        return;
      }
      // A retained message (an alarm's state) is kept by the broker for whoever subscribes later:
      // "no subscribers" is normal for it.
      if (this.config.requireSubscribers && this.conn!.noSubscribers(gen, packet?.messageId) && !msg.retain) {
        // Nobody heard it (requireSubscribers): not delivered. Unconfirmed, it holds the cursor;
        // dropping the connection makes the lanes read again from there after the backoff.
        // One warning until something is heard again, then debug: an absent consumer is not a log flood.
        this.log[this.unheardWarned ? 'debug' : 'warn'](
          { code: 'HALFWEG_MQTT_NO_SUBSCRIBERS', topic: msg.topic },
          'the broker has no subscriber for this topic (is halfweg ingest running?); keeping the records and retrying after a reconnect',
        );
        this.unheardWarned = true;
        this.conn!.drop(gen);
        return;
      }
      this.unheardWarned = false;
      this.delivered.messages++;
      this.delivered.bytes += msg.bytes;
      if (lane.type === 'readings') {
        const now = performance.now();
        this.flow.adjustWindow(now - sentAt, now);
      }
      this.settle(lane, lane.tracker.confirm(msg.unit));
      this.flushIdleWaiters();
      void this.pump();
    });
  }

  /** Units that became contiguous from the front: count them and move the store cursor. */
  private settle(lane: Lane, done: readonly Unit[]): void {
    if (done.length === 0) return;
    for (const u of done) {
      this.delivered.records += u.records;
      this.delivered.readings += u.readings;
    }
    const seq = lane.tracker.position;
    lane.acking = lane.acking
      .then(() => this.store.ack(lane.cursor, seq))
      .catch((e: Error) =>
        this.log.warn({ cursor: lane.cursor, seq, err: e.message }, 'store ack failed; the records will be sent again'),
      );
  }

  private flushIdleWaiters(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }

  // ------------------------------------------------------------------------------ live values

  publishLive(batch: ReadingBatch): void {
    if (!this.running || this.stopping) return;
    this.live?.accept(batch);
  }

  // ------------------------------------------------------------------------------ status

  private droppedTotal(): number {
    const d = this.store.stats().readingsDropped;
    return d['buffer-overflow'] + d['write-failed'] + d.evicted;
  }

  /** A drain sample; logs once when the sink starts falling behind, once when it catches up. */
  sampleDrain(now = performance.now()): void {
    const pending = Object.values(this.stats(false).lag).reduce((n, l) => n + (l?.readings ?? 0), 0);
    this.drain.sample(now, this.delivered.readings, pending, this.conn?.connected ?? false);
    const d = this.drain.stats(this.flow.bytesPerReading);
    if (d.fallingBehind && !this.behindWarned) {
      this.behindWarned = true;
      this.log.warn(
        {
          code: 'HALFWEG_SINK_FALLING_BEHIND',
          pendingReadings: d.pendingReadings,
          producedPerS: d.producedPerS,
          deliveredPerS: d.deliveredPerS,
          bandwidth: this.config.bandwidth ?? null,
        },
        d.warning!,
      );
    } else if (!d.fallingBehind && this.behindWarned && d.emptyInS !== null) {
      this.behindWarned = false;
      this.log.info(
        { pendingReadings: d.pendingReadings, emptyInS: d.emptyInS },
        'sink keeps up again; the backlog shrinks',
      );
    }
  }

  private heartbeat(): void {
    const gen = this.generation;
    if (!this.conn?.clientFor(gen)) return;
    const dropped = this.droppedTotal();
    const payload = heartbeatPayload({
      agent: this.opts.ids.agent,
      site: this.opts.ids.site,
      sink: this.stats(),
      store: this.store.stats(),
      now: Date.now(),
      startedAt: this.startedAt,
      droppedSinceLast: dropped - this.lastDropped,
      agentHealth: this.opts.agentHealth?.(),
    });
    this.lastDropped = dropped;
    void this.conn.publish(gen, this.topics.heartbeat, payload, { qos: 0 }).catch(() => undefined);
  }

  stats(withDrain = true): SinkStats {
    const cursors = new Map(this.store.stats().cursors.map((c) => [c.name, c]));
    const lag: Record<string, { records: number; readings: number; oldestPendingAt: number | null }> = {};
    let inflightBytes = 0;
    for (const l of this.lanes) {
      const c = cursors.get(l.cursor);
      if (c)
        lag[l.type] = { records: c.recordsPending, readings: c.readingsPending, oldestPendingAt: c.oldestPendingAt };
      inflightBytes += l.inflightBytes;
    }
    const p = this.conn?.problem ?? null;
    return {
      name: this.name,
      connected: this.conn?.connected ?? false,
      inflight: this.totalInflight(),
      inflightBytes,
      delivered: { ...this.delivered },
      lag,
      connects: this.conn?.connects ?? 0,
      disconnects: this.conn?.disconnects ?? 0,
      lastError: this.conn?.connected ? null : p ? { code: p.code, message: p.message, at: p.at } : null,
      liveMessages: this.live?.messages ?? 0,
      ...(withDrain ? { drain: this.drain.stats(this.flow.bytesPerReading) } : {}),
    };
  }
}
