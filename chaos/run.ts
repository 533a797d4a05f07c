/**
 * `npm run chaos [-- --scenario NAME[,NAME…]] [--short] [--kills N] [--soak-minutes N] [--out FILE]`
 *
 * Runs the whole-agent fault-tolerance scenarios (chaos/scenarios.ts) one after another, each in
 * a fresh world, and prints the report (also written as JSON, default chaos-report.json).
 * Exit code 0 when every invariant of every scenario held.
 */
import { parseArgs } from 'node:util';
import { scenarios } from './scenarios.js';
import { table, writeJson } from './report.js';
import type { Verdict } from './judge.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string' },
      short: { type: 'boolean', default: false },
      kills: { type: 'string' },
      'soak-minutes': { type: 'string' },
      out: { type: 'string', default: 'chaos-report.json' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      `npm run chaos -- [--scenario ${scenarios.map((s) => s.name).join('|')}[,…]] [--short] [--kills N] [--soak-minutes N] [--out FILE]\n`,
    );
    for (const s of scenarios) process.stdout.write(`  ${s.name.padEnd(11)} ${s.summary}\n`);
    return 0;
  }
  const names = values.scenario ? values.scenario.split(',') : scenarios.map((s) => s.name);
  const unknown = names.filter((n) => !scenarios.some((s) => s.name === n));
  if (unknown.length) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}; try --help\n`);
    return 2;
  }
  const opts = {
    short: values.short,
    kills: values.kills ? Number(values.kills) : undefined,
    soakMinutes: values['soak-minutes'] ? Number(values['soak-minutes']) : undefined,
    log: (l: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${l}\n`),
  };
  const verdicts: Verdict[] = [];
  const started = new Date().toISOString();
  for (const name of names) {
    const s = scenarios.find((x) => x.name === name)!;
    opts.log(`${name}: ${s.summary}`);
    try {
      verdicts.push(await s.run(opts));
    } catch (err) {
      opts.log(`${name}: could not run: ${(err as Error).stack ?? String(err)}`);
      verdicts.push({
        scenario: name,
        ok: false,
        invariants: [{ name: 'ran', ok: false, detail: (err as Error).message }],
        figures: {
          producedReadings: 0,
          committedReadings: 0,
          deliveredReadings: 0,
          duplicateReadings: 0,
          duplicateRecords: 0,
          droppedReadings: {},
          pendingReadings: 0,
          faults: 0,
          recoveryMs: { max: null, median: null, count: 0 },
          peakRssMb: 0,
          rssGrowthMb: null,
          heapGrowthMb: null,
          memorySeries: [],
          fdsBefore: 0,
          fdsAfter: 0,
          identitySamples: 0,
          agentStarts: 0,
          seconds: 0,
        },
      });
    }
    opts.log(`${name}: ${verdicts.at(-1)!.ok ? 'PASS' : 'FAIL'}`);
  }
  process.stdout.write(table(verdicts));
  writeJson(values.out, verdicts, {
    started,
    finished: new Date().toISOString(),
    options: { ...opts, log: undefined },
    host: { cpus: (await import('node:os')).cpus().length },
  });
  process.stdout.write(`report: ${values.out}\n`);
  return verdicts.every((v) => v.ok) ? 0 : 1;
}

main().then((c) => process.exit(c));
