/**
 * Moving a dead worker's share to the living.
 *
 * On Mosquitto 2 a shared-subscription member with a persistent session keeps receiving its
 * round-robin share while it is down, queued in its session (measured: consumer.ts). So every
 * worker holds a lease in `<schema>.workers` and renews it every `after / 3`. Every `after / 2`
 * each worker looks for a lease of its group that has lapsed, takes it (one at a time, SKIP
 * LOCKED, so two rescuers never take the same), and opens the dead worker's sessions itself:
 * the broker hands it what it kept for them, and the dead worker's share from then on.
 *
 * The owner always wins: at start it writes its own lease whoever holds it, then connects with
 * its session ids, which makes the broker close the rescuer's connections (session taken over).
 * A rescued session never reconnects by itself: when its connection closes, for that or any
 * other reason, the rescue ends and the lease is given up, to be taken again at the next look
 * if the owner is still dead (a renewal that no longer finds the rescuer's name on the lease ends
 * it too). Otherwise rescuer and owner would take the session from each other in turn. Messages
 * the rescuer had not yet committed are re-sent to the owner; the (agent, seq) key drops repeats.
 * A graceful stop ends the worker's lease at once, so a worker scaled away is rescued at once.
 */
import type pg from 'pg';
import type { Logger } from '../ops/log.js';
import { quoteIdent } from './migrations.js';

export interface LeaseOptions {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly group: string;
  readonly worker: string;
  readonly connections: number;
  readonly leaseMs: number;
  readonly log: Logger;
}

/** Client ids of a worker's sessions: `<group>-<worker>-1` … `-<connections>`. */
export function sessionIds(group: string, worker: string, connections: number): string[] {
  if (worker === GUARD) return [`${group}-guard`];
  return Array.from({ length: connections }, (_, i) => `${group}-${worker}-${i + 1}`);
}

/**
 * The guard's lease name (worker names start with a letter or digit, so it cannot clash). The
 * guard is one persistent session with a plain, not shared, subscription to the batch topics,
 * held by one worker of the group like a rescued session. Why: Mosquitto 2.0 does not restore
 * shared subscriptions from its persistence after a restart (measured with 2.0.11: the sessions
 * come back, their `$share` subscriptions do not until the client subscribes again), so what
 * agents publish between the broker's start and the workers' re-subscription goes to no worker;
 * plain subscriptions are restored, so the guard's copy of it is there. The guard sees every
 * message a second time; the (agent, seq) key makes its copies duplicates, costing a decode and
 * an index probe per record. `mqtt.guard: false` turns it off on brokers that restore shared
 * subscriptions (EMQX, HiveMQ, VerneMQ).
 */
export const GUARD = '_guard';

export class Leases {
  private readonly s: string;

  constructor(private readonly o: LeaseOptions) {
    this.s = quoteIdent(o.schema);
  }

  /** Writes this worker's own lease, taking it back from a rescuer if one holds it. */
  async claimOwn(): Promise<void> {
    const { group, worker, connections, leaseMs } = this.o;
    await this.o.pool.query(
      `INSERT INTO ${this.s}.workers (grp, name, connections, holder, lease_until) VALUES ($1, $2, $3, $2, now() + $4 * interval '1 millisecond')
       ON CONFLICT (grp, name) DO UPDATE SET connections = EXCLUDED.connections, holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until, started_at = now()`,
      [group, worker, connections, leaseMs],
    );
  }

  /** Renews the own lease and those of `rescued`; returns the rescued names still held. */
  async renew(rescued: readonly string[]): Promise<string[]> {
    const r = await this.o.pool.query(
      `UPDATE ${this.s}.workers SET lease_until = now() + $4 * interval '1 millisecond', holder = CASE WHEN name = $2 THEN $2 ELSE holder END
       WHERE grp = $1 AND (name = $2 OR (name = ANY($3::text[]) AND holder = $2)) RETURNING name`,
      [this.o.group, this.o.worker, rescued, this.o.leaseMs],
    );
    return r.rows.map((x) => x.name as string).filter((n) => n !== this.o.worker);
  }

  /** Takes one lapsed lease of the group (dead workers' and/or the guard's), if there is one: its name and session count. */
  async takeLapsed(what: { workers: boolean; guard: boolean }): Promise<{ name: string; connections: number } | null> {
    const r = await this.o.pool.query(
      `UPDATE ${this.s}.workers w SET holder = $2, lease_until = now() + $3 * interval '1 millisecond'
       FROM (SELECT grp, name FROM ${this.s}.workers
             WHERE grp = $1 AND name <> $2 AND lease_until < now() AND (CASE WHEN name = $6 THEN $5::boolean ELSE $4::boolean END)
             ORDER BY lease_until LIMIT 1 FOR UPDATE SKIP LOCKED) dead
       WHERE w.grp = dead.grp AND w.name = dead.name RETURNING w.name, w.connections`,
      [this.o.group, this.o.worker, this.o.leaseMs, what.workers, what.guard, GUARD],
    );
    const row = r.rows[0];
    return row ? { name: row.name as string, connections: row.connections as number } : null;
  }

  /** Makes sure the guard's lease row exists (lapsed, so the first worker to look takes it). */
  async ensureGuard(): Promise<void> {
    await this.o.pool.query(
      `INSERT INTO ${this.s}.workers (grp, name, connections, holder, lease_until) VALUES ($1, $2, 1, '', now() - interval '1 second') ON CONFLICT (grp, name) DO NOTHING`,
      [this.o.group, GUARD],
    );
  }

  /** Gives a rescued lease up (its sessions are closed), so another worker may take it. */
  async giveUp(name: string): Promise<void> {
    await this.o.pool.query(
      `UPDATE ${this.s}.workers SET lease_until = now() WHERE grp = $1 AND name = $2 AND holder = $3`,
      [this.o.group, name, this.o.worker],
    );
  }

  /** Ends the own lease (graceful stop): living workers rescue the sessions at once. */
  async release(): Promise<void> {
    await this.o.pool.query(
      `UPDATE ${this.s}.workers SET lease_until = now() - interval '1 second' WHERE grp = $1 AND name = $2 AND holder = $2`,
      [this.o.group, this.o.worker],
    );
  }
}
