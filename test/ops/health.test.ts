import { describe, expect, it, vi, afterEach } from 'vitest';
import { evaluateHealth } from '../../src/ops/health.js';
import { Watchdog } from '../../src/ops/watchdog.js';
import { silentLogger } from '../../src/ops/log.js';
import type { Notifier } from '../../src/ops/sd-notify.js';

const limits = { pollStallMs: 30_000, commitStallMs: 60_000 };
const base = {
  now: 100_000,
  startedAt: 0,
  lastBatchAt: 95_000,
  oldestCommitAt: null,
  hasSources: true,
  storeDegraded: null,
};

describe('agent health', () => {
  it('is healthy while batches arrive and commits settle', () => {
    expect(evaluateHealth(base, limits)).toEqual({
      healthy: true,
      state: 'ok',
      devicesDown: [],
      problems: [],
      warnings: [],
    });
  });
  it('is unhealthy when no source produced a batch within the allowance', () => {
    const h = evaluateHealth({ ...base, lastBatchAt: 60_000 }, limits);
    expect(h.healthy).toBe(false);
    expect(h.problems).toEqual(['polling stalled: no batch for 40 s']);
  });
  it('counts from start when nothing was ever produced', () => {
    expect(evaluateHealth({ ...base, lastBatchAt: null, startedAt: 90_000 }, limits).healthy).toBe(true);
    expect(evaluateHealth({ ...base, lastBatchAt: null, startedAt: 10_000 }, limits).healthy).toBe(false);
  });
  it('is unhealthy when a commit hangs', () => {
    expect(evaluateHealth({ ...base, oldestCommitAt: 30_000 }, limits).problems).toEqual([
      'store stalled: a commit has been pending for 70 s',
    ]);
  });
  it('reports a full disk as a warning, not a reason to restart (a restart frees no space and loses the buffer)', () => {
    const h = evaluateHealth({ ...base, storeDegraded: 'disk full' }, limits);
    expect(h.healthy).toBe(true);
    expect(h.warnings).toEqual(['store degraded: disk full']);
  });
  it('issue 18.3: a device not answering makes the agent degraded, naming it, without failing the watchdog', () => {
    const h = evaluateHealth(
      { ...base, devicesDown: [{ device: 'boiler-1', lastError: 'timeout after 1000 ms', lastPollTs: 25_000 }] },
      limits,
    );
    expect(h.healthy).toBe(true);
    expect(h.state).toBe('degraded');
    expect(h.devicesDown).toEqual(['boiler-1']);
    expect(h.warnings).toEqual(['device boiler-1 not answering (last answered 75 s ago: timeout after 1000 ms)']);
    expect(
      evaluateHealth({ ...base, devicesDown: [{ device: 'pump-2', lastError: null, lastPollTs: null }] }, limits)
        .warnings,
    ).toEqual(['device pump-2 not answering (never answered)']);
  });
  it('does not need batches when there is nothing to poll', () => {
    expect(evaluateHealth({ ...base, hasSources: false, lastBatchAt: null }, limits).healthy).toBe(true);
  });
});

describe('the systemd watchdog', () => {
  afterEach(() => vi.useRealTimers());
  function fakeNotifier(watchdogMs: number | null) {
    const sent: string[] = [];
    const n: Notifier = {
      enabled: watchdogMs !== null,
      watchdogMs,
      ready: async () => void sent.push('READY'),
      watchdog: async () => void sent.push('WATCHDOG'),
      stopping: async () => void sent.push('STOPPING'),
      reloading: async () => void sent.push('RELOADING'),
      status: async () => undefined,
    };
    return { n, sent };
  }

  it('pings at half the period while healthy, stops while stuck, resumes after', () => {
    vi.useFakeTimers();
    const { n, sent } = fakeNotifier(10_000);
    let healthy = true;
    const w = new Watchdog(n, () => ({ healthy, problems: healthy ? [] : ['polling stalled'] }), silentLogger());
    w.start();
    vi.advanceTimersByTime(20_000);
    expect(sent).toEqual(['WATCHDOG', 'WATCHDOG', 'WATCHDOG', 'WATCHDOG']);
    healthy = false;
    vi.advanceTimersByTime(30_000);
    expect(sent).toHaveLength(4);
    healthy = true;
    vi.advanceTimersByTime(5_000);
    expect(sent).toHaveLength(5);
    w.stop();
    vi.advanceTimersByTime(60_000);
    expect(sent).toHaveLength(5);
  });

  it('does nothing without a systemd watchdog', () => {
    vi.useFakeTimers();
    const { n, sent } = fakeNotifier(null);
    new Watchdog(n, () => ({ healthy: true, problems: [] }), silentLogger()).start();
    vi.advanceTimersByTime(60_000);
    expect(sent).toEqual([]);
  });
});
