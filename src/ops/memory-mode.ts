/**
 * Imported first by the launcher (main.ts), before any other module allocates: tells V8 to favour
 * memory over speed, as a daemon on a small box should (issue 15).
 *
 * Why: V8 sizes its heap for throughput. Polling 5,000 points, the agent's live objects were
 * ~70 MB and V8 kept ~160 MB of heap for them (RSS 200–255 MB). With `--optimize-for-size` it
 * grows the heap in smaller steps and collects sooner: `npm run bench:peers -- --points 5000
 * --peers halfweg` measured RSS 156 MB instead of 200 MB, for a CPU cost within the run-to-run
 * noise (5.7 % vs 7.1 % of a core on the shared machine). Set at run time with
 * v8.setFlagsFromString, it still applies to the heap's growth (what matters here); flags fixed
 * when the heap is made (the young generation's size) would need node's command line instead,
 * which a user starting `node dist/src/main.js` or `halfweg` would not pass.
 * HALFWEG_V8_SPEED=1 leaves V8's defaults (to compare, or for a big machine); this module reads the
 * variable itself because it runs before the launcher's body (ES imports are evaluated first).
 */
import v8 from 'node:v8';

if (process.env.HALFWEG_V8_SPEED !== '1') v8.setFlagsFromString('--optimize-for-size');
