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
 * its session ids, which makes the broker close the rescuer's connections (reason 0x8E, session
 * taken over). The rescuer stops that rescue when it sees either (the takeover, or a renewal that
 * no longer finds its name on the lease) and never reconnects those sessions. Messages the
 * rescuer had not yet committed are re-sent to the owner; the (agent, seq) key drops repeats.
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
  return Array.from({ length: connections }, (_, i) => `${group}-${worker}-${i + 1}`);
}

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

  /** Takes one lapsed lease of the group, if there is one: its worker name and session count. */
  async takeLapsed(): Promise<{ name: string; connections: number } | null> {
    const r = await this.o.pool.query(
      `UPDATE ${this.s}.workers w SET holder = $2, lease_until = now() + $3 * interval '1 millisecond'
       FROM (SELECT grp, name FROM ${this.s}.workers WHERE grp = $1 AND name <> $2 AND lease_until < now() ORDER BY lease_until LIMIT 1 FOR UPDATE SKIP LOCKED) dead
       WHERE w.grp = dead.grp AND w.name = dead.name RETURNING w.name, w.connections`,
      [this.o.group, this.o.worker, this.o.leaseMs],
    );
    const row = r.rows[0];
    return row ? { name: row.name as string, connections: row.connections as number } : null;
  }

  /** Gives a rescued lease up (its sessions are closed), so another worker may take it. */
  async giveUp(name: string): Promise<void> {
    await this.o.pool.query(`UPDATE ${this.s}.workers SET lease_until = now() WHERE grp = $1 AND name = $2 AND holder = $3`, [this.o.group, name, this.o.worker]);
  }

  /** Ends the own lease (graceful stop): living workers rescue the sessions at once. */
  async release(): Promise<void> {
    await this.o.pool.query(`UPDATE ${this.s}.workers SET lease_until = now() - interval '1 second' WHERE grp = $1 AND name = $2 AND holder = $2`, [this.o.group, this.o.worker]);
  }
}
