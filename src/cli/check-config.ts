import { parseArgs } from 'node:util';
import path from 'node:path';
import { loadSettings, type Settings } from '../settings/load.js';
import { formatDuration } from '../settings/duration.js';
import { resolveConfigPath } from '../settings/files.js';
import { describeRequest, planDevice } from '../sources/modbus/request-plan.js';
import { pointOptions } from '../alerts/options.js';
import { safeUrl } from '../sinks/mqtt/options.js';
import { Topics } from '../sinks/mqtt/topics.js';
import type { Limits } from '../settings/profile-schema.js';
import type { DetectOptions } from '../detect/options.js';
import type { Command } from './command.js';

/** `LL 2 L 4 H 14 HH 15, deadband 0.2`, or '' without limits. */
function describeLimits(l: Limits | undefined): string {
  if (!l) return '';
  const set = (['ll', 'l', 'h', 'hh'] as const).filter((k) => l[k] !== undefined).map((k) => `${k.toUpperCase()} ${l[k]}`);
  if (!set.length) return '';
  return `limits ${set.join(' ')}${l.deadband !== undefined ? `, deadband ${l.deadband}` : ''}`;
}

/** The sinks as the agent will run them: where, what, how secured; never a secret. */
function describeSinks(settings: Settings): string[] {
  const { config } = settings;
  const entries = Object.entries(config.sinks);
  if (!entries.length) return ['sinks: none (readings are stored, nothing is forwarded)'];
  const out = ['sinks:'];
  const baseDir = path.dirname(settings.file);
  const where = (f: string) => {
    const r = resolveConfigPath(f, baseDir);
    return 'path' in r && r.path !== f ? `${f} (${r.path})` : f;
  };
  for (const [name, s] of entries) {
    const topics = new Topics({ prefix: s.prefix, site: config.agent.site, agent: config.agent.id });
    out.push(`  ${name}: ${safeUrl(s.url)}, ${s.types.join(' > ')}, ${s.format}${s.format === 'binary' ? `/${s.compression}` : ''}, qos ${s.qos}, topics ${topics.base}/…`);
    const t = s.tls;
    if (t) out.push(`    tls: ${[t.ca && `ca ${where(t.ca)}`, t.cert && `cert ${where(t.cert)}`, t.key && `key ${where(t.key)}`, !t.rejectUnauthorized && 'SERVER CERTIFICATE NOT VERIFIED'].filter(Boolean).join(', ') || 'system CAs'}`);
    if (s.auth) {
      const a = s.auth;
      const source = a.passwordFile !== undefined ? `from ${where(a.passwordFile)}` : a.passwordEnv !== undefined ? `from $${a.passwordEnv}` : a.password !== undefined ? 'inline in the config' : 'none';
      out.push(`    auth: user ${a.username}, password ${source}`);
    }
    if (s.allowInsecure) out.push('    allowInsecure: plain MQTT allowed to a host that is not loopback');
    if (s.bandwidth !== undefined) out.push(`    bandwidth: ${s.bandwidth} bytes/s`);
  }
  return out;
}

function describeAlarms(settings: Settings): string[] {
  const a = settings.config.alarms;
  if (!a.enabled) return ['alarms: disabled (no detection, no alarm lifecycle)'];
  const p = a.priorities;
  const controlRoom = settings.config.sinks['controlRoom'];
  const commands = !a.commands.enabled
    ? 'commands disabled'
    : controlRoom
      ? `commands on ${new Topics({ prefix: controlRoom.prefix, site: settings.config.agent.site, agent: settings.config.agent.id }).base}/cmd/alarms`
      : 'commands: none (no controlRoom sink)';
  return [
    `alarms: chattering at ${a.chattering.count} in ${formatDuration(a.chattering.window)}; shelving ${formatDuration(a.shelve.default)} by default, at most ${formatDuration(a.shelve.max)}; ${commands}`,
    `  priorities: ${Object.entries(p.conditions).map(([c, v]) => `${c} ${v}`).join(', ')}; learned scores ${[p.learned.critical !== undefined && `>= ${p.learned.critical} critical`, p.learned.high !== undefined && `>= ${p.learned.high} high`, `>= ${p.learned.medium} medium`].filter(Boolean).join(', ')}, else low`,
    ...Object.entries(p.alarms).map(([id, v]) => `  ${id}: ${typeof v === 'string' ? v : Object.entries(v).map(([c, x]) => `${c} ${x}`).join(', ')}`),
  ];
}

export const checkConfig: Command = {
  name: 'check-config',
  summary: 'validate a config and everything it names; print devices, requests, limits, sinks and alarm settings',
  help: `Usage: halfweg check-config FILE

Validates FILE in one pass, as \`halfweg run\` would before polling: the schema, cross-references
(device names, profiles, groups, points), the device profiles, the files named by TLS and auth
settings (present and readable by this user; \$CREDENTIALS_DIRECTORY/… paths need that variable,
e.g. CREDENTIALS_DIRECTORY=/etc/halfweg/credentials), and plain MQTT to hosts that are not
loopback. On success prints, per device, its points with their limits and the Modbus requests the
agent will send each poll cycle, then the sinks and the alarm settings; on failure prints every
problem as "file: path: reason" and exits with code 2.`,
  async run(argv, io) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
    if (positionals.length !== 1) {
      io.stderr.write('halfweg check-config: expected one config file\n');
      return 2;
    }
    const settings = await loadSettings(positionals[0]!, { checkFiles: true });
    const { detect } = settings.config;
    const out: string[] = [`${settings.file}: valid (${settings.devices.length} device(s) to poll)`];
    let total = 0;
    for (const d of settings.devices) {
      const c = d.connection;
      const where = c.type === 'rtu' ? `rtu ${c.path} ${c.baudRate} ${c.dataBits}${c.parity[0]!.toUpperCase()}${c.stopBits}` : `${c.type} ${c.host}:${c.port}`;
      out.push('', `${d.name}  (${d.model}; ${where}; unit ${d.unitId}; timeout ${formatDuration(d.timeout)}, retries ${d.retries})`);
      for (const g of planDevice(d)) {
        const points = d.groups.find((x) => x.name === g.group)!.points;
        out.push(`  group ${g.group}: every ${formatDuration(g.interval)}, ${points.length} point(s), ${g.requests.length} request(s) per cycle`);
        for (const p of points) {
          const limits = describeLimits(pointOptions(detect as unknown as DetectOptions, d.name, p.name, { limits: p.limits, detect: p.detect }).limits);
          const extra = [p.unit && `[${p.unit}]`, p.scale !== 1 && `x${p.scale}`, p.offset !== 0 && `+${p.offset}`, p.writable && 'WRITABLE', limits].filter(Boolean).join(' ');
          out.push(`    ${p.name.padEnd(24)} ${p.table} ${String(p.address).padStart(5)} ${p.type}${p.type !== 'bool' ? ` ${p.order}` : ''} ${extra}`.trimEnd());
        }
        for (const r of g.requests) out.push(`    -> ${describeRequest(r)}`);
        total += g.requests.length;
      }
    }
    out.push('', `${total} request(s) per cycle over all devices and groups`, '', ...describeSinks(settings), '', ...describeAlarms(settings));
    for (const n of settings.notes) out.push(`note: ${n}`);
    io.stdout.write(out.join('\n') + '\n');
    return 0;
  },
};
