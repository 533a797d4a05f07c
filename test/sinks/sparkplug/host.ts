/**
 * A Sparkplug B 3.0 host application for the tests, written from the specification and not from
 * our sink: it publishes its STATE (retained, with an offline will), subscribes to `spBv1.0/#`,
 * decodes every message with protobufjs and the specification's schema (sparkplug_b.proto beside
 * this file), and checks each against the rules a host relies on, recording every violation:
 *
 * - an edge node's first message of a session is NBIRTH with seq 0 and a bdSeq metric; every
 *   later message (DBIRTH, NDATA, DDATA, DDEATH) carries the previous seq + 1 mod 256;
 * - DBIRTH only after NBIRTH, DDATA of a device only after its DBIRTH (birth before data);
 * - births name every metric with an alias and a datatype; data uses known aliases and no names;
 *   aliases are unique within the node;
 * - an NDEATH carries the bdSeq of the NBIRTH of the session it ends; after it the node is dead
 *   until its next NBIRTH.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';
import mqtt, { type MqttClient } from 'mqtt';

const root = protobuf.loadSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'sparkplug_b.proto'));
const PayloadType = root.lookupType('sparkplug.test.Payload');

export const DATATYPES: Record<number, string> = {
  1: 'Int8',
  2: 'Int16',
  3: 'Int32',
  4: 'Int64',
  5: 'UInt8',
  6: 'UInt16',
  7: 'UInt32',
  8: 'UInt64',
  9: 'Float',
  10: 'Double',
  11: 'Boolean',
  12: 'String',
  13: 'DateTime',
  14: 'Text',
};

export interface HostMetric {
  name?: string;
  alias?: number;
  timestamp?: number;
  datatype?: string;
  isHistorical: boolean;
  isNull: boolean;
  value: number | boolean | string | null;
  properties: Record<string, number | boolean | string | null>;
}

export interface HostMessage {
  topic: string;
  type: string;
  device: string | undefined;
  timestamp?: number;
  seq?: number;
  metrics: HostMetric[];
  retain: boolean;
  at: number;
}

const num = (v: unknown): number | undefined =>
  v === undefined || v === null ? undefined : typeof v === 'number' ? v : Number(String(v));

/** A signed value from int_value by datatype (3.0, 6.4.16: Int8/16/32 travel as their two's complement in a uint32). */
function fromInt(datatype: string | undefined, v: number): number {
  if (datatype === 'Int8') return (v << 24) >> 24;
  if (datatype === 'Int16') return (v << 16) >> 16;
  if (datatype === 'Int32') return v | 0;
  return v;
}

function metricValue(m: Record<string, unknown>, datatype: string | undefined): number | boolean | string | null {
  if (m['isNull'] === true) return null;
  if (m['intValue'] !== undefined && m['intValue'] !== null) return fromInt(datatype, num(m['intValue'])!);
  for (const k of ['longValue', 'floatValue', 'doubleValue'])
    if (m[k] !== undefined && m[k] !== null) return num(m[k])!;
  if (m['booleanValue'] !== undefined && m['booleanValue'] !== null) return m['booleanValue'] as boolean;
  if (m['stringValue'] !== undefined && m['stringValue'] !== null) return m['stringValue'] as string;
  return null;
}

/** Decodes one payload with the specification's schema. */
export function decode(bytes: Uint8Array): { timestamp?: number; seq?: number; metrics: HostMetric[] } {
  const p = PayloadType.toObject(PayloadType.decode(bytes), {
    longs: String,
    defaults: false,
    oneofs: false,
  }) as Record<string, unknown>;
  const metrics = ((p['metrics'] as Record<string, unknown>[] | undefined) ?? []).map((m) => {
    const datatype =
      m['datatype'] === undefined ? undefined : (DATATYPES[m['datatype'] as number] ?? `#${String(m['datatype'])}`);
    const props: Record<string, number | boolean | string | null> = {};
    const ps = m['properties'] as { keys?: string[]; values?: Record<string, unknown>[] } | undefined;
    (ps?.keys ?? []).forEach((k, i) => {
      const v = ps!.values![i]!;
      props[k] = metricValue(v, DATATYPES[v['type'] as number]);
    });
    return {
      name: m['name'] as string | undefined,
      alias: num(m['alias']),
      timestamp: num(m['timestamp']),
      datatype,
      isHistorical: m['isHistorical'] === true,
      isNull: m['isNull'] === true,
      value: metricValue(m, datatype),
      properties: props,
    };
  });
  return { timestamp: num(p['timestamp']), seq: num(p['seq']), metrics };
}

interface NodeState {
  alive: boolean;
  bdSeq: number | undefined;
  lastSeq: number | undefined;
  aliases: Map<number, string>;
  devices: Set<string>;
}

export class HostApplication {
  readonly messages: HostMessage[] = [];
  readonly violations: string[] = [];
  private client: MqttClient | undefined;
  private readonly nodes = new Map<string, NodeState>();
  private waiters: (() => void)[] = [];

  constructor(
    private readonly url: string,
    readonly hostId: string,
  ) {}

  get stateTopic(): string {
    return `spBv1.0/STATE/${this.hostId}`;
  }

  /** Connects, subscribes to the namespace, and (unless `online` is false) declares itself online. */
  async start(online = true): Promise<void> {
    const client = mqtt.connect(this.url, {
      clientId: `host-${this.hostId}-${Math.random().toString(36).slice(2, 8)}`,
      clean: true,
      reconnectPeriod: 0,
      will: {
        topic: this.stateTopic,
        payload: Buffer.from(JSON.stringify({ online: false, timestamp: Date.now() })),
        qos: 1,
        retain: true,
      },
    });
    this.client = client;
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.retain));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => client.subscribe('spBv1.0/#', { qos: 1 }, (err) => (err ? reject(err) : resolve())));
      client.once('error', reject);
    });
    if (online) await this.setOnline(true);
  }

  async setOnline(online: boolean): Promise<void> {
    await this.client!.publishAsync(this.stateTopic, JSON.stringify({ online, timestamp: Date.now() }), {
      qos: 1,
      retain: true,
    });
  }

  /** NCMD Node Control/Rebirth = true, as a host asks it (by name). */
  async requestRebirth(group: string, node: string): Promise<void> {
    await this.command(`spBv1.0/${group}/NCMD/${node}`, [
      { name: 'Node Control/Rebirth', datatype: 11, booleanValue: true },
    ]);
  }

  /** A DCMD with metrics given as protobuf objects (name or alias, datatype, value field). */
  async command(topic: string, metrics: Record<string, unknown>[]): Promise<void> {
    const bytes = PayloadType.encode(PayloadType.fromObject({ timestamp: Date.now(), metrics })).finish();
    await this.client!.publishAsync(topic, Buffer.from(bytes), { qos: 0 });
  }

  private onMessage(topic: string, payload: Buffer, retain: boolean): void {
    const l = topic.split('/');
    if (l[1] === 'STATE') return;
    const [, group, type, node, device] = l;
    const key = `${group}/${node}`;
    let decoded;
    try {
      decoded = decode(payload);
    } catch (err) {
      this.violations.push(`${topic}: does not decode: ${(err as Error).message}`);
      return;
    }
    const msg: HostMessage = {
      topic,
      type: type!,
      device,
      timestamp: decoded.timestamp,
      seq: decoded.seq,
      metrics: decoded.metrics,
      retain,
      at: Date.now(),
    };
    this.messages.push(msg);
    if (type === 'NCMD' || type === 'DCMD') return;
    this.check(key, msg);
    for (const w of this.waiters.splice(0)) w();
  }

  private check(key: string, m: HostMessage): void {
    const v = (s: string): void => void this.violations.push(`${m.topic} seq ${m.seq}: ${s}`);
    let n = this.nodes.get(key);
    if (!n)
      this.nodes.set(
        key,
        (n = { alive: false, bdSeq: undefined, lastSeq: undefined, aliases: new Map(), devices: new Set() }),
      );
    if (m.retain) v('Sparkplug messages are not retained');
    if (m.type === 'NDEATH') {
      const bd = m.metrics.find((x) => x.name === 'bdSeq')?.value;
      if (bd === undefined) v('NDEATH without bdSeq');
      // A death of an older session (a late will) is ignored by a host; one of this session must match.
      if (n.alive && bd !== n.bdSeq) v(`NDEATH bdSeq ${String(bd)} does not match the NBIRTH's ${n.bdSeq}`);
      if (bd === n.bdSeq) {
        n.alive = false;
        n.devices.clear();
      }
      return;
    }
    if (m.seq === undefined) {
      v('no seq');
      return;
    }
    if (m.type === 'NBIRTH') {
      if (m.seq !== 0) v(`NBIRTH seq ${m.seq}, expected 0`);
      const bd = m.metrics.find((x) => x.name === 'bdSeq');
      if (!bd || typeof bd.value !== 'number') v('NBIRTH without a bdSeq metric');
      if (!m.metrics.some((x) => x.name === 'Node Control/Rebirth' && x.datatype === 'Boolean'))
        v('NBIRTH without Node Control/Rebirth');
      n.alive = true;
      n.bdSeq = bd?.value as number;
      n.lastSeq = 0;
      n.devices.clear();
      this.learnAliases(n, m, v);
      return;
    }
    if (!n.alive) {
      v(`${m.type} before NBIRTH`);
      return;
    }
    const expected = (n.lastSeq! + 1) % 256;
    if (m.seq !== expected) v(`seq ${m.seq}, expected ${expected}`);
    n.lastSeq = m.seq;
    if (m.type === 'DBIRTH') {
      n.devices.add(m.device!);
      this.learnAliases(n, m, v);
      return;
    }
    if (m.type === 'DDEATH') {
      n.devices.delete(m.device!);
      return;
    }
    if (m.type === 'DDATA' && !n.devices.has(m.device!)) v(`DDATA of ${m.device} before its DBIRTH`);
    for (const x of m.metrics) {
      if (x.name !== undefined) v(`data metric with a name (${x.name}): aliases only after the birth`);
      if (x.alias === undefined || !n.aliases.has(x.alias)) v(`unknown alias ${x.alias}`);
    }
  }

  private learnAliases(n: NodeState, m: HostMessage, v: (s: string) => void): void {
    for (const x of m.metrics) {
      if (!x.name || x.alias === undefined || !x.datatype) {
        v(`birth metric without name, alias or datatype: ${JSON.stringify(x)}`);
        continue;
      }
      const qualified = `${m.device ?? ''}/${x.name}`;
      const had = n.aliases.get(x.alias);
      if (had !== undefined && had !== qualified) v(`alias ${x.alias} names ${had} and ${qualified}`);
      n.aliases.set(x.alias, qualified);
    }
  }

  /** The metric name an alias stands for (`<device>/<metric>`). */
  aliasName(group: string, node: string, alias: number): string | undefined {
    return this.nodes.get(`${group}/${node}`)?.aliases.get(alias);
  }

  of(type: string, device?: string): HostMessage[] {
    return this.messages.filter((m) => m.type === type && (device === undefined || m.device === device));
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

  /** Leaves cleanly, or (`crash`) by closing the socket so the broker publishes the offline will. */
  async stop(crash = false): Promise<void> {
    const c = this.client;
    if (!c) return;
    if (crash) {
      c.stream.destroy();
      c.end(true);
      return;
    }
    await new Promise<void>((r) => c.end(false, {}, () => r()));
  }
}
