/**
 * Child process for the crash tests: commits reading batches continuously and prints
 * `C <seq> <device> <ts>` after each commit resolves; a consumer reads from the cursor `consumer`
 * and prints `A <seq>` after each ack resolves. The parent SIGKILLs it at random instants.
 * The `audit` sink never acks, so nothing is deleted and every committed record must be found.
 *
 * Usage: node dist/test/store/crash-writer.js <dir> [sync-mode]
 */
import { LevelStore } from '../../src/store/level-store.js';
import { storeSchema } from '../../src/settings/schema.js';
import { silentLogger } from '../../src/ops/log.js';

const [dir, sync = 'every-batch'] = process.argv.slice(2);
const store = new LevelStore({
  dir: dir!,
  config: storeSchema().parse({
    sync,
    syncInterval: 50,
    sinks: { consumer: { types: ['readings', 'alarm'] }, audit: { types: ['readings', 'alarm'] } },
  }),
  log: silentLogger(),
});
await store.open();
const device = `w${process.pid}`;
let n = 0;
const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
out('READY');

async function producer(): Promise<never> {
  for (;;) {
    const ts = ++n;
    const batch = {
      device,
      ts,
      readings: Array.from({ length: 10 }, (_, i) => ({
        device,
        point: `p${i}`,
        value: ts + i / 10,
        ts,
        quality: 'good' as const,
      })),
    };
    const r = await store.commit(
      n % 50 === 0 ? { type: 'alarm', alarm: { kind: 'raised', device, ts } } : { type: 'readings', batch },
    );
    if (r.ok) out(`C ${r.seq} ${device} ${ts}`);
  }
}

async function consumer(): Promise<never> {
  for (;;) {
    const recs = await store.read('consumer', { maxRecords: 20 });
    const last = recs[recs.length - 1];
    if (last) out(`A ${await store.ack('consumer', last.seq)}`);
    else await new Promise((r) => setTimeout(r, 5));
  }
}

await Promise.all([producer(), producer(), producer(), consumer()]);
