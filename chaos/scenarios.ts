/**
 * The scenarios. Each builds its own world (broker, devices, agent), drives its faults, and hands
 * the world to the judge. `short` runs are for `npm test` (seconds); full runs are `npm run chaos`.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { judge, type Invariant, type JudgeOptions, type Verdict } from './judge.js';
import { World, sleep, type WorldOptions } from './world.js';

export interface RunOptions {
  readonly short: boolean;
  /** Kills in the kill9 scenario (default 100, short 5). */
  readonly kills?: number;
  readonly soakMinutes?: number;
  readonly log?: (line: string) => void;
}

export interface Scenario {
  readonly name: string;
  readonly summary: string;
  run(o: RunOptions): Promise<Verdict>;
}

const rand = (a: number, b: number) => a + Math.random() * (b - a);

/** Builds a world, starts the agent, runs `body`, judges, and tears down whatever happens. */
async function withWorld(
  name: string,
  wo: WorldOptions,
  o: RunOptions,
  body: (w: World) => Promise<Omit<JudgeOptions, 'scenario' | 'startedAt'>>,
  setup?: (w: World) => Promise<void>,
): Promise<Verdict> {
  const startedAt = Date.now();
  const w = new World(wo);
  try {
    await setup?.(w);
    await w.start();
    await w.startAgent();
    await w.warmUp();
    const jo = await body(w);
    o.log?.(`${name}: faults done, judging`);
    return await judge(w, { scenario: name, startedAt, ...jo });
  } finally {
    await w.destroy();
    if (!process.env['HALFWEG_CHAOS_KEEP']) rmSync(w.dir, { recursive: true, force: true });
    else o.log?.(`${name}: kept ${w.dir}`);
  }
}

/** libfaketime's thread-safe preload, wherever Debian put it for this architecture. */
function faketimeLibrary(): string | null {
  for (const arch of ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf', 'i386-linux-gnu']) {
    const f = `/usr/lib/${arch}/faketime/libfaketimeMT.so.1`;
    if (existsSync(f)) return f;
  }
  return null;
}

const small: WorldOptions = { devices: 2, points: 50 };

/** Runs the agent through `ms` of a fault, then clears it and records the fault's end. */
async function during(
  w: World,
  name: string,
  ms: number,
  on: () => Promise<void> | void,
  off: () => Promise<void> | void,
  targetMs = 10_000,
): Promise<void> {
  const from = Date.now();
  await on();
  await sleep(ms);
  await off();
  w.excuse(name, from, Date.now() + 5000);
  w.faultEnded(name, targetMs, Date.now(), 0, from);
}

export const scenarios: Scenario[] = [
  {
    name: 'kill9',
    summary: 'kill -9 of the agent at random instants, restarted at once',
    run: (o) =>
      withWorld('kill9', small, o, async (w) => {
        const kills = o.kills ?? (o.short ? 5 : 100);
        for (let i = 0; i < kills; i++) {
          // Every fifth kill lands while the agent is still starting (opening its store, connecting).
          const early = i % 5 === 4;
          await sleep(early ? rand(100, 900) : rand(1000, 5000));
          const at = Date.now();
          await w.agent.signal('SIGKILL');
          if (early) w.agent.start();
          else await w.startAgent();
          if (early) {
            await sleep(rand(50, 700));
            await w.agent.signal('SIGKILL');
            await w.startAgent();
          }
          w.excuse('kill -9', at - 1500, Date.now() + 3000);
          w.faultEnded(`kill ${i + 1}${early ? ' (twice, once mid-start)' : ''}`, 10_000, at);
          if ((i + 1) % 10 === 0) o.log?.(`kill9: ${i + 1}/${kills}`);
        }
        await sleep(3000);
        return { faults: kills };
      }),
  },
  {
    name: 'broker',
    summary: 'broker down (real Mosquitto stopped), flapping, black-holed, slow (1 KB/s uplink)',
    run: (o) =>
      withWorld('broker', small, o, async (w) => {
        const s = o.short ? 1 : 12;
        const gap = o.short ? 2000 : 5000;
        const p = w.brokerProxy;
        await during(
          w,
          'broker down',
          (o.short ? 4000 : 10_000) * s,
          () => w.broker.stop(),
          () => w.broker.start(),
        );
        await sleep(gap);
        // Up one second, down the next, for the whole period.
        await during(
          w,
          'broker flapping',
          0,
          async () => {
            for (let i = 0; i < (o.short ? 4 : 60); i++) {
              p.set({ kind: i % 2 ? 'pass' : 'refuse' });
              await sleep(1000);
            }
          },
          () => p.set({ kind: 'pass' }),
        );
        await sleep(gap);
        await during(
          w,
          'broker black-holed',
          (o.short ? 6000 : 8000) * s,
          () => p.set({ kind: 'blackhole' }),
          () => {
            p.set({ kind: 'pass' });
            p.resetAll();
          },
        );
        await sleep(gap);
        // The black hole leaves the old connection open and silent; the agent must notice by its keepalive.
        await during(
          w,
          'broker slow 1 KB/s',
          (o.short ? 4000 : 10_000) * s,
          () => p.set({ kind: 'throttle', bytesPerSecond: 1024 }),
          () => p.set({ kind: 'pass' }),
          20_000,
        );
        await sleep(gap);
        return { faults: 4 + 4 * s };
      }),
  },
  {
    name: 'device',
    summary: 'a device dead, slow, flapping, answering garbage (the other device keeps going)',
    run: (o) =>
      withWorld('device', small, o, async (w) => {
        const s = o.short ? 1 : 6;
        const gap = o.short ? 2000 : 5000;
        const proxy = w.deviceProxies.get(1)!;
        await during(
          w,
          'device dead',
          (o.short ? 4000 : 8000) * s,
          () => proxy.set({ kind: 'refuse' }),
          () => proxy.set({ kind: 'pass' }),
        );
        await sleep(gap);
        await during(
          w,
          'device slow',
          (o.short ? 3000 : 6000) * s,
          () => w.deviceFault(1, { kind: 'delay', ms: 1500 }),
          () => w.deviceFault(1, null),
        );
        await sleep(gap);
        await during(
          w,
          'device flapping',
          0,
          async () => {
            for (let i = 0; i < (o.short ? 4 : 40); i++) {
              await w.deviceFault(1, i % 2 ? null : { kind: 'close' });
              await sleep(1000);
            }
          },
          () => w.deviceFault(1, null),
        );
        await sleep(gap);
        await during(
          w,
          'device garbage',
          (o.short ? 3000 : 6000) * s,
          () => w.deviceFault(1, { kind: 'garbage' }),
          () => w.deviceFault(1, null),
        );
        await sleep(gap);
        return { faults: 4 };
      }),
  },
  {
    name: 'disk-full',
    summary: 'the data directory on a small tmpfs fills up, then space is freed',
    run: async (o) => {
      const mnt = path.join('/tmp', `halfweg-chaos-disk-${process.pid}`);
      mkdirSync(mnt, { recursive: true });
      let mounted = false;
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt], { stdio: 'pipe' });
        mounted = true;
      } catch (err) {
        throw new Error(`disk-full needs root to mount a tmpfs at ${mnt}: ${(err as Error).message}`);
      }
      const data = path.join(mnt, 'data');
      const ballast = path.join(mnt, 'ballast');
      const extra: Invariant[] = [];
      try {
        return await withWorld(
          'disk-full',
          { ...small, dataDir: data, storeExtra: ['memoryReadings: 2000'] },
          o,
          async (w) => {
            // Fill what is left, leaving a little so the fill happens under the agent's writes.
            const fd = openSync(ballast, 'w');
            const chunk = Buffer.alloc(256 * 1024, 1);
            try {
              for (;;) writeSync(fd, chunk);
            } catch {
              /* ENOSPC: full */
            }
            closeSync(fd);
            const from = Date.now();
            o.log?.(`disk-full: tmpfs full (${Math.round(statSync(ballast).size / 1048576)} MB ballast)`);
            // Held full long enough for the memory buffer (2,000 readings = 20 s at 100/s) to overflow.
            const full = o.short ? 30_000 : 90_000;
            let degraded = false;
            const until = Date.now() + full;
            while (Date.now() < until) {
              await sleep(1000);
              if (w.agent.last?.store?.health.state === 'degraded') degraded = true;
            }
            rmSync(ballast);
            const freed = Date.now();
            w.excuse('disk full', from, freed + 30_000);
            w.faultEnded('disk freed', 30_000, freed);
            let healthyAt = 0;
            while (Date.now() - freed < 40_000) {
              await sleep(500);
              if ((await w.agent.fetchStatus())?.store?.health.state === 'ok') {
                healthyAt = Date.now();
                break;
              }
            }
            const dropped = w.agent.last?.store?.readingsDropped ?? {};
            extra.push({
              name: 'store-degraded-seen',
              ok: degraded,
              detail: `store health turned degraded while full: ${degraded}`,
            });
            extra.push({
              name: 'store-recovers-30s',
              ok: healthyAt > 0 && healthyAt - freed <= 30_000,
              detail: `store ok ${healthyAt ? healthyAt - freed : 'never'} ms after space returned`,
            });
            extra.push({
              name: 'rejections-counted',
              ok: true,
              detail: `dropped ${JSON.stringify(dropped)} (the identity check proves every one is counted)`,
            });
            await sleep(5000);
            return { faults: 1, extra };
          },
        );
      } finally {
        if (mounted) execFileSync('umount', ['-l', mnt]);
        rmSync(mnt, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'corrupt-db',
    summary: 'kill -9, the database damaged (CURRENT removed, table files overwritten), restart',
    run: (o) =>
      withWorld('corrupt-db', small, o, async (w) => {
        const rounds = o.short ? 1 : 3;
        const windows: { after: number; head: number; pending: number }[] = [];
        for (let i = 0; i < rounds; i++) {
          // A backlog first (broker refused), so the damage hits committed records not yet sent.
          w.brokerProxy.set({ kind: 'refuse' });
          await sleep(6000);
          // What the agent had committed and not yet sent just before the kill: seqs (cursor, head].
          const st = await w.agent.fetchStatus();
          const at = Date.now();
          await w.agent.signal('SIGKILL');
          const cloud = st?.store?.cursors.find((c) => c.name === 'cloud.readings');
          if (st?.store && cloud)
            windows.push({ after: cloud.position, head: st.store.head, pending: cloud.readingsPending });
          const dir = path.join(w.dataDir, 'store');
          const files = readdirSync(dir);
          rmSync(path.join(dir, 'CURRENT'), { force: true });
          for (const f of files.filter((n) => n.endsWith('.ldb') || n.endsWith('.log'))) {
            const p = path.join(dir, f);
            const size = statSync(p).size;
            if (size > 64) {
              const fd = openSync(p, 'r+');
              writeSync(fd, Buffer.alloc(Math.min(4096, size >> 1), 0xa5), 0, undefined, size >> 2);
              closeSync(fd);
            }
          }
          await w.startAgent();
          w.brokerProxy.set({ kind: 'pass' });
          w.excuse('corrupt database', at - 8000, Date.now() + 3000);
          w.faultEnded(`corrupt ${i + 1}`, 10_000, at);
          await sleep(5000);
        }
        await sleep(5000);
        // Committed before the damage, not yet delivered, and never delivered afterwards: lost
        // with the database. The agent has no counter for these (see the report).
        let pendingAtKills = 0;
        let arrived = 0;
        for (const win of windows) {
          pendingAtKills += win.pending;
          for (const [seq, a] of w.oracle.bySeq) if (seq > win.after && seq <= win.head) arrived += a.readings;
        }
        const lost = pendingAtKills - arrived;
        const log = readFileSync(w.agent.logFile, 'utf8');
        const said = (log.match(/HALFWEG_STORE_CORRUPT/g) ?? []).length;
        const corruptLines = log.split('\n').filter((l) => /corrupt/i.test(l)).length;
        return {
          faults: rounds,
          lossAllowed: true,
          extra: [
            {
              name: 'corruption-reported',
              ok: corruptLines >= rounds,
              detail: `${corruptLines} log lines about the corrupt database over ${rounds} damaged starts, ${said} of them with code HALFWEG_STORE_CORRUPT`,
            },
            {
              name: 'corruption-loss',
              ok: true,
              detail: `${lost} of ${pendingAtKills} readings committed but unsent at the kills (per /status up to 1 s before) never arrived (lost with the damaged files; informational: outside the promise, and not counted by the agent)`,
            },
          ],
        };
      }),
  },
  {
    name: 'clock',
    summary: "the agent's wall clock (CLOCK_REALTIME, via libfaketime) jumps an hour back and an hour forward",
    run: async (o) => {
      const lib = faketimeLibrary();
      if (!lib)
        throw new Error('libfaketime is not installed (apt-get install -y faketime); the clock scenario needs it');
      const dir = mkdtempSync(path.join(os.tmpdir(), 'halfweg-clock-'));
      const clockFile = path.join(dir, 'faketime.rc');
      writeFileSync(clockFile, '+0\n');
      const extra: Invariant[] = [];
      try {
        // The whole agent process sees the jump (Date, every native clock_gettime(CLOCK_REALTIME));
        // monotonic clocks stay true, as in an NTP step. Re-read at most once a second.
        const agentEnv = {
          LD_PRELOAD: lib,
          FAKETIME_TIMESTAMP_FILE: clockFile,
          FAKETIME_CACHE_DURATION: '1',
          FAKETIME_DONT_FAKE_MONOTONIC: '1',
        };
        return await withWorld('clock', { ...small, agentEnv }, o, async (w) => {
          const hold = o.short ? 8000 : 30_000;
          for (const [name, off] of [
            ['clock -1h', -3_600_000],
            ['clock back to true', 0],
            ['clock +1h', 3_600_000],
            ['clock back to true', 0],
          ] as const) {
            const at = Date.now();
            const produced = (await w.agent.sample())?.produced ?? 0;
            writeFileSync(clockFile, `${off < 0 ? '-' : '+'}${Math.abs(off) / 1000}\n`);
            await sleep(hold);
            const s2 = await w.agent.sample();
            extra.push({
              name: `polling-after-${name.replace(/ /g, '')}-${off}`,
              ok: (s2?.produced ?? 0) > produced,
              detail: `${name}: readings produced over the next ${hold / 1000} s: ${(s2?.produced ?? 0) - produced}; healthy: ${s2?.healthy}`,
            });
            w.excuse(name, at - 3_600_000, Date.now() + 3_600_000);
            w.faultEnded(name, 10_000, at, 3_600_000);
          }
          await sleep(4000);
          return { faults: 4, skewMs: 3_600_000, extra };
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'signals',
    summary: 'SIGTERM and SIGHUP in the middle of draining a backlog',
    run: (o) =>
      withWorld('signals', { devices: 4, points: 250 }, o, async (w) => {
        const rounds = o.short ? 1 : 5;
        const extra: Invariant[] = [];
        const pending = async () => (await w.agent.sample())?.cloudPending ?? -1;
        for (let i = 0; i < rounds; i++) {
          // A backlog (the broker unreachable for a while), then drained over a slow link so that
          // the signals land mid-drain: SIGHUP first (reload), then SIGTERM (stop, restart).
          const from = Date.now();
          w.brokerProxy.set({ kind: 'refuse' });
          await sleep(o.short ? 8000 : 20_000);
          w.brokerProxy.set({ kind: 'throttle', bytesPerSecond: 4096 });
          await sleep(3000);
          const beforeHup = await pending();
          w.agent.child?.kill('SIGHUP');
          await sleep(2000);
          const alive = w.agent.alive;
          const afterHup = await pending();
          extra.push({
            name: `sighup-${i + 1}`,
            ok: alive && beforeHup > 0,
            detail: `SIGHUP with ${beforeHup} readings pending for the cloud: agent alive ${alive}, ${afterHup} pending 2 s later`,
          });
          const beforeTerm = await pending();
          const t0 = Date.now();
          const code = await w.agent.signal('SIGTERM');
          const took = Date.now() - t0;
          extra.push({
            name: `sigterm-${i + 1}`,
            ok: code === 0 && took < 5000 && beforeTerm > 0,
            detail: `SIGTERM with ${beforeTerm} readings pending: exit ${code} in ${took} ms (README: well under 5 s)`,
          });
          w.brokerProxy.set({ kind: 'pass' });
          const restart = Date.now();
          await w.startAgent();
          w.excuse('signals', from, Date.now() + 3000);
          // Recovery counts from the restart; how long the stop took is the sigterm invariant's.
          w.faultEnded(`sigterm ${i + 1}`, 10_000, restart);
          await sleep(o.short ? 3000 : 8000);
        }
        await sleep(3000);
        return { faults: rounds * 2, extra };
      }),
  },
  {
    name: 'soak',
    summary: '1,000 points/s with broker outages; memory, fds and the identity sampled every second',
    run: (o) =>
      // No audit cursor: the store deletes what the sinks acknowledged, as in the field, so the
      // memory measured is the deployed agent's, not that of a database that only grows.
      withWorld('soak', { devices: 4, points: 250, audit: false }, o, async (w) => {
        const minutes = o.soakMinutes ?? (o.short ? 0.75 : 2);
        const until = Date.now() + minutes * 60_000;
        // Growth is judged after a warm-up: LevelDB's memtables, block and table caches, V8's heap
        // sizing and malloc's arenas fill over the first minutes (bounded: a leak keeps growing).
        // The report's memory series shows the warm-up as well. A short run is all warm-up: it
        // judges delivery and the identity, not memory.
        const rssFrom = o.short ? undefined : Date.now() + Math.min(600_000, minutes * 15_000);
        let faults = 0;
        while (Date.now() < until) {
          await sleep(Math.min(20_000, Math.max(0, until - Date.now())));
          if (Date.now() >= until) break;
          const outage = Math.min(10_000, Math.max(2000, until - Date.now() - 5000));
          await during(
            w,
            'soak outage',
            outage,
            () => w.brokerProxy.set({ kind: 'refuse' }),
            () => w.brokerProxy.set({ kind: 'pass' }),
          );
          faults++;
          o.log?.(
            `soak: ${Math.round((until - Date.now()) / 1000)} s left, rss ${w.agent.samples.at(-1)?.rssKb ?? 0} kB, heap ${w.agent.samples.at(-1)?.heapKb ?? 0} kB, fds ${w.agent.samples.at(-1)?.fds ?? 0}`,
          );
        }
        await sleep(5000);
        return { faults, rssFrom, rssLimitMb: 10 };
      }),
  },
];
