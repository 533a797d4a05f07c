/** The run's report: one row per scenario on stdout, every invariant's detail in a JSON file. */
import { writeFileSync } from 'node:fs';
import type { Verdict } from './judge.js';

export function table(verdicts: readonly Verdict[]): string {
  const head = [
    'scenario',
    'result',
    'produced',
    'committed',
    'delivered',
    'dup',
    'dropped',
    'pending',
    'faults',
    'recovery max/med ms',
    'peak RSS MB',
    'RSS growth MB',
    'heap growth MB',
    'fds before/after',
    's',
  ];
  const rows = verdicts.map((v) => {
    const f = v.figures;
    const dropped = Object.values(f.droppedReadings).reduce((a, b) => a + b, 0);
    return [
      v.scenario,
      v.ok ? 'PASS' : 'FAIL',
      String(f.producedReadings),
      String(f.committedReadings),
      String(f.deliveredReadings),
      String(f.duplicateReadings),
      String(dropped),
      String(f.pendingReadings),
      String(f.faults),
      `${f.recoveryMs.max ?? '-'}/${f.recoveryMs.median ?? '-'}`,
      String(f.peakRssMb),
      f.rssGrowthMb === null ? '-' : String(f.rssGrowthMb),
      f.heapGrowthMb === null ? '-' : String(f.heapGrowthMb),
      `${f.fdsBefore}/${f.fdsAfter}`,
      String(f.seconds),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ''];
  for (const v of verdicts) {
    out.push(`${v.scenario}:`);
    for (const i of v.invariants) out.push(`  ${i.ok ? 'ok  ' : 'FAIL'} ${i.name}: ${i.detail}`);
  }
  return out.join('\n') + '\n';
}

export function writeJson(file: string, verdicts: readonly Verdict[], meta: Record<string, unknown>): void {
  writeFileSync(
    file,
    JSON.stringify({ ...meta, ok: verdicts.every((v) => v.ok), scenarios: verdicts }, null, 2) + '\n',
  );
}
