import { parseArgs } from 'node:util';
import path from 'node:path';
import { JsonFileState } from '../store/json-file-state.js';
import { loadSettings, type DeviceSpec, type Settings } from '../settings/load.js';
import { formatDuration } from '../settings/duration.js';
import { resolveConfigPath } from '../settings/files.js';
import { forwardedTypes } from '../settings/sink-schema.js';
import type { SerialDeviceSpec } from '../settings/serial-schema.js';
import {
  HOLES_FILE,
  holeCount,
  holesFor,
  holesKey,
  toForbidden,
  type LearntHoles,
} from '../sources/modbus/hole-memory.js';
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
  const set = (['ll', 'l', 'h', 'hh'] as const)
    .filter((k) => l[k] !== undefined)
    .map((k) => `${k.toUpperCase()} ${l[k]}`);
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
    if (s.format === 'sparkplug') {
      const sp = s.sparkplug;
      out.push(
        `  ${name}: ${safeUrl(s.url)}, ${forwardedTypes(s).join(' > ')}, Sparkplug B edge node spBv1.0/${sp.groupId ?? config.agent.site}/…/${sp.edgeNodeId ?? config.agent.id}, ` +
          (sp.primaryHost
            ? `births while host ${sp.primaryHost} is online`
            : 'no primary host (births at every connect)'),
      );
    } else {
      out.push(
        `  ${name}: ${safeUrl(s.url)}, ${s.types.join(' > ')}, ${s.format}${s.format === 'binary' ? `/${s.compression}` : s.format === 'json' && s.jsonStyle === 'plain' ? ' (plain)' : ''}, qos ${s.qos}, topics ${topics.base}/…`,
      );
    }
    const t = s.tls;
    if (t)
      out.push(
        `    tls: ${[t.ca && `ca ${where(t.ca)}`, t.cert && `cert ${where(t.cert)}`, t.key && `key ${where(t.key)}`, !t.rejectUnauthorized && 'SERVER CERTIFICATE NOT VERIFIED'].filter(Boolean).join(', ') || 'system CAs'}`,
      );
    if (s.auth) {
      const a = s.auth;
      const source =
        a.passwordFile !== undefined
          ? `from ${where(a.passwordFile)}`
          : a.passwordEnv !== undefined
            ? `from $${a.passwordEnv}`
            : a.password !== undefined
              ? 'inline in the config'
              : 'none';
      out.push(`    auth: user ${a.username}, password ${source}`);
    }
    if (s.allowInsecure) out.push('    allowInsecure: plain MQTT allowed to a host that is not loopback');
    if (s.bandwidth !== undefined) out.push(`    bandwidth: ${s.bandwidth} bytes/s`);
  }
  return out;
}

function describeWrites(settings: Settings): string[] {
  const w = settings.config.writes;
  const writable = settings.devices.flatMap((d) =>
    d.groups.flatMap((g) => g.points.filter((p) => p.writable).map((p) => `${d.name}/${p.name}`)),
  );
  if (!w.enabled)
    return [
      `writes: off (writes.enabled: false)${writable.length ? `; ${writable.length} point(s) declared writable stay read-only` : ''}`,
    ];
  const controlRoom = settings.config.sinks['controlRoom'];
  const where = controlRoom
    ? `commands on ${new Topics({ prefix: controlRoom.prefix, site: settings.config.agent.site, agent: settings.config.agent.id }).base}/cmd/write`
    : 'no controlRoom sink for JSON commands';
  return [
    `writes: ON for ${w.operators.map((o) => JSON.stringify(o)).join(', ')}; ${where}; writable: ${writable.join(', ') || 'none'}`,
  ];
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
    `  priorities: ${Object.entries(p.conditions)
      .map(([c, v]) => `${c} ${v}`)
      .join(
        ', ',
      )}; learned scores ${[p.learned.critical !== undefined && `>= ${p.learned.critical} critical`, p.learned.high !== undefined && `>= ${p.learned.high} high`, `>= ${p.learned.medium} medium`].filter(Boolean).join(', ')}, else low`,
    ...Object.entries(p.alarms).map(
      ([id, v]) =>
        `  ${id}: ${
          typeof v === 'string'
            ? v
            : Object.entries(v)
                .map(([c, x]) => `${c} ${x}`)
                .join(', ')
        }`,
    ),
  ];
}

export const checkConfig: Command = {
  name: 'check-config',
  summary: 'validate a config and everything it names; print devices, requests, limits, sinks and alarm settings',
  help: `Usage: halfweg check-config FILE [--data-dir DIR]

Validates FILE in one pass, as \`halfweg run\` would before polling: the schema, cross-references
(device names, profiles, groups, points), the device profiles, the files named by TLS and auth
settings (present and readable by this user; $CREDENTIALS_DIRECTORY/… paths need that variable,
e.g. CREDENTIALS_DIRECTORY=/etc/halfweg/credentials), and plain MQTT to hosts that are not
loopback. On success prints, per Modbus device, its points with their limits and the requests the
agent will send each poll cycle, per serial device its framing, parser, checksum, poll mode and
points, then the sinks and the alarm settings; on failure prints every problem as
"file: path: reason" and exits with code 2.

Modbus plans split reads around the registers a device refuses (exception 02): the agent learns
these holes while polling and keeps them in the data directory. When it has learnt some for a
device (and the device's configuration has not changed since), the plan printed is the learnt
one; otherwise it is the plan before any hole is learnt, and the output says so.

Options:
  --data-dir DIR   where the agent keeps its state (default: agent.dataDir of FILE)`,
  async run(argv, io) {
    const { positionals, values } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { 'data-dir': { type: 'string' } },
    });
    if (positionals.length !== 1) {
      io.stderr.write('halfweg check-config: expected one config file\n');
      return 2;
    }
    const settings = await loadSettings(positionals[0]!, { checkFiles: true });
    const detect = settings.config.detect;
    const holesFile = path.join(path.resolve(values['data-dir'] ?? settings.config.agent.dataDir), HOLES_FILE);
    const learnt = new JsonFileState(holesFile);
    const out: string[] = [
      `${settings.file}: valid (${settings.devices.length} Modbus and ${settings.serialDevices.length} serial device(s) to poll)`,
    ];
    let total = 0;
    let unlearnt = 0;
    for (const d of settings.devices) {
      const holes = holesFor(d, await learnt.get(holesKey(d.name)).catch(() => undefined));
      if (!holes) unlearnt++;
      const { lines, requests } = modbusDevice(d, holes, detect);
      out.push('', ...lines);
      total += requests;
    }
    for (const d of settings.serialDevices) out.push('', ...serialDevice(d));
    if (settings.devices.length) {
      out.push('', `${total} Modbus request(s) per cycle over all devices and groups`);
      if (unlearnt) {
        out.push(
          `${unlearnt === settings.devices.length ? 'Plans are' : `${unlearnt} plan(s) are`} as configured, before any exception holes are learnt (none recorded in ${holesFile}):`,
          'the agent splits reads around registers a device refuses (exception 02), remembers them there, and then sends fewer failing reads.',
        );
      }
    }
    out.push('', ...describeSinks(settings), '', ...describeAlarms(settings), ...describeWrites(settings));
    for (const n of settings.notes) out.push(`note: ${n}`);
    io.stdout.write(out.join('\n') + '\n');
    return 0;
  },
};

function modbusDevice(
  d: DeviceSpec,
  holes: LearntHoles | null,
  detect: DetectOptions,
): { lines: string[]; requests: number } {
  const c = d.connection;
  const where =
    c.type === 'rtu'
      ? `rtu ${c.path} ${c.baudRate} ${c.dataBits}${c.parity[0]!.toUpperCase()}${c.stopBits}`
      : `${c.type} ${c.host}:${c.port}`;
  const lines = [
    `${d.name}  (${d.model}; ${where}; unit ${d.unitId}; timeout ${formatDuration(d.timeout)}, retries ${d.retries})`,
  ];
  if (holes)
    lines.push(
      `  plan with ${holeCount(holes)} exception hole(s) the agent learnt (last on ${new Date(holes.learntAt).toISOString()})`,
    );
  let requests = 0;
  for (const g of planDevice(d, holes ? toForbidden(holes) : {})) {
    const points = d.groups.find((x) => x.name === g.group)!.points;
    lines.push(
      `  group ${g.group}: every ${formatDuration(g.interval)}, ${points.length} point(s), ${g.requests.length} request(s) per cycle`,
    );
    for (const p of points) {
      const limits = describeLimits(
        pointOptions(detect, d.name, p.name, { limits: p.limits, detect: p.detect }).limits,
      );
      const extra = [
        p.unit && `[${p.unit}]`,
        p.scale !== 1 && `x${p.scale}`,
        p.offset !== 0 && `+${p.offset}`,
        p.writable && 'WRITABLE',
        limits,
      ]
        .filter(Boolean)
        .join(' ');
      lines.push(
        `    ${p.name.padEnd(24)} ${p.table} ${String(p.address).padStart(5)} ${p.type}${p.type !== 'bool' ? ` ${p.order}` : ''} ${extra}`.trimEnd(),
      );
    }
    for (const r of g.requests) lines.push(`    -> ${describeRequest(r)}`);
    requests += g.requests.length;
  }
  return { lines, requests };
}

/** Bytes as the profile writes them: "\r\n", "\u0002". */
const show = (bytes: string) => JSON.stringify(bytes);

function serialDevice(d: SerialDeviceSpec): string[] {
  const c = d.connection;
  const lines = [
    `${d.name}  (${d.model}; serial ${c.path} ${c.baudRate} ${c.dataBits}${c.parity[0]!.toUpperCase()}${c.stopBits})`,
  ];
  const f = d.framing;
  lines.push(
    `  framing: ${
      f.type === 'line'
        ? `lines ending in ${show(f.delimiter)}, at most ${f.maxLength} bytes`
        : f.type === 'stx-etx'
          ? `${show(f.stx)} … ${show(f.etx)}${f.trailer ? ` + ${f.trailer} trailer byte(s)` : ''}, at most ${f.maxLength} bytes`
          : `fixed ${f.length} bytes${f.start ? `, starting with ${show(f.start)}` : ''}`
    }`,
  );
  const p = d.parser;
  lines.push(
    `  parser: ${
      p.type === 'key-value'
        ? `key-value, pairs split by ${show(p.pairSeparator)}, key and value by ${show(p.kvSeparator)}`
        : p.type === 'regex'
          ? `regex /${p.pattern}/${p.flags}`
          : p.type === 'csv'
            ? `csv split by ${show(p.separator)}${p.columns ? `, columns ${p.columns.join(', ')}` : ''}`
            : 'json'
    }`,
  );
  const k = d.checksum;
  lines.push(
    `  checksum: ${k ? `${k.type}, ${k.encoding}${k.separator ? ` after ${show(k.separator)}` : ''}${k.skip ? `, skipping ${k.skip} byte(s)` : ''}` : 'none'}`,
  );
  const m = d.mode;
  lines.push(
    m.type === 'polled'
      ? `  mode: polled every ${formatDuration(m.interval)}: sends ${show(m.command)}${m.appendChecksum ? ' + checksum' : ''}, waits ${formatDuration(m.timeout)} for the answer`
      : `  mode: streaming (the instrument talks on its own); a point is stale after ${formatDuration(m.staleAfter)} without a value`,
  );
  lines.push(`  ${d.points.length} point(s):`);
  for (const pt of d.points) {
    const source = pt.field !== null ? `field ${pt.field}` : `column ${pt.column}`;
    const extra = [
      pt.unit && `[${pt.unit}]`,
      pt.scale !== 1 && `x${pt.scale}`,
      pt.offset !== 0 && `+${pt.offset}`,
      pt.range && `range ${pt.range[0]}..${pt.range[1]}`,
    ]
      .filter(Boolean)
      .join(' ');
    lines.push(`    ${pt.name.padEnd(24)} ${source} ${extra}`.trimEnd());
  }
  return lines;
}
