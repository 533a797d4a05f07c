/**
 * The judge: after a scenario, with the agent stopped, compares three accounts of the run — what
 * the devices produced (the value encoding), what the agent committed (its store, opened
 * read-only; our `audit` cursor is never acknowledged, so every committed record is still there,
 * or without it, as deployed, the store's head and what it still holds) and what the oracle
 * received — and checks the delivery promise invariant by invariant.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { silentLogger } from '../src/ops/log.js';
import { storeSchema } from '../src/settings/schema.js';
import { LevelStore, storeDir } from '../src/store/level-store.js';
import type { StoredRecord } from '../src/store/records.js';
import { fdCount, type StatusSample } from './agent-process.js';
import { decodeValue, verify } from './device-code.js';
import { fingerprint } from './oracle.js';
import type { World } from './world.js';

export interface Invariant {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface Verdict {
  readonly scenario: string;
  readonly invariants: Invariant[];
  readonly figures: {
    producedReadings: number;
    committedReadings: number;
    deliveredReadings: number;
    duplicateReadings: number;
    duplicateRecords: number;
    droppedReadings: Record<string, number>;
    pendingReadings: number;
    faults: number;
    recoveryMs: { max: number | null; median: number | null; count: number };
    peakRssMb: number;
    rssGrowthMb: number | null;
    /** The JavaScript heap's growth over the same samples: separates a leak in our code from LevelDB and allocator memory. */
    heapGrowthMb: number | null;
    /** Soak: one row every 30 s, warm-up included: seconds since the run started, RSS MB, heap MB, open fds. */
    memorySeries: [number, number, number, number][];
    fdsBefore: number;
    fdsAfter: number;
    identitySamples: number;
    agentStarts: number;
    seconds: number;
  };
  readonly ok: boolean;
}

interface StoreView {
  readonly records: StoredRecord[];
  readonly cursors: Map<string, number>;
  readonly head: number;
  readonly dropped: Record<string, number>;
  readonly dirs: string[];
}

/** Every record the store holds (all committed ones with the audit cursor), from the live database and any moved aside as corrupt. */
export async function readStore(dataDir: string): Promise<StoreView> {
  const live = storeDir(dataDir);
  const dirs = [
    live,
    ...readdirSync(dataDir)
      .filter((n) => n.startsWith('store.corrupt-'))
      .map((n) => path.join(dataDir, n)),
  ];
  const records: StoredRecord[] = [];
  let cursors = new Map<string, number>();
  let head = 0;
  let dropped: Record<string, number> = {};
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const store = new LevelStore({
      dir,
      config: storeSchema().parse({ sinks: { audit: { types: ['readings', 'aggregate', 'alarm'] } } }),
      log: silentLogger(),
      readOnlyTool: true,
    });
    try {
      await store.open();
    } catch {
      continue; // a database too damaged to open read-only: what it held is judged as lost
    }
    const s = store.stats();
    if (dir === live) {
      cursors = new Map(s.cursors.map((c) => [c.name, c.position]));
      head = s.head;
      dropped = { ...s.readingsDropped };
    }
    let after = 0;
    for (;;) {
      const page = await store.read('audit', { maxRecords: 5000, after });
      if (!page.length) break;
      records.push(...page);
      after = page.at(-1)!.seq;
    }
    await store.close();
  }
  const bySeq = new Map(records.map((r) => [r.seq, r]));
  return { records: [...bySeq.values()].sort((a, b) => a.seq - b.seq), cursors, head, dropped, dirs };
}

export interface SeqAccount {
  committedReadings: number;
  pendingReadings: number;
  /** Seqs at or below their type's cloud cursor, or no longer held, that never reached the oracle. */
  missing: number[];
  /** Delivered seqs whose content differs from the store's copy. */
  damaged: number[];
  /** Delivered seqs compared with a held copy. */
  compared: number;
}

/**
 * Accounts for each committed seq: delivered (its held copy, if any, must match), held and above
 * its type's cloud cursor (pending, counted), or else lost. An undelivered aggregate is not lost:
 * the cloud's cost policy may acknowledge a rollup without sending it.
 */
export function accountSeqs(
  seqs: Iterable<number>,
  delivered: ReadonlyMap<number, { readonly fingerprint: string; readonly readings: number }>,
  held: ReadonlyMap<number, StoredRecord>,
  cursorOf: (type: StoredRecord['type']) => number,
): SeqAccount {
  const a: SeqAccount = { committedReadings: 0, pendingReadings: 0, missing: [], damaged: [], compared: 0 };
  for (const seq of seqs) {
    const r = held.get(seq);
    const got = delivered.get(seq);
    if (got) {
      a.committedReadings += got.readings;
      if (r && r.type !== 'aggregate') {
        a.compared++;
        if (got.fingerprint !== fingerprint(r)) a.damaged.push(seq);
      }
    } else if (!r) a.missing.push(seq);
    else if (r.type !== 'aggregate') {
      const n = r.type === 'readings' ? r.batch.readings.length : 0;
      a.committedReadings += n;
      if (seq > cursorOf(r.type)) a.pendingReadings += n;
      else a.missing.push(seq);
    }
  }
  return a;
}

const median = (xs: number[]): number | null =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : null;

export interface JudgeOptions {
  readonly scenario: string;
  readonly startedAt: number;
  /** Faults that could each cause one in-flight window of duplicates. */
  readonly faults: number;
  /** Wall-clock skew the agent may have had (clock jump scenario). */
  readonly skewMs?: number;
  /** Readings legitimately lost outside the fault model (e.g. a corrupt database): reported, not failed. */
  readonly lossAllowed?: boolean;
  /** Judge memory growth (soak): samples after this time count. */
  readonly rssFrom?: number;
  readonly rssLimitMb?: number;
  /** The final stop was a kill (no flush): fds are not compared. */
  readonly extra?: Invariant[];
}

export async function judge(world: World, o: JudgeOptions): Promise<Verdict> {
  const inv: Invariant[] = [];
  const add = (name: string, ok: boolean, detail: string) => inv.push({ name, ok, detail });
  const { oracle, agent } = world;
  const fdsAfter = fdCount(agent.pid);
  const samples = agent.samples;
  // Stop the agent as an operator would (SIGTERM), then read its store.
  const drained = await world.drained(60_000);
  const code = await agent.signal('SIGTERM');
  add('clean-stop', code === 0, `SIGTERM exit code ${code}; cloud drained before stop: ${drained}`);
  await new Promise((r) => setTimeout(r, 500));
  const store = await readStore(world.dataDir);

  // 1. Every committed reading (and alarm) up to the cloud's cursor was delivered, intact.
  // With the audit cursor the store still holds every committed record. Without it (the soak, as
  // deployed) acknowledged records are gone, so the committed seqs are 1..head: one incarnation on
  // a fresh store with no failed write issues them without a hole, and `cloud: { default: both }`
  // sends every one. A seq neither delivered nor held was deleted undelivered: lost.
  const audited = world.opts.audit !== false;
  const writeFailed = acrossRestarts(samples, (x) => x.dropped['write-failed'] ?? 0);
  const contiguous = agent.starts === 1 && writeFailed === 0;
  const held = new Map(store.records.map((r) => [r.seq, r]));
  const cursorOf = (type: StoredRecord['type']) => store.cursors.get(`cloud.${type}`) ?? 0;
  const seqs = audited ? store.records.map((r) => r.seq) : Array.from({ length: store.head }, (_, i) => i + 1);
  const acct = accountSeqs(seqs, oracle.bySeq, held, cursorOf);
  const { committedReadings, pendingReadings, missing, damaged } = acct;
  add(
    'no-committed-loss',
    (missing.length === 0 || !!o.lossAllowed) && (audited || contiguous),
    `${missing.length} committed records at or below the cloud cursor never delivered${missing.length ? ` (seqs ${missing.slice(0, 5).join(', ')}…)` : ''}; ${pendingReadings} readings pending after the final stop (counted)` +
      (audited
        ? ''
        : `; committed seqs 1..${store.head} (no audit cursor: ${contiguous ? 'one incarnation, no failed write' : `cannot account: ${agent.starts} starts, ${writeFailed} readings in failed writes`})`),
  );
  add(
    'payload-intact',
    damaged.length === 0 && oracle.mismatches.length === 0 && oracle.decodeErrors === 0,
    `${damaged.length} delivered records differ from the store (${acct.compared} compared${audited ? '' : '; the rest were deleted once acknowledged, and are checked against the device encoding below'}), ${oracle.mismatches.length} seqs delivered with two contents, ${oracle.decodeErrors} undecodable payloads`,
  );

  // 1b. The control room got every committed alarm event up to its cursor, and no alarm was raised twice.
  const crCursor = store.cursors.get('controlRoom.alarm') ?? 0;
  const alarmSeqs = new Set([
    ...store.records.filter((r) => r.type === 'alarm').map((r) => r.seq),
    ...[...oracle.bySeq].filter(([, a]) => a.type === 'alarm').map(([seq]) => seq),
  ]);
  const crMissing = [...alarmSeqs].filter((seq) => seq <= crCursor && !oracle.alarmEvents.has(seq)).length;
  const raisedBy = new Map<string, number>();
  // The p000 limit alarm is active from the first reading to the last (values ~1e14 over hh 1000):
  // raised exactly once, whatever restarts happen. Other detectors may legitimately clear and re-raise.
  for (const e of oracle.alarmEvents.values())
    if (e.event === 'raised' && e.id.endsWith('/limits')) raisedBy.set(e.id, (raisedBy.get(e.id) ?? 0) + 1);
  const raisedTwice = [...raisedBy].filter(([, n]) => n > 1).map(([id]) => id);
  add(
    'alarms-delivered',
    crMissing === 0 && raisedTwice.length === 0 && (alarmSeqs.size > 0 || !!o.lossAllowed),
    `${alarmSeqs.size} alarm events committed, ${oracle.alarmEvents.size} received by the control room, ${crMissing} at or below its cursor missing; always-active limit alarms raised more than once: ${raisedTwice.length ? raisedTwice.join(', ') : 'none'}`,
  );

  // 2. Nothing delivered that was never produced or never committed: every delivered reading (the
  // oracle's copies) and every held undelivered one verifies against the device encoding.
  let unknown = 0;
  for (const [seq] of oracle.bySeq) if (audited ? !held.has(seq) : seq < 1 || seq > store.head) unknown++;
  const units = new Map(world.units.map((u) => [`dev${u}`, u]));
  const phantoms = new Map<string, number>();
  let goodChecked = 0;
  const check = (device: string, point: string, value: number, ts: number) => {
    goodChecked++;
    const v = verify(value, units.get(device) ?? -1, Number(point.slice(1)), ts, o.skewMs ?? 0);
    if (!v.ok) phantoms.set(v.reason!, (phantoms.get(v.reason!) ?? 0) + 1);
  };
  for (const [k, p] of oracle.series) {
    const [device, point] = k.split('/') as [string, string];
    const bad = new Set(p.bad);
    for (let i = 0; i < p.ts.length; i++) if (!bad.has(p.ts[i]!)) check(device, point, p.value[i]!, p.ts[i]!);
  }
  for (const r of store.records) {
    if (r.type !== 'readings' || oracle.bySeq.has(r.seq)) continue;
    for (const x of r.batch.readings) if (x.quality === 'good') check(x.device, x.point, x.value, x.ts);
  }
  const phantomCount = [...phantoms.values()].reduce((a, b) => a + b, 0);
  add(
    'no-phantoms',
    phantomCount === 0 && (unknown === 0 || !!o.lossAllowed),
    `${goodChecked} good readings checked against the device encoding: ${phantomCount} invalid ${JSON.stringify(Object.fromEntries(phantoms))}; ${unknown} delivered seqs ${audited ? 'not in the store' : `outside 1..${store.head}`}${o.lossAllowed ? ' (database replaced: allowed)' : ''}`,
  );

  // 3. Per point, no unexplained gaps among delivered readings (bad readings and excuse windows explain).
  const excused = (a: number, b: number) => world.excuses.some((e) => e.from <= b && e.to >= a);
  let gaps = 0;
  let excusedGaps = 0;
  const gapExamples: string[] = [];
  for (const [k, p] of oracle.series) {
    const bad = new Set(p.bad);
    const ts = [...p.ts].sort((a, b) => a - b);
    for (let i = 1; i < ts.length; i++) {
      const a = ts[i - 1]!;
      const b = ts[i]!;
      if (b - a <= 3500) continue;
      if (bad.has(a) || bad.has(b) || excused(a, b)) excusedGaps++;
      else {
        gaps++;
        if (gapExamples.length < 3) gapExamples.push(`${k} ${new Date(a).toISOString()}+${b - a}ms`);
      }
    }
  }
  add(
    'no-gaps',
    gaps === 0,
    `${gaps} unexplained gaps over 3.5 s in ${oracle.series.size} point series${gapExamples.length ? ` (${gapExamples.join('; ')})` : ''}; ${excusedGaps} explained by a fault window or bad readings`,
  );

  // 4. Duplicates bounded by one in-flight window per fault.
  const window = 32 * Math.max(1, oracle.maxRecordsPerMessage);
  const bound = Math.max(1, o.faults) * window;
  add(
    'duplicates-bounded',
    oracle.duplicateRecords <= bound,
    `${oracle.duplicateRecords} duplicate records (${oracle.duplicateReadings} readings) over ${o.faults} faults; bound ${bound} (maxInflight 32 × ${oracle.maxRecordsPerMessage} records/message per fault)`,
  );

  // 5. Fresh data after each fault within its target.
  // A recovery is timed while nothing else is broken: when a later fault starts before fresh data
  // came, its window does not count (an agent cannot reach a broker that is down again).
  const rec: number[] = [];
  const late: string[] = [];
  const each: string[] = [];
  for (const f of world.faultEnds) {
    const raw = oracle.freshAfter(f.endedAt, f.skewMs);
    const ms = raw === null ? null : clearMs(f.endedAt, f.endedAt + raw, world.faultEnds);
    if (ms !== null) rec.push(ms);
    if (ms === null || ms > f.targetMs) late.push(`${f.name}: ${ms === null ? 'never' : `${ms} ms`}`);
    each.push(`${f.name} ${ms ?? 'never'}${raw !== null && raw !== ms ? ` (${raw} with later faults)` : ''}`);
  }
  add(
    'recovers',
    late.length === 0,
    `${world.faultEnds.length} fault ends, fresh reading delivered after each in max ${rec.length ? Math.max(...rec) : '-'} ms of fault-free time${late.length ? `; late: ${late.slice(0, 5).join(', ')}` : ''} (${each.slice(0, 8).join(', ')}${each.length > 8 ? ', …' : ''})`,
  );

  // 6. The accounting identity in every /status sample, for every cursor.
  const broken = samples.filter((s) => Object.values(s.identity).some((d) => d !== 0));
  add(
    'identity',
    samples.length > 0 && broken.length === 0,
    `${samples.length} samples, ${broken.length} where produced + pendingAtOpen ≠ delivered + pending + buffered + dropped + evicted${broken.length ? ` (first: ${JSON.stringify(broken[0]!.identity)})` : ''}`,
  );

  // 7. Memory and file descriptors.
  const rssSamples = samples.filter((s) => s.at >= (o.rssFrom ?? Infinity));
  let growth: number | null = null;
  let heapGrowth: number | null = null;
  const memorySeries: [number, number, number, number][] = [];
  if (rssSamples.length >= 20) {
    const tenth = Math.max(5, Math.floor(rssSamples.length / 10));
    const grew = (kb: (s: StatusSample) => number) =>
      ((median(rssSamples.slice(-tenth).map(kb)) ?? 0) - (median(rssSamples.slice(0, tenth).map(kb)) ?? 0)) / 1024;
    growth = grew((s) => s.rssKb);
    heapGrowth = grew((s) => s.heapKb);
    add(
      'memory-flat',
      growth < (o.rssLimitMb ?? 10),
      `RSS growth ${growth.toFixed(1)} MB, JavaScript heap ${heapGrowth.toFixed(1)} MB (median of last tenth − first tenth of ${rssSamples.length} samples after a ${Math.round(((o.rssFrom ?? 0) - o.startedAt) / 1000)} s warm-up), limit ${o.rssLimitMb ?? 10} MB`,
    );
    let next = 0;
    for (const s of samples) {
      if (s.at < next) continue;
      next = s.at + 30_000;
      memorySeries.push([
        Math.round((s.at - o.startedAt) / 1000),
        Math.round(s.rssKb / 102.4) / 10,
        Math.round(s.heapKb / 102.4) / 10,
        s.fds,
      ]);
    }
    // LevelDB opens and closes table files as it compacts: compare the usual count, not one instant.
    const fdsFirst = median(rssSamples.slice(0, tenth).map((s) => s.fds)) ?? 0;
    const fdsLast = median(rssSamples.slice(-tenth).map((s) => s.fds)) ?? 0;
    const fdsMax = Math.max(...rssSamples.map((s) => s.fds));
    add(
      'fds-stable',
      fdsLast <= fdsFirst,
      `open fds (median of first and last tenth) ${fdsFirst} → ${fdsLast}, max ${fdsMax}`,
    );
  }
  for (const e of o.extra ?? []) inv.push(e);

  const deliveredReadings = oracle.readingsDelivered();
  // Counters restart with each incarnation: sum each incarnation's last sample.
  const producedReadings = acrossRestarts(agent.samples, (x) => x.produced);
  const dropped: Record<string, number> = {};
  for (const k of ['buffer-overflow', 'write-failed', 'evicted'])
    dropped[k] = acrossRestarts(agent.samples, (x) => x.dropped[k] ?? 0);
  return {
    scenario: o.scenario,
    invariants: inv,
    ok: inv.every((i) => i.ok),
    figures: {
      producedReadings,
      committedReadings,
      deliveredReadings,
      duplicateReadings: oracle.duplicateReadings,
      duplicateRecords: oracle.duplicateRecords,
      droppedReadings: dropped,
      pendingReadings,
      faults: o.faults,
      recoveryMs: { max: rec.length ? Math.max(...rec) : null, median: median(rec), count: rec.length },
      peakRssMb: Math.round(agent.peakHwmKb / 102.4) / 10,
      rssGrowthMb: growth === null ? null : Math.round(growth * 10) / 10,
      heapGrowthMb: heapGrowth === null ? null : Math.round(heapGrowth * 10) / 10,
      memorySeries,
      fdsBefore: world.fdsBefore,
      fdsAfter,
      identitySamples: samples.length,
      agentStarts: agent.starts,
      seconds: Math.round((Date.now() - o.startedAt) / 1000),
    },
  };
}

/**
 * Milliseconds of `from`..`to` during which no fault was on: `to - from` less its overlap with the
 * faults' windows (`startedAt`..`endedAt`; a fault that is an instant, like a kill, has none).
 */
export function clearMs(
  from: number,
  to: number,
  faults: readonly { readonly startedAt: number; readonly endedAt: number }[],
): number {
  const cut = faults
    .map((f) => [Math.max(from, f.startedAt), Math.min(to, f.endedAt)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let busy = 0;
  let reach = from;
  for (const [a, b] of cut) {
    if (b <= reach) continue;
    busy += b - Math.max(a, reach);
    reach = b;
  }
  return to - from - busy;
}

/**
 * A since-start counter summed over every incarnation of the agent (the last sample of each; a
 * sample lower than the one before means a restart). Undercounts what an incarnation did after its
 * last sample (at most a second before each kill).
 */
function acrossRestarts(samples: readonly StatusSample[], pick: (s: StatusSample) => number): number {
  let total = 0;
  let prev = 0;
  let pid = 0;
  for (const s of samples) {
    if (s.pid !== pid) total += prev;
    else if (pick(s) < prev) total += prev;
    pid = s.pid;
    prev = pick(s);
  }
  return total + prev;
}

export { decodeValue };
