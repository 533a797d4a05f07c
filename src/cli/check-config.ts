import { parseArgs } from 'node:util';
import path from 'node:path';
import { JsonFileState } from '../aggregate/json-file-state.js';
import { loadSettings, type DeviceSpec } from '../settings/load.js';
import { formatDuration } from '../settings/duration.js';
import type { SerialDeviceSpec } from '../settings/serial-schema.js';
import { HOLES_FILE, holeCount, holesFor, holesKey, toForbidden, type LearntHoles } from '../sources/modbus/hole-memory.js';
import { describeRequest, planDevice } from '../sources/modbus/request-plan.js';
import type { Command } from './command.js';

export const checkConfig: Command = {
  name: 'check-config',
  summary: 'validate a config, then print each device: Modbus points and requests per cycle, serial framing, parser and points',
  help: `Usage: halfweg check-config FILE [--data-dir DIR]

Validates FILE and the device profiles it uses. On success prints, per Modbus device, its points
and the requests the agent will send each poll cycle, and per serial device its framing, parser,
checksum, poll mode and points; on failure prints every problem as "file: path: reason" and exits
with code 2.

Modbus plans split reads around the registers a device refuses (exception 02): the agent learns
these holes while polling and keeps them in the data directory. When it has learnt some for a
device (and the device's configuration has not changed since), the plan printed is the learnt
one; otherwise it is the plan before any hole is learnt, and the output says so.

Options:
  --data-dir DIR   where the agent keeps its state (default: agent.dataDir of FILE)`,
  async run(argv, io) {
    const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { 'data-dir': { type: 'string' } } });
    if (positionals.length !== 1) {
      io.stderr.write('halfweg check-config: expected one config file\n');
      return 2;
    }
    const settings = await loadSettings(positionals[0]!);
    const holesFile = path.join(path.resolve(values['data-dir'] ?? settings.config.agent.dataDir), HOLES_FILE);
    const learnt = new JsonFileState(holesFile);
    const out: string[] = [`${settings.file}: valid (${settings.devices.length} Modbus and ${settings.serialDevices.length} serial device(s) to poll)`];
    let total = 0;
    let unlearnt = 0;
    for (const d of settings.devices) {
      const holes = holesFor(d, await learnt.get(holesKey(d.name)).catch(() => undefined));
      if (!holes) unlearnt++;
      const { lines, requests } = modbusDevice(d, holes);
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
    io.stdout.write(out.join('\n') + '\n');
    return 0;
  },
};

function modbusDevice(d: DeviceSpec, holes: LearntHoles | null): { lines: string[]; requests: number } {
  const c = d.connection;
  const where = c.type === 'rtu' ? `rtu ${c.path} ${c.baudRate} ${c.dataBits}${c.parity[0]!.toUpperCase()}${c.stopBits}` : `${c.type} ${c.host}:${c.port}`;
  const lines = [`${d.name}  (${d.model}; ${where}; unit ${d.unitId}; timeout ${formatDuration(d.timeout)}, retries ${d.retries})`];
  if (holes) lines.push(`  plan with ${holeCount(holes)} exception hole(s) the agent learnt (last on ${new Date(holes.learntAt).toISOString()})`);
  let requests = 0;
  for (const g of planDevice(d, holes ? toForbidden(holes) : {})) {
    const points = d.groups.find((x) => x.name === g.group)!.points;
    lines.push(`  group ${g.group}: every ${formatDuration(g.interval)}, ${points.length} point(s), ${g.requests.length} request(s) per cycle`);
    for (const p of points) {
      const extra = [p.unit && `[${p.unit}]`, p.scale !== 1 && `x${p.scale}`, p.offset !== 0 && `+${p.offset}`, p.writable && 'WRITABLE'].filter(Boolean).join(' ');
      lines.push(`    ${p.name.padEnd(24)} ${p.table} ${String(p.address).padStart(5)} ${p.type}${p.type !== 'bool' ? ` ${p.order}` : ''} ${extra}`.trimEnd());
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
  const lines = [`${d.name}  (${d.model}; serial ${c.path} ${c.baudRate} ${c.dataBits}${c.parity[0]!.toUpperCase()}${c.stopBits})`];
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
  lines.push(`  checksum: ${k ? `${k.type}, ${k.encoding}${k.separator ? ` after ${show(k.separator)}` : ''}${k.skip ? `, skipping ${k.skip} byte(s)` : ''}` : 'none'}`);
  const m = d.mode;
  lines.push(
    m.type === 'polled'
      ? `  mode: polled every ${formatDuration(m.interval)}: sends ${show(m.command)}${m.appendChecksum ? ' + checksum' : ''}, waits ${formatDuration(m.timeout)} for the answer`
      : `  mode: streaming (the instrument talks on its own); a point is stale after ${formatDuration(m.staleAfter)} without a value`,
  );
  lines.push(`  ${d.points.length} point(s):`);
  for (const pt of d.points) {
    const source = pt.field !== null ? `field ${pt.field}` : `column ${pt.column}`;
    const extra = [pt.unit && `[${pt.unit}]`, pt.scale !== 1 && `x${pt.scale}`, pt.offset !== 0 && `+${pt.offset}`, pt.range && `range ${pt.range[0]}..${pt.range[1]}`].filter(Boolean).join(' ');
    lines.push(`    ${pt.name.padEnd(24)} ${source} ${extra}`.trimEnd());
  }
  return lines;
}
