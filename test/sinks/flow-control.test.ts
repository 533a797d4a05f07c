/**
 * The MQTT sink's flow control (src/sinks/mqtt/flow-control.ts) without a broker or a clock: the
 * in-flight window per lane, the byte window, read sizing and the bandwidth cap's hold-back.
 */
import { describe, expect, it } from 'vitest';
import { FlowControl, RAW_LINK_SECONDS } from '../../src/sinks/mqtt/flow-control.js';
import type { StoredRecord } from '../../src/store/records.js';

const limits = { maxInflight: 32, batchRecords: 200, batchReadings: 2000, bandwidth: undefined as number | undefined };
const lane = (type: 'alarm' | 'aggregate' | 'readings', inflightMessages = 0, inflightBytes = 0) => ({
  type,
  inflightMessages,
  inflightBytes,
});
const readingsAt = (at: number): StoredRecord[] => [
  { type: 'readings', seq: 1, at, batch: { device: 'd', ts: at, readings: [] } },
];

describe('FlowControl', () => {
  it('keeps the last slots for alarms: aggregates not the last two, raw readings not the last quarter', () => {
    const f = new FlowControl(limits);
    expect(f.hasRoom(lane('alarm'), 0, 31)).toBe(true);
    expect(f.hasRoom(lane('alarm'), 0, 32)).toBe(false);
    expect(f.hasRoom(lane('aggregate'), 0, 29)).toBe(true);
    expect(f.hasRoom(lane('aggregate'), 0, 30)).toBe(false);
    expect(f.hasRoom(lane('readings'), 0, 23)).toBe(true);
    expect(f.hasRoom(lane('readings'), 0, 24)).toBe(false);
    // The byte window limits raw readings only once one message is in flight.
    expect(f.hasRoom(lane('readings', 0, 0), 10 * f.bytesWindow, 0)).toBe(true);
    expect(f.hasRoom(lane('readings', 1, 1), f.bytesWindow, 1)).toBe(false);
  });

  it('grows the byte window on fast confirmations and shrinks it at most once per round trip on slow ones', () => {
    const f = new FlowControl(limits);
    const start = f.bytesWindow;
    f.adjustWindow(100, 1000);
    expect(f.bytesWindow).toBeCloseTo(start * 1.1);
    f.adjustWindow(600, 2000);
    expect(f.bytesWindow).toBeCloseTo(start * 1.1 * 0.7);
    f.adjustWindow(600, 2100); // within 600 ms of the last shrink
    expect(f.bytesWindow).toBeCloseTo(start * 1.1 * 0.7);
  });

  it('sizes reads: alarms 32, aggregates batchRecords, raw readings to RAW_LINK_SECONDS of a cap', () => {
    expect(new FlowControl(limits).readSize('alarm')).toBe(32);
    expect(new FlowControl(limits).readSize('aggregate')).toBe(200);
    // 300 B/s × 4 s at 3 B a reading: 400 readings, 50 a record at first: 8 records.
    expect(new FlowControl({ ...limits, bandwidth: 300 }).readSize('readings')).toBe((300 * RAW_LINK_SECONDS) / 3 / 50);
  });

  it('under a cap, holds caught-up raw readings back until the oldest is RAW_LINK_SECONDS old', () => {
    const now = 1_000_000;
    const capped = new FlowControl({ ...limits, bandwidth: 300 });
    expect(capped.holdBack('readings', readingsAt(now - 1000), 10, now)).toBe(true);
    expect(capped.holdBack('readings', readingsAt(now - RAW_LINK_SECONDS * 1000), 10, now)).toBe(false);
    expect(capped.holdBack('readings', readingsAt(now - 1000), 1, now)).toBe(false); // a full read
    expect(capped.holdBack('alarm', readingsAt(now - 1000), 10, now)).toBe(false);
    expect(new FlowControl(limits).holdBack('readings', readingsAt(now - 1000), 10, now)).toBe(false);
  });
});
