// Measurement behind the decision to keep src/aggregate/cron-slots.ts (issue 20, item 6): previous
// and next runs in time zones, including DST days, against croner (which would replace it).
// Not part of `npm run bench` (the library is not a dependency). Reproduce:
//   npm run build && npm install --no-save croner@11.0.1 && node bench/compare/cron-vs-library.mjs
import { Cron } from 'croner';
const { compileCron, latestSlot, nextSlot } = await import(new URL('../../dist/src/aggregate/cron-slots.js', import.meta.url).href);
const exprs = ['5 0 * * *', '*/15 * * * *', '30 2 * * *', '0 1-3 * * 0', '0 0 13 * 5', '0 */6 * * 1-5', '59 23 31 12 *'];
const zones = ['UTC', 'Europe/Amsterdam', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata'];
// Instants: every 7 h 13 min through 2026, plus the hours around the 2026 DST changes.
const instants = [];
for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += (7 * 60 + 13) * 60_000) instants.push(t);
for (const day of [Date.UTC(2026, 2, 8), Date.UTC(2026, 2, 29), Date.UTC(2026, 3, 5), Date.UTC(2026, 9, 4), Date.UTC(2026, 9, 25), Date.UTC(2026, 10, 1)])
  for (let m = -600; m <= 1800; m += 17) instants.push(day + m * 60_000);
let n = 0, prevDiff = 0, nextDiff = 0; const examples = [];
for (const e of exprs) for (const tz of zones) {
  const spec = compileCron(e);
  const c = new Cron(e, { timezone: tz, domAndDow: true, paused: true });
  for (const t of instants) {
    n++;
    const ours = latestSlot(spec, tz, t);
    const theirs = c.previousRuns(1, new Date(t + 1))[0]?.getTime(); // ≤ t, as latestSlot
    if (ours !== theirs) { prevDiff++; if (examples.length < 6) examples.push(`prev ${e} ${tz} at ${new Date(t).toISOString()}: ours ${ours && new Date(ours).toISOString()} croner ${theirs && new Date(theirs).toISOString()}`); }
    const on = nextSlot(spec, tz, t);
    const tn = c.nextRun(new Date(t))?.getTime();
    if (on !== tn) { nextDiff++; if (examples.length < 12) examples.push(`next ${e} ${tz} after ${new Date(t).toISOString()}: ours ${on && new Date(on).toISOString()} croner ${tn && new Date(tn).toISOString()}`); }
  }
}
console.log(`${n} (expression, zone, instant) cases: previous run differs in ${prevDiff}, next run differs in ${nextDiff}`);
for (const x of examples) console.log('  ' + x);
function time(f) { const ts = []; for (let r = 0; r < 5; r++) { const t0 = process.hrtime.bigint(); f(); ts.push(Number(process.hrtime.bigint() - t0) / 1e6); } return ts.sort((a, b) => a - b)[2]; }
const spec = compileCron('5 0 * * *'); const c = new Cron('5 0 * * *', { timezone: 'Europe/Amsterdam', domAndDow: true, paused: true });
const probe = instants.slice(0, 1000);
console.log(`µs per previous-run lookup (5 0 * * *, Europe/Amsterdam, median of 5 x 1000): ours ${(time(() => probe.forEach((t) => latestSlot(spec, 'Europe/Amsterdam', t))) ).toFixed(1)}  croner ${(time(() => probe.forEach((t) => c.previousRuns(1, new Date(t + 1))))).toFixed(1)}`);
{
  // Which days do the differences fall on?
  const days = new Map();
  for (const e of exprs) for (const tz of zones) {
    const spec = compileCron(e); const c = new Cron(e, { timezone: tz, domAndDow: true, paused: true });
    for (const t of instants) {
      const a = latestSlot(spec, tz, t), b = c.previousRuns(1, new Date(t + 1))[0]?.getTime();
      const x = nextSlot(spec, tz, t), y = c.nextRun(new Date(t))?.getTime();
      if (a !== b || x !== y) { const k = `${tz} ${new Date(t).toISOString().slice(0, 10)}`; days.set(k, (days.get(k) ?? 0) + 1); }
    }
  }
  console.log('differences by zone and UTC day:', JSON.stringify(Object.fromEntries(days)));
}
