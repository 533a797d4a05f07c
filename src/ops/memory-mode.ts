/**
 * Imported first by the launcher (main.ts), before any other module allocates: how V8 trades
 * memory against CPU for a daemon on a small box (issue 15).
 *
 * `--optimize-for-size`: V8 sizes its heap for throughput. When the agent's live objects were
 * ~70 MB at 5,000 points, V8 kept ~160 MB of heap for them (RSS 200–255 MB); with this flag it
 * grows the heap in smaller steps and collects sooner (RSS 156 MB then, `npm run bench:peers --
 * --points 5000 --peers halfweg`).
 *
 * `--heap-growing-percent=50` once busy (20 while idle, below): with `--optimize-for-size` alone
 * V8 sets the old generation's next limit barely above what survived (~28 MB live, limit ~32 MB at
 * 5,000 points), so a full mark-compact of the whole heap ran every 5–6 s (`--trace-gc`), and the
 * collector's threads took two fifths of the agent's CPU (per-thread ticks from /proc). Letting the
 * heap grow by half of what survived, a traced run had 2 full collections instead of 10 in the
 * 44 s after start-up.
 * Alternating single runs at 5,000 points on one machine (`--halfweg-node=--heap-growing-percent=N`
 * against the build without it): CPU 1.95 / 2.29 / 2.67 % of a core against 2.97 / 3.07 / 3.32 %,
 * RSS about 6 MB higher (124 against 118 MB); 25 % saved about half as much CPU for 1.5 MB, 100 %
 * no more than 50 %. Side by side (bench/peers/HISTORY.md), the agent went from 1.21× Node-RED's
 * CPU at 5,000 points to 0.65×, three rounds each on one machine in one day. V8 reads the flag
 * whenever it recomputes the heap's limits, so setting it here, at run time, takes effect from
 * the first collection on.
 *
 * `--no-sparkplug`: no baseline-compiled machine code between the interpreter and TurboFan. The
 * agent's work is a few hot loops, which TurboFan optimises either way; Sparkplug's code for
 * everything merely warm (start-up, config, the once-a-second paths) cost the idle agent 1.4-1.6
 * MB of resident memory (idle agents side by side, ops endpoint on, one build with and without
 * the flag: 61.6-62.1 MB against 63.2-63.5 MB). Side by side after the detectors' warm-up
 * (`node dist/bench/peers.js --peers halfweg --warmup 330 --window 120`, with and without it, both
 * sizes at once) the CPU did not rise: 0.99 against 1.11 % of a core at 1,000 points, 3.36
 * against 3.32 % at 5,000.
 *
 * Idle until busy (ops/busy-mode.ts): the process starts without TurboFan and with the old
 * generation growing by a fifth (`--no-turbofan --heap-growing-percent=20`), and switches to
 * TurboFan and a half, for good, the first time it is busy (5 s at half a core, or a minute at
 * 1 % from 30 s after the start). Why:
 * - TurboFan, V8's optimising compiler, is several MB of the `node` binary's machine code,
 *   resident once it has compiled anything, and it compiles even in an idle agent: code that
 *   runs once a second gets hot after a few minutes, and what it compiles there saves nothing.
 *   An idle agent (one Modbus TCP device, 12 points, page on) measured 54.8-56.6 MB without it
 *   against 59.4-60.9 MB with it in its first 3.5 minutes, side by side, at the same CPU (0.55
 *   against 0.57 % of a core over a minute);
 * - an idle agent promotes ~14 KB/s to the old generation (`--trace-gc`: a scavenge every ~7 s),
 *   so with a half of ~10 MB to fill it went 5-6 minutes between full collections, its RSS
 *   rising by ~5 MB and falling back; a fifth costs a full collection (~20 ms) every two minutes
 *   or so. Idle agents side by side for 14 minutes with TurboFan: 59.5-63.0 (median 61.3) MB
 *   with 20 %, 59.3-65.3 (62.2) with 50 %, and 10 % no better than 20;
 * - a busy agent needs both (the detectors' loops at thousands of points a second, a backlog
 *   drain, `halfweg detect` over a file): see `--heap-growing-percent` above.
 *
 * All of these are set with v8.setFlagsFromString rather than on node's command line, so that every
 * way of starting the agent (`halfweg`, `npm start`, the systemd unit, `node dist/agent/main.js`)
 * runs with them. HALFWEG_V8_SPEED=1 leaves V8's defaults (to compare, or for a big machine);
 * this module reads the variable itself because it runs before the launcher's body (ES imports
 * are evaluated first).
 */
import v8 from 'node:v8';
import { startIdle } from './busy-mode.js';

if (process.env.HALFWEG_V8_SPEED !== '1') {
  v8.setFlagsFromString('--optimize-for-size --no-sparkplug');
  startIdle();
}
