import type { Logger } from './log.js';
import type { Notifier } from './sd-notify.js';

/**
 * Pings the systemd watchdog at half its period, but only while the agent is healthy: when polling
 * or the store is stuck the pings stop and systemd restarts the service. A blocked event loop
 * stops them by itself.
 */
export class Watchdog {
  private timer: NodeJS.Timeout | null = null;
  private failing = false;

  constructor(
    private readonly notifier: Notifier,
    private readonly health: () => { healthy: boolean; problems: readonly string[] },
    private readonly log: Logger,
  ) {}

  start(): void {
    const period = this.notifier.watchdogMs;
    if (!period || this.timer) return;
    this.timer = setInterval(() => this.beat(), Math.max(100, period / 2));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private beat(): void {
    const h = this.health();
    if (h.healthy) {
      if (this.failing) this.log.info('healthy again; watchdog pings resumed');
      this.failing = false;
      void this.notifier.watchdog();
    } else if (!this.failing) {
      this.failing = true;
      this.log.error(
        { code: 'HALFWEG_AGENT_STUCK', problems: h.problems },
        'agent is stuck; withholding watchdog pings so systemd restarts it',
      );
    }
  }
}
