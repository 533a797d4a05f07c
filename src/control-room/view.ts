/**
 * What the control-room page sees of the running agent: the one boundary between this room and
 * the rest. The composition root (src/agent.ts) backs it with the live parts; tests may back it
 * with anything. Everything here is read-only except `command`, which goes the same way as an
 * MQTT command (Alerts.submit: parse, check, the manager, the committed event).
 */
import type { AlarmEvent } from '../alerts/alarm-event.js';
import type { CommandResult } from '../alerts/commands.js';
import type { AlarmRecord } from '../alerts/lifecycle.js';
import type { Health } from '../ops/health.js';
import type { PointCatalogue } from '../sinks/point-catalogue.js';
import type { SinkStats } from '../sinks/sink.js';
import type { DeviceStats } from '../sources/source.js';
import type { ReadingBatch } from '../shared/reading.js';
import type { Store, StoreStats } from '../store/store.js';

export interface AgentView {
  readonly agent: { readonly id: string; readonly site: string };
  devices(): readonly DeviceStats[];
  readonly catalogue: PointCatalogue;
  /** Alarms not quietly normal, most urgent first (AlarmManager.alarms()); empty when alarms are off. */
  alarms(): readonly AlarmRecord[];
  sinks(): readonly SinkStats[];
  store(): StoreStats | null;
  /** store.diskBudget, bytes. */
  readonly diskBudget: number;
  health(): Health;
  /** History as the store holds it (raw readings, aggregates, alarm events). */
  readonly history: Pick<Store, 'history' | 'diskBytes'>;
  /** An alarm command as the page's operator sends it; null when alarms are off. */
  command(command: Record<string, unknown>): CommandResult | null;
  /** Every batch handed to the store; returns an unsubscribe. */
  onBatch(listener: (batch: ReadingBatch) => void): () => void;
  /** Every alarm event once committed; returns an unsubscribe. */
  onAlarm(listener: (event: AlarmEvent) => void): () => void;
}
