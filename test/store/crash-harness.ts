/**
 * Kills a real writer process (crash-writer.ts, compiled under dist/) at random instants and checks
 * after each kill that nothing reported committed is missing, seqs have no gaps or duplicates,
 * and the consumer's cursor never moved backwards. Used by crash.test.ts and `npm run crash`.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { LevelStore } from '../../src/store/level-store.js';
import { storeSchema } from '../../src/settings/schema.js';
import { silentLogger } from '../../src/ops/log.js';

function writerPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // from test/store (vitest, TS source) or dist/test/store (compiled)
  const candidates = [path.join(here, 'crash-writer.js'), path.resolve(here, '../../dist/test/store/crash-writer.js')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error('crash-writer.js not built: run `npx tsc -p tsconfig.json` first');
  return found;
}

export interface CrashReport {
  kills: number;
  committed: number;
  acks: number;
  head: number;
  failures: string[];
}

interface Committed {
  seq: number;
  device: string;
  ts: number;
}

async function runOnce(
  dir: string,
  sync: string,
  killAfterMs: number,
): Promise<{ committed: Committed[]; acks: number[] }> {
  const child = spawn(process.execPath, [writerPath(), dir, sync], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = '';
  const committed: Committed[] = [];
  const acks: number[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buf += chunk;
    const lines = buf.split('\n');
    buf = lines.pop()!; // a partial line at the kill is not a report
    for (const l of lines) {
      const [kind, a, b, c] = l.split(' ');
      if (kind === 'READY') ready();
      else if (kind === 'C') committed.push({ seq: Number(a), device: b!, ts: Number(c) });
      else if (kind === 'A') acks.push(Number(a));
    }
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await Promise.race([isReady, exited]);
  await new Promise((r) => setTimeout(r, killAfterMs));
  child.kill('SIGKILL');
  await exited;
  return { committed, acks };
}

export async function crashTest(
  dir: string,
  kills: number,
  opts: { sync?: string; maxDelayMs?: number; onProgress?: (i: number) => void } = {},
): Promise<CrashReport> {
  const sync = opts.sync ?? 'every-batch';
  const report: CrashReport = { kills: 0, committed: 0, acks: 0, head: 0, failures: [] };
  let cursorFloor = 0;
  let verifiedHead = 0;
  for (let i = 0; i < kills && report.failures.length < 10; i++) {
    const { committed, acks } = await runOnce(dir, sync, Math.floor(Math.random() * (opts.maxDelayMs ?? 300)));
    report.kills++;
    report.committed += committed.length;
    report.acks += acks.length;
    const store = new LevelStore({
      dir,
      config: storeSchema().parse({
        sinks: { consumer: { types: ['readings', 'alarm'] }, audit: { types: ['readings', 'alarm'] } },
      }),
      log: silentLogger(),
      readOnlyTool: true,
    });
    await store.open();
    try {
      const st = store.stats();
      report.head = st.head;
      const bySeq = new Map<number, { device: string; ts: number }>();
      let prev = verifiedHead;
      for await (const r of store.range(verifiedHead + 1, st.head)) {
        if (r.seq !== prev + 1) report.failures.push(`kill ${i}: seq gap or duplicate: ${prev} then ${r.seq}`);
        prev = r.seq;
        bySeq.set(
          r.seq,
          r.type === 'readings'
            ? { device: r.batch.device, ts: r.batch.ts }
            : r.type === 'alarm'
              ? { device: String(r.alarm['device']), ts: Number(r.alarm['ts']) }
              : { device: '', ts: NaN },
        );
      }
      if (prev !== st.head) report.failures.push(`kill ${i}: records end at ${prev}, head is ${st.head}`);
      for (const c of committed) {
        const found = bySeq.get(c.seq);
        if (!found || found.device !== c.device || found.ts !== c.ts)
          report.failures.push(
            `kill ${i}: committed seq ${c.seq} (${c.device} ${c.ts}) missing or different: ${JSON.stringify(found)}`,
          );
      }
      const position = st.cursors.find((c) => c.name === 'consumer')!.position;
      const lastAck = acks.length ? Math.max(...acks) : 0;
      if (position < cursorFloor || position < lastAck)
        report.failures.push(`kill ${i}: cursor moved backwards: ${position} < ${Math.max(cursorFloor, lastAck)}`);
      cursorFloor = Math.max(cursorFloor, position);
      verifiedHead = st.head;
    } finally {
      await store.close();
    }
    opts.onProgress?.(i + 1);
  }
  return report;
}
