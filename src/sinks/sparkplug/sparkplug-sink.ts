/**
 * A Sink that is a Sparkplug B 3.0 edge node (README.md in this folder; metrics in metrics.ts).
 *
 * Session. Every connection attempt registers an NDEATH as the MQTT will, carrying a bdSeq one
 * higher (mod 256) than the last connection's, kept in the state file so a restart continues the
 * count. Once connected the node subscribes to NCMD, DCMD and, with `primaryHost`, the host's
 * STATE topic; it publishes NBIRTH (seq 0, bdSeq, Node Control/Rebirth) and a DBIRTH per device
 * when it may: at once, or when STATE says the host is online. Every later message carries the
 * next seq (0..255, wrapping). NCMD Node Control/Rebirth = true births everything again on the
 * same session (same bdSeq). STATE saying offline (with a timestamp not older than the last one)
 * ends the session without DISCONNECT, so the broker publishes the will; the next connection
 * waits for the host again. A clean stop publishes NDEATH itself, then disconnects.
 *
 * Data from the store. Readings and alarms are read from the sink's durable cursors as in the
 * MQTT sink and published as DDATA at QoS 0, as the specification requires. QoS 0 is not
 * acknowledged, so after each read the node sends an UNSUBSCRIBE of a topic it never subscribed
 * and moves the cursor when the UNSUBACK comes back on the same connection: the broker handles a
 * client's packets in order, so by then it has taken every DDATA before it. A connection that
 * drops first leaves the cursor where it was and the records are sent again (at least once,
 * like every sink). While the host is offline nothing is read: the records wait in the store.
 * Records committed before the current birth are historical (the birth already shows the present):
 * they are sent whole, with `is_historical`, so a historian fills its gap and the host's current
 * values do not go back in time. Newer readings are reported by exception.
 */
import type { Logger } from '../../ops/log.js';
import type { MqttSinkConfig } from '../../settings/sink-schema.js';
import { forwardedTypes } from '../../settings/sink-schema.js';
import type { ReadingBatch } from '../../shared/reading.js';
import type { RecordType, StoredRecord } from '../../store/records.js';
import type { Store } from '../../store/store.js';
import { AckTracker, type Unit } from '../ack-tracker.js';
import { MqttConnection } from '../mqtt/connection.js';
import { checkTransport, clientOptions, safeUrl } from '../mqtt/options.js';
import { cursorName } from '../mqtt/mqtt-sink.js';
import { LaneWake, PollClock } from '../lane-wake.js';
import { EMPTY_CATALOGUE, type PointCatalogue } from '../point-catalogue.js';
import type { DeviceCommand, MqttBackedSink, SinkStats } from '../sink.js';
import { alarmFacts, BD_SEQ, NodeModel, REBIRTH, type AlarmFacts, type CurrentValue } from './metrics.js';
import { decodeCommand, encodePayload, type Metric } from './payload.js';
import { parseState, SparkplugTopics } from './topics.js';
import type { IClientOptions } from 'mqtt';

/** Reads whose UNSUBACK is awaited at most, per lane. */
const READS_IN_FLIGHT = 4;
const RECORDS_PER_READ = 64;
const BD_SEQ_KEY = 'bdSeq';

export interface SparkplugSinkOptions {
  readonly name: string;
  readonly config: MqttSinkConfig;
  readonly store: Store;
  readonly log: Logger;
  readonly ids: { readonly agent: string; readonly site: string };
  readonly baseDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly points?: PointCatalogue;
  /** The alarms known now (the alarm manager's records), for births. */
  readonly alarms?: () => readonly AlarmFacts[];
  /** Where bdSeq survives restarts (e.g. a JsonFileState in the data directory). */
  readonly state?: { get(key: string): Promise<string | undefined>; put(key: string, value: string): Promise<void> };
}

interface Lane {
  readonly type: RecordType;
  readonly cursor: string;
  tracker: AckTracker;
  /** Whether the lane reads the store now or waits to be woken or polled. */
  readonly wait: LaneWake;
  inflight: number;
  acking: Promise<unknown>;
}

export class SparkplugSink implements MqttBackedSink {
  readonly name: string;
  private readonly topics: SparkplugTopics;
  private readonly model: NodeModel;
  private readonly catalogue: PointCatalogue;
  private conn: MqttConnection | undefined;
  private lanes: Lane[] = [];
  private generation = -1;
  private running = false;
  private stopping = false;
  private pumping = false;
  private again = false;
  /** The lanes' poll (lane-wake.ts): every 250 ms while one can be due, else the 5 s sweep. */
  private readonly clock = new PollClock((sweep) => {
    let due = false;
    for (const l of this.lanes) if (l.wait.poll(sweep)) due = true;
    if (due) void this.pump();
    return due;
  });
  /** bdSeq of the current (or next) connection; -1 before the first. */
  private bdSeq = -1;
  private seq = 0;
  /** NBIRTH published on the current connection. */
  private born = false;
  /** Records up to this store seq were known when the current birth was published: historical. */
  private birthSeq = 0;
  private hostOnline = false;
  private lastStateTs = -Infinity;
  private readonly current = new Map<string, Map<string, CurrentValue>>();
  private readonly delivered = { records: 0, readings: 0, messages: 0, bytes: 0 };
  private liveMessages = 0;
  private commandHandler: ((c: DeviceCommand) => void) | undefined;
  private readonly subscriptions = new Map<
    string,
    (topic: string, payload: Buffer, meta?: { readonly retain: boolean }) => void
  >();
  private idleWaiters: (() => void)[] = [];
  readonly counters = { births: 0, rebirths: 0, commands: 0, commandsRefused: 0 };

  constructor(private readonly o: SparkplugSinkOptions) {
    this.name = o.name;
    const sp = o.config.sparkplug;
    this.topics = new SparkplugTopics(sp.groupId ?? o.ids.site, sp.edgeNodeId ?? o.ids.agent);
    this.catalogue = o.points ?? EMPTY_CATALOGUE;
    this.model = new NodeModel((d, p) => this.catalogue.get(d, p));
    checkTransport(o.name, o.config);
  }

  /** The identity DCMD writes are audited under. */
  get operator(): string {
    const sp = this.o.config.sparkplug;
    return sp.operator ?? `sparkplug:${sp.primaryHost ?? 'host'}`;
  }

  /** DCMD writes go to `handler` (the writes stage); without one they are refused and logged. */
  onDeviceCommand(handler: (c: DeviceCommand) => void): void {
    this.commandHandler = handler;
  }

  // ------------------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    if (this.running) return;
    const { config, name, store } = this.o;
    this.lanes = (['alarm', 'readings'] as const)
      .filter((t) => forwardedTypes(config).includes(t))
      .map((type) => {
        const cursor = cursorName(name, type);
        return {
          type,
          cursor,
          tracker: new AckTracker(store.cursor(cursor, type)),
          wait: new LaneWake(this.clock),
          inflight: 0,
          acking: Promise.resolve(),
        };
      });
    const saved = Number(await this.o.state?.get(BD_SEQ_KEY).catch(() => undefined));
    this.bdSeq = Number.isInteger(saved) && saved >= 0 && saved <= 255 ? saved : -1;
    const base = await clientOptions(
      name,
      config,
      this.o.ids,
      this.o.baseDir ?? process.cwd(),
      { topic: this.topics.node_('NDEATH'), payload: '' },
      this.o.env,
    );
    // Sparkplug 3.0 edge nodes use clean sessions on MQTT 3.1.1 (or clean start, no expiry on 5).
    base.protocolVersion = 4;
    this.conn = new MqttConnection(
      config.url,
      safeUrl(config.url),
      () => this.sessionOptions(base),
      config.reconnect,
      this.o.log,
      {
        up: (gen) => this.onUp(gen),
        down: (gen) => this.onDown(gen),
      },
    );
    this.running = true;
    this.conn.start();
    this.clock.start();
    this.o.log.info(
      {
        url: safeUrl(config.url),
        group: this.topics.group,
        node: this.topics.node,
        primaryHost: config.sparkplug.primaryHost ?? null,
        types: this.lanes.map((l) => l.type),
      },
      'sparkplug edge node started',
    );
  }

  /** The options of one connection attempt: a new bdSeq, and the NDEATH carrying it as the will. */
  private sessionOptions(base: IClientOptions): IClientOptions {
    this.bdSeq = (this.bdSeq + 1) % 256;
    void this.o.state
      ?.put(BD_SEQ_KEY, String(this.bdSeq))
      .catch((e: Error) => this.o.log.warn({ err: e.message }, 'cannot keep bdSeq; a restart may repeat it'));
    const death = encodePayload({
      timestamp: Date.now(),
      metrics: [{ name: BD_SEQ, type: 'Int64', value: this.bdSeq }],
    });
    return {
      ...base,
      will: { topic: this.topics.node_('NDEATH'), payload: Buffer.from(death), qos: 1, retain: false },
    };
  }

  async stop(): Promise<void> {
    if (!this.running || this.stopping) return;
    this.stopping = true;
    this.clock.stop();
    const deadline = performance.now() + this.o.config.stopTimeout;
    while (this.conn?.connected && this.lanes.some((l) => l.inflight > 0) && performance.now() < deadline) {
      await new Promise<void>((r) => {
        this.idleWaiters.push(r);
        setTimeout(r, 50);
      });
    }
    await Promise.all(this.lanes.map((l) => l.acking));
    const conn = this.conn!;
    if (conn.connected) {
      // An intentional disconnect publishes the NDEATH itself (the broker does not send the will after DISCONNECT).
      const death = encodePayload({
        timestamp: Date.now(),
        metrics: [{ name: BD_SEQ, type: 'Int64', value: this.bdSeq }],
      });
      await Promise.race([
        conn
          .publish(this.generation, this.topics.node_('NDEATH'), Buffer.from(death), { qos: 1 })
          .catch(() => undefined),
        new Promise((r) => setTimeout(r, Math.max(100, deadline - performance.now()))),
      ]);
    }
    await conn.stop(true, Math.max(100, deadline - performance.now()));
    this.running = false;
    this.o.log.info({ delivered: this.delivered, births: this.counters.births }, 'sparkplug edge node stopped');
  }

  wake(type?: RecordType): void {
    if (!this.running || this.stopping) return;
    for (const l of this.lanes) if (type === undefined || l.type === type) l.wait.wake();
    void this.pump();
  }

  // ------------------------------------------------------------------------------ session

  private onUp(gen: number): void {
    this.generation = gen;
    this.born = false;
    this.hostOnline = false;
    this.lastStateTs = -Infinity;
    const client = this.conn!.clientFor(gen)!;
    client.on('message', (topic, payload, packet) => this.onMessage(gen, topic, payload, packet.retain));
    const primary = this.o.config.sparkplug.primaryHost;
    const topics = [
      this.topics.node_('NCMD'),
      this.topics.deviceCommands,
      ...(primary ? [SparkplugTopics.state(primary)] : []),
      ...this.subscriptions.keys(),
    ];
    // Commands and STATE are subscribed before the birth (specification 3.0, 5.8): the SUBACK
    // comes before any retained STATE the broker sends for it.
    client.subscribe(topics, { qos: 1 }, (err) => {
      if (err) {
        this.o.log.warn({ err: err.message }, 'cannot subscribe to Sparkplug commands; reconnecting');
        this.conn?.drop(gen);
        return;
      }
      if (!primary && gen === this.generation) this.birth(gen);
    });
  }

  private onDown(gen: number): void {
    if (gen !== this.generation) return;
    this.generation = -1;
    this.born = false;
    for (const l of this.lanes) {
      l.tracker.reset();
      l.inflight = 0;
      l.wait.wake();
    }
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private onMessage(gen: number, topic: string, payload: Buffer, retain: boolean): void {
    if (gen !== this.generation) return;
    const primary = this.o.config.sparkplug.primaryHost;
    if (primary && topic === SparkplugTopics.state(primary)) {
      this.onState(gen, payload);
      return;
    }
    if (topic === this.topics.node_('NCMD')) {
      this.onNodeCommand(gen, payload);
      return;
    }
    const device = this.topics.commandDevice(topic);
    if (device !== undefined) this.onDeviceCommandMessage(device, payload);
    else this.subscriptions.get(topic)?.(topic, payload, { retain });
  }

  private onState(gen: number, payload: Buffer): void {
    const s = parseState(payload);
    if (!s) {
      this.o.log.warn(
        { payload: payload.toString().slice(0, 80) },
        'ignoring a STATE message that is not {"online":…,"timestamp":…}',
      );
      return;
    }
    // An older STATE (a late retained copy) must not undo a newer one (3.0, 7.2.2).
    if (s.timestamp < this.lastStateTs) return;
    this.lastStateTs = s.timestamp;
    if (s.online && !this.hostOnline) {
      this.hostOnline = true;
      this.o.log.info({ host: this.o.config.sparkplug.primaryHost }, 'primary host online: publishing births');
      this.birth(gen);
    } else if (!s.online && this.hostOnline) {
      this.hostOnline = false;
      this.o.log.warn(
        { host: this.o.config.sparkplug.primaryHost },
        'primary host offline: ending the session (the broker publishes NDEATH); records wait in the store',
      );
      this.conn?.drop(gen);
    }
  }

  private onNodeCommand(gen: number, payload: Buffer): void {
    let metrics;
    try {
      metrics = decodeCommand(payload).metrics;
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'ignoring an NCMD that is not a Sparkplug payload');
      return;
    }
    const rebirthAlias = this.model.alias(null, REBIRTH);
    if (metrics.some((m) => (m.name === REBIRTH || m.alias === rebirthAlias) && m.value === true)) {
      if (!this.born) return; // the coming birth answers it
      this.counters.rebirths++;
      this.o.log.info('rebirth requested: publishing NBIRTH and DBIRTHs again');
      this.birth(gen);
    }
  }

  private onDeviceCommandMessage(device: string, payload: Buffer): void {
    let metrics;
    try {
      metrics = decodeCommand(payload).metrics;
    } catch (err) {
      this.o.log.warn({ device, err: (err as Error).message }, 'ignoring a DCMD that is not a Sparkplug payload');
      return;
    }
    for (const m of metrics) {
      const named = m.name ?? (m.alias !== undefined ? this.model.resolve(m.alias) : undefined)?.metric;
      this.counters.commands++;
      if (named === undefined) {
        this.counters.commandsRefused++;
        this.o.log.warn({ device, alias: m.alias }, 'DCMD names an unknown metric alias; ignored');
        continue;
      }
      if (!this.commandHandler) {
        this.counters.commandsRefused++;
        this.o.log.warn({ device, metric: named }, 'DCMD write refused: writes are off (writes.enabled)');
        continue;
      }
      this.commandHandler({ device, point: named, value: m.value, by: this.operator });
    }
  }

  /** NBIRTH and every device's DBIRTH; from now on records up to the store head are historical. */
  private birth(gen: number): void {
    const client = this.conn?.clientFor(gen);
    if (!client) return;
    const now = Date.now();
    this.model.unbornAll();
    this.birthSeq = this.o.store.stats().head;
    this.seq = 0;
    this.publishMessage(gen, this.topics.node_('NBIRTH'), {
      timestamp: now,
      seq: this.nextSeq(),
      metrics: this.model.nodeBirth(this.bdSeq, this.o.ids, now),
    });
    this.born = true;
    this.counters.births++;
    const alarms = this.o.alarms?.() ?? [];
    for (const d of this.catalogue.devices()) this.model.declare(d, []);
    for (const f of alarms) this.model.declareAlarm(f);
    for (const d of this.catalogue.devices())
      this.model.declareReadings(
        d,
        this.catalogue
          .points(d)
          .map((p) => ({ device: d, point: p.point, value: NaN, ts: now, quality: 'good' as const })),
      );
    for (const [d, points] of this.current)
      this.model.declareReadings(
        d,
        [...points.keys()].map((p) => ({ device: d, point: p, value: NaN, ts: now, quality: 'good' as const })),
      );
    for (const d of this.model.knownDevices()) this.deviceBirth(gen, d, alarms, now);
    // Everything in flight on this connection is still confirmed by its UNSUBACK; reading goes on
    // after it, now against the new birth.
    for (const l of this.lanes) l.wait.wake();
    void this.pump();
  }

  private deviceBirth(gen: number, device: string, alarms: readonly AlarmFacts[], now: number): void {
    const current = this.current.get(device);
    const metrics = this.model.deviceBirth(
      device,
      (p) => current?.get(p),
      alarms.filter((a) => a.device === device),
      now,
    );
    this.publishMessage(gen, this.topics.device('DBIRTH', device), { timestamp: now, seq: this.nextSeq(), metrics });
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) % 256;
    return s;
  }

  private publishMessage(gen: number, topic: string, p: { timestamp: number; seq: number; metrics: Metric[] }): number {
    const client = this.conn?.clientFor(gen);
    if (!client) return 0;
    const bytes = encodePayload(p);
    client.publish(topic, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { qos: 0, retain: false });
    this.delivered.messages++;
    const size = bytes.byteLength + topic.length + 5;
    this.delivered.bytes += size;
    return size;
  }

  // ------------------------------------------------------------------------------ data

  publishLive(batch: ReadingBatch): void {
    let points = this.current.get(batch.device);
    if (!points) this.current.set(batch.device, (points = new Map()));
    for (const r of batch.readings) points.set(r.point, { value: r.value, quality: r.quality, ts: r.ts });
  }

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
      this.o.log.error({ err: (err as Error).message }, 'sparkplug delivery step failed; retrying at the next poll');
    } finally {
      this.pumping = false;
    }
  }

  private async step(): Promise<boolean> {
    if (!this.running || this.stopping || !this.born || !this.conn?.connected) return false;
    const gen = this.generation;
    for (const lane of this.lanes) {
      if (lane.wait.idle || lane.inflight >= READS_IN_FLIGHT) continue;
      lane.wait.reading();
      const records = await this.o.store.read(lane.cursor, {
        maxRecords: RECORDS_PER_READ,
        types: [lane.type],
        after: lane.tracker.readAfter,
      });
      if (gen !== this.generation || this.stopping || !this.born) return false;
      if (records.length === 0) {
        lane.wait.rest(!this.o.store.committedAfter(lane.type, lane.tracker.readAfter));
        continue;
      }
      this.send(gen, lane, records);
      return true;
    }
    return false;
  }

  /** Publishes one read as DDATA messages, then the UNSUBSCRIBE whose UNSUBACK confirms them. */
  private send(gen: number, lane: Lane, records: StoredRecord[]): void {
    const client = this.conn!.clientFor(gen)!;
    let readings = 0;
    for (const r of records) {
      const historical = r.seq <= this.birthSeq;
      if (r.type === 'readings') {
        readings += r.batch.readings.length;
        this.dataMessage(
          gen,
          r.batch.device,
          historical,
          (rebirth) => (rebirth ? [] : this.model.readingsData(r.batch.device, r.batch.readings, historical)),
          () => this.model.declareReadings(r.batch.device, r.batch.readings),
        );
      } else if (r.type === 'alarm') {
        const f = alarmFacts(r.alarm);
        if (!f) continue; // a write's audit event: the written value arrives with the next poll
        this.dataMessage(
          gen,
          f.device,
          historical,
          () => this.model.alarmData(f, historical),
          () => this.model.declareAlarm(f),
        );
      }
    }
    const unit = lane.tracker.add(records[records.length - 1]!.seq, 1, records.length, readings);
    lane.inflight++;
    client.unsubscribe(`${this.topics.node_('NCMD')}/halfweg-confirm`, () => {
      if (gen !== this.generation) return;
      lane.inflight--;
      this.settle(lane, lane.tracker.confirm(unit));
      for (const w of this.idleWaiters.splice(0)) w();
      void this.pump();
    });
  }

  /**
   * One DDATA for a device: born first when it is new or gained a metric (then a live record's
   * values are already in its DBIRTH, so `metrics(true)` may return none).
   */
  private dataMessage(
    gen: number,
    device: string,
    historical: boolean,
    metrics: (rebornNow: boolean) => Metric[],
    declare: () => boolean,
  ): void {
    declare();
    let reborn = false;
    if (!this.model.isBorn(device)) {
      this.deviceBirth(gen, device, this.o.alarms?.() ?? [], Date.now());
      reborn = !historical;
    }
    const m = metrics(reborn);
    if (m.length === 0) return;
    this.publishMessage(gen, this.topics.device('DDATA', device), {
      timestamp: Date.now(),
      seq: this.nextSeq(),
      metrics: m,
    });
    if (!historical) this.liveMessages++;
  }

  private settle(lane: Lane, done: readonly Unit[]): void {
    if (done.length === 0) return;
    for (const u of done) {
      this.delivered.records += u.records;
      this.delivered.readings += u.readings;
    }
    const seq = lane.tracker.position;
    lane.acking = lane.acking
      .then(() => this.o.store.ack(lane.cursor, seq))
      .catch((e: Error) =>
        this.o.log.warn(
          { cursor: lane.cursor, seq, err: e.message },
          'store ack failed; the records will be sent again',
        ),
      );
  }

  // ------------------------------------------------------------------------------ Sink's command channel

  async subscribe(
    topic: string,
    handler: (topic: string, payload: Buffer, meta?: { readonly retain: boolean }) => void,
  ): Promise<void> {
    this.subscriptions.set(topic, handler);
    this.conn?.clientFor(this.generation)?.subscribe(topic, { qos: 1 });
  }

  async unsubscribe(topic: string): Promise<void> {
    this.subscriptions.delete(topic);
    this.conn?.clientFor(this.generation)?.unsubscribe(topic);
  }

  publish(topic: string, payload: string): Promise<void> {
    if (!this.conn) return Promise.reject(new Error('not started'));
    return this.conn.publish(this.generation, topic, payload, { qos: 1 });
  }

  stats(): SinkStats {
    const cursors = new Map(this.o.store.stats().cursors.map((c) => [c.name, c]));
    const lag: Record<string, { records: number; readings: number; oldestPendingAt: number | null }> = {};
    for (const l of this.lanes) {
      const c = cursors.get(l.cursor);
      if (c)
        lag[l.type] = { records: c.recordsPending, readings: c.readingsPending, oldestPendingAt: c.oldestPendingAt };
    }
    const p = this.conn?.problem ?? null;
    return {
      name: this.name,
      connected: this.conn?.connected ?? false,
      inflight: this.lanes.reduce((n, l) => n + l.inflight, 0),
      inflightBytes: 0,
      delivered: { ...this.delivered },
      lag,
      connects: this.conn?.connects ?? 0,
      disconnects: this.conn?.disconnects ?? 0,
      lastError: this.conn?.connected ? null : p ? { code: p.code, message: p.message, at: p.at } : null,
      liveMessages: this.liveMessages,
    };
  }

  /** The session as a host sees it: for status views and tests. */
  session(): { bdSeq: number; seq: number; born: boolean; hostOnline: boolean; birthSeq: number } {
    return { bdSeq: this.bdSeq, seq: this.seq, born: this.born, hostOnline: this.hostOnline, birthSeq: this.birthSeq };
  }
}
