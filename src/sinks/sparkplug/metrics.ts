/**
 * The edge node's metrics, pure: which Sparkplug metric each point and alarm becomes, their
 * aliases, what a birth carries and what a data message carries. No I/O and no clock: the sink
 * (sparkplug-sink.ts) passes times and publishes what this returns.
 *
 * Metrics of a device (DBIRTH, then DDATA by alias):
 *   <point>                           the point's value: Boolean, Int16, UInt16, Int32, UInt32, Float or Double
 *                                     (Double when the register is scaled or the source is a serial instrument),
 *                                     rounded to the point's precision, null with Quality 0 when the reading is bad;
 *                                     properties in the birth: engUnit, engLow, engHigh, Documentation, readOnly, Quality
 *   Alarms/<point>/<kind>/State       String: the ISA-18.2 state (normal, unack, acked, rtn-unack, shelved, out-of-service)
 *   Alarms/<point>/<kind>/Active      Boolean: the process condition is active
 *   Alarms/<point>/<kind>/Priority    String: low, medium, high, critical
 *   Alarms/<point>/<kind>/Condition   String: HH, H, L, LL, rise, fall, stuck, missing, spike, level, noise, relation, DOWN…
 * Metrics of the node (NBIRTH): bdSeq (Int64), Node Control/Rebirth (Boolean), Node Info/Agent and
 * Node Info/Site (String).
 *
 * Aliases are unique within the node and stable for the life of the process: a metric keeps its
 * alias across rebirths, a metric seen for the first time gets the next number (and its device is
 * born again so that the host learns it).
 *
 * Quality: the property `Quality` (Int32) follows the convention SCADA hosts read (Ignition's MQTT
 * Engine): 192 good, 0 bad. A bad reading is published as a null value with Quality 0; the next
 * good one carries Quality 192 again. Our own reason (timeout, exception…) stays in the store.
 */
import type { AlarmPayload } from '../../store/records.js';
import type { Quality, Reading } from '../../shared/reading.js';
import type { PointInfo } from '../point-catalogue.js';
import { publishedValue } from '../precision.js';
import type { Metric, TypeStr } from './payload.js';

export const REBIRTH = 'Node Control/Rebirth';
export const BD_SEQ = 'bdSeq';
export const QUALITY_GOOD = 192;
export const QUALITY_BAD = 0;
export const ALARM_FIELDS = ['State', 'Active', 'Priority', 'Condition'] as const;

/** The Sparkplug datatype of a point's published value. */
export function datatypeOf(p: Pick<PointInfo, 'type' | 'scaled' | 'precision'> | undefined): TypeStr {
  if (!p) return 'Double';
  if (p.type === 'bool') return 'Boolean';
  const fraction = p.scaled || (p.precision !== null && p.precision > 0);
  if (!fraction) {
    switch (p.type) {
      case 'int16':
        return 'Int16';
      case 'uint16':
        return 'UInt16';
      case 'int32':
        return 'Int32';
      case 'uint32':
        return 'UInt32';
      case 'float32':
        return 'Float';
      default:
        return 'Double';
    }
  }
  return 'Double';
}

/** The value of a metric of `type` for a reading value (null for no value). */
export function metricValue(
  type: TypeStr,
  value: number,
  point: Pick<PointInfo, 'precision' | 'type'> | undefined,
): number | boolean | null {
  if (!Number.isFinite(value)) return null;
  if (type === 'Boolean') return value !== 0;
  return publishedValue(value, point);
}

/** Name of the metric of one alarm field: `Alarms/<point>/<kind>/<field>`. */
export function alarmMetricName(point: string, kind: string, field: (typeof ALARM_FIELDS)[number]): string {
  return `Alarms/${point}/${kind}/${field}`;
}

/** The alarm facts a metric carries (from an event, or from the alarm manager's current records). */
export interface AlarmFacts {
  readonly device: string;
  readonly point: string;
  readonly kind: string;
  readonly state: string;
  readonly conditionActive: boolean;
  readonly priority: string;
  readonly condition: string | null;
  readonly ts: number;
}

/** The alarm facts of an alarm event, or null for an alarm-lane record that is not an alarm (a write's audit event). */
export function alarmFacts(a: AlarmPayload): AlarmFacts | null {
  const s = (k: string) => (typeof a[k] === 'string' ? (a[k] as string) : null);
  const device = s('device');
  const point = s('point');
  const state = s('state');
  if (!device || !point || !state) return null;
  return {
    device,
    point,
    kind: s('alarm') ?? a.kind,
    state,
    conditionActive: a['conditionActive'] === true,
    priority: s('priority') ?? 'low',
    condition: s('condition'),
    ts: typeof a['ts'] === 'number' ? a['ts'] : 0,
  };
}

function alarmValues(f: AlarmFacts): { name: string; type: TypeStr; value: string | boolean | null }[] {
  return [
    { name: alarmMetricName(f.point, f.kind, 'State'), type: 'String', value: f.state },
    { name: alarmMetricName(f.point, f.kind, 'Active'), type: 'Boolean', value: f.conditionActive },
    { name: alarmMetricName(f.point, f.kind, 'Priority'), type: 'String', value: f.priority },
    { name: alarmMetricName(f.point, f.kind, 'Condition'), type: 'String', value: f.condition },
  ];
}

interface Sent {
  value: number | boolean | string | null;
  quality: number;
}

interface DeviceModel {
  /** Metric names in birth order, with their datatypes. */
  readonly metrics: Map<string, TypeStr>;
  /** Whether the host has this device's current metric set (a DBIRTH since the last node birth). */
  born: boolean;
}

/** Latest value of a point, as the agent's live stream reported it (for births). */
export interface CurrentValue {
  readonly value: number;
  readonly quality: Quality;
  readonly ts: number;
}

export class NodeModel {
  private readonly aliases = new Map<string, number>();
  private nextAlias = 1;
  private readonly devices = new Map<string, DeviceModel>();
  private readonly byAlias = new Map<number, { device: string | null; metric: string }>();
  /** What the host last saw per alias (live data only; historical data does not change it). */
  private sent = new Map<number, Sent>();

  constructor(private readonly point: (device: string, point: string) => PointInfo | undefined) {}

  alias(device: string | null, metric: string): number {
    const key = `${device ?? ''}\u0000${metric}`;
    let a = this.aliases.get(key);
    if (a === undefined) {
      a = this.nextAlias++;
      this.aliases.set(key, a);
      this.byAlias.set(a, { device, metric });
    }
    return a;
  }

  /** The metric an alias names (commands may use aliases). */
  resolve(alias: number): { device: string | null; metric: string } | undefined {
    return this.byAlias.get(alias);
  }

  /** Every device is to be born again (a node birth: NBIRTH, then each DBIRTH). */
  unbornAll(): void {
    for (const d of this.devices.values()) d.born = false;
    this.sent = new Map();
  }

  isBorn(device: string): boolean {
    return this.devices.get(device)?.born === true;
  }

  knownDevices(): string[] {
    return [...this.devices.keys()];
  }

  /**
   * Registers metrics a device must have; true when one is new to a device already born (the
   * device must be born again for the host to learn it).
   */
  declare(device: string, metrics: readonly { name: string; type: TypeStr }[]): boolean {
    let d = this.devices.get(device);
    if (!d) this.devices.set(device, (d = { metrics: new Map(), born: false }));
    let added = false;
    for (const m of metrics) {
      if (!d.metrics.has(m.name)) {
        d.metrics.set(m.name, m.type);
        added = true;
      }
    }
    if (added && d.born) {
      d.born = false;
      return true;
    }
    return false;
  }

  /** Declares the points of readings (those not in the catalogue become Double metrics). */
  declareReadings(device: string, readings: readonly Reading[]): boolean {
    return this.declare(
      device,
      readings.map((r) => ({ name: r.point, type: datatypeOf(this.point(device, r.point)) })),
    );
  }

  declareAlarm(f: AlarmFacts): boolean {
    return this.declare(
      f.device,
      alarmValues(f).map(({ name, type }) => ({ name, type })),
    );
  }

  /**
   * The NBIRTH metrics. `bdSeq` is the one of the current MQTT session (its NDEATH will carries
   * the same).
   */
  nodeBirth(bdSeq: number, ids: { agent: string; site: string }, now: number): Metric[] {
    return [
      { name: BD_SEQ, alias: this.alias(null, BD_SEQ), timestamp: now, type: 'Int64', value: bdSeq },
      { name: REBIRTH, alias: this.alias(null, REBIRTH), timestamp: now, type: 'Boolean', value: false },
      {
        name: 'Node Info/Agent',
        alias: this.alias(null, 'Node Info/Agent'),
        timestamp: now,
        type: 'String',
        value: ids.agent,
      },
      {
        name: 'Node Info/Site',
        alias: this.alias(null, 'Node Info/Site'),
        timestamp: now,
        type: 'String',
        value: ids.site,
      },
    ];
  }

  /**
   * The DBIRTH metrics of a device: every declared metric with its name, alias, datatype, current
   * value (null when none is known yet) and, for points, their properties. Marks it born and
   * remembers the values as what the host has.
   */
  deviceBirth(
    device: string,
    current: (point: string) => CurrentValue | undefined,
    alarms: readonly AlarmFacts[],
    now: number,
  ): Metric[] {
    const d = this.devices.get(device);
    if (!d) return [];
    const alarmValue = new Map<string, string | boolean | null>();
    for (const f of alarms) for (const m of alarmValues(f)) alarmValue.set(m.name, m.value);
    const out: Metric[] = [];
    for (const [name, type] of d.metrics) {
      const alias = this.alias(device, name);
      if (name.startsWith('Alarms/')) {
        const value =
          alarmValue.get(name) ?? (name.endsWith('/State') ? 'normal' : name.endsWith('/Active') ? false : null);
        out.push({ name, alias, timestamp: now, type, value });
        this.sent.set(alias, { value, quality: QUALITY_GOOD });
        continue;
      }
      const info = this.point(device, name);
      const c = current(name);
      const quality = c && c.quality === 'good' ? QUALITY_GOOD : QUALITY_BAD;
      const value = c && c.quality === 'good' ? metricValue(type, c.value, info) : null;
      const properties: Record<string, { type: TypeStr; value: string | number | boolean }> = {
        Quality: { type: 'Int32', value: quality },
      };
      if (info) {
        if (info.unit) properties['engUnit'] = { type: 'String', value: info.unit };
        if (info.range) {
          properties['engLow'] = { type: 'Double', value: info.range[0] };
          properties['engHigh'] = { type: 'Double', value: info.range[1] };
        }
        if (info.description) properties['Documentation'] = { type: 'String', value: info.description };
        properties['readOnly'] = { type: 'Boolean', value: !info.writable };
      }
      out.push({ name, alias, timestamp: c?.ts ?? now, type, value, properties });
      this.sent.set(alias, { value, quality });
    }
    d.born = true;
    return out;
  }

  /**
   * DDATA metrics of one reading batch, by alias. Live data is by exception (only metrics whose
   * published value or quality changed since the host last saw them); historical data (committed
   * before the current birth) is sent whole and flagged, and does not change what the host shows.
   */
  readingsData(device: string, readings: readonly Reading[], historical: boolean): Metric[] {
    const d = this.devices.get(device);
    const out: Metric[] = [];
    for (const r of readings) {
      const type = d?.metrics.get(r.point);
      if (!type) continue;
      const alias = this.alias(device, r.point);
      const good = r.quality === 'good';
      const quality = good ? QUALITY_GOOD : QUALITY_BAD;
      const value = good ? metricValue(type, r.value, this.point(device, r.point)) : null;
      if (historical) {
        out.push({
          alias,
          timestamp: r.ts,
          type,
          value,
          isHistorical: true,
          ...(good ? {} : { properties: { Quality: { type: 'Int32', value: quality } } }),
        });
        continue;
      }
      const last = this.sent.get(alias);
      if (last && Object.is(last.value, value) && last.quality === quality) continue;
      const qualityChanged = !last || last.quality !== quality;
      out.push({
        alias,
        timestamp: r.ts,
        type,
        value,
        ...(qualityChanged || !good ? { properties: { Quality: { type: 'Int32', value: quality } } } : {}),
      });
      this.sent.set(alias, { value, quality });
    }
    return out;
  }

  /** DDATA metrics of one alarm event (all four fields: an event is a change). */
  alarmData(f: AlarmFacts, historical: boolean): Metric[] {
    return alarmValues(f).map((m) => {
      const alias = this.alias(f.device, m.name);
      if (!historical) this.sent.set(alias, { value: m.value, quality: QUALITY_GOOD });
      return {
        alias,
        timestamp: f.ts,
        type: this.devices.get(f.device)?.metrics.get(m.name) ?? m.type,
        value: m.value,
        ...(historical ? { isHistorical: true } : {}),
      };
    });
  }
}
