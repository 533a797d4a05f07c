/**
 * Preloaded into the agent for the clock-jump scenario (`node --import dist/chaos/clock-shift.js`):
 * moves the JavaScript wall clock (Date.now, new Date()) by the offset in milliseconds written in
 * the file named by HALFWEG_CHAOS_CLOCK_FILE, re-read on SIGUSR2. Monotonic clocks
 * (performance.now, process.hrtime) are left alone, as a real wall-clock jump leaves them.
 *
 * Why not the real thing: moving the machine's clock (`date -s`) would move it for everyone on
 * this host; a time namespace (`unshare --time`) only offsets the monotonic and boot clocks, not
 * CLOCK_REALTIME; libfaketime is not installed. Native code (LevelDB) never reads the wall clock.
 */
import { readFileSync } from 'node:fs';

const file = process.env['HALFWEG_CHAOS_CLOCK_FILE'];
if (file) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  let offset = 0;
  const load = () => {
    try {
      offset = Number(readFileSync(file, 'utf8').trim()) || 0;
    } catch {
      offset = 0;
    }
  };
  load();
  process.on('SIGUSR2', load);
  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(realNow() + offset);
      else super(...(args as [string]));
    }
    static override now(): number {
      return realNow() + offset;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
}
