import { execFile } from 'node:child_process';

/**
 * systemd notifications without a native module: Node cannot open the unix datagram socket in
 * $NOTIFY_SOCKET itself, so each message goes through `systemd-notify` (the unit sets
 * NotifyAccess=all so systemd accepts a child's message). Everything here does nothing when
 * systemd is absent ($NOTIFY_SOCKET unset), so the same binary runs in a terminal, a container
 * or under another supervisor.
 */
export interface Notifier {
  readonly enabled: boolean;
  /** Watchdog period systemd expects pings within, or null without WatchdogSec. */
  readonly watchdogMs: number | null;
  ready(status?: string): Promise<void>;
  watchdog(): Promise<void>;
  stopping(): Promise<void>;
  reloading(): Promise<void>;
  status(text: string): Promise<void>;
}

export function createNotifier(env: NodeJS.ProcessEnv = process.env, command = 'systemd-notify'): Notifier {
  const enabled = Boolean(env['NOTIFY_SOCKET']);
  const usec = Number(env['WATCHDOG_USEC']);
  const pidOk = !env['WATCHDOG_PID'] || Number(env['WATCHDOG_PID']) === process.pid;
  const watchdogMs = enabled && pidOk && Number.isFinite(usec) && usec > 0 ? usec / 1000 : null;
  const send = (...args: string[]): Promise<void> =>
    enabled
      ? new Promise((resolve) => {
          // --pid attributes the message to the main process, not the short-lived child;
          // --no-block skips the BARRIER round trip (we never wait on systemd).
          execFile(command, ['--no-block', `--pid=${process.pid}`, ...args], { timeout: 5000 }, () => resolve());
        })
      : Promise.resolve();
  return {
    enabled,
    watchdogMs,
    ready: (status) => send('--ready', ...(status ? [`--status=${status}`] : [])),
    watchdog: () => send('WATCHDOG=1'),
    stopping: () => send('STOPPING=1'),
    reloading: () => send('RELOADING=1'),
    status: (text) => send(`--status=${text}`),
  };
}
