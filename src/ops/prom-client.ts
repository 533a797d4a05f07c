/**
 * prom-client's metric classes, loaded from its own modules rather than from its index.
 *
 * The index (prom-client/index.js) also requires its Pushgateway (Node's http, https and zlib:
 * TLS and all of crypto), its cluster aggregator (cluster, and with it dgram) and its Summary
 * (tdigest, bintrees), none of which the agent or the ingest worker uses: 2.4 MB of resident
 * memory in a process that loads prom-client alone (49.3 against 51.8 MB), about 0.5 MB in the
 * idle agent, which needs http, crypto and zlib anyway (issue 15: idle RSS). The classes are the
 * same objects the index exports (it requires these very files), and their types are the
 * package's own (prom-client-lib.d.ts).
 */
import Counter from 'prom-client/lib/counter.js';
import collectDefaultMetrics from 'prom-client/lib/defaultMetrics.js';
import Gauge from 'prom-client/lib/gauge.js';
import Histogram from 'prom-client/lib/histogram.js';
import Registry from 'prom-client/lib/registry.js';

export { Counter, Gauge, Histogram, Registry, collectDefaultMetrics };
