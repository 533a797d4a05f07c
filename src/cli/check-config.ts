import { parseArgs } from 'node:util';
import { loadSettings } from '../settings/load.js';
import { formatDuration } from '../settings/duration.js';
import { describeRequest, planDevice } from '../sources/modbus/request-plan.js';
import type { Command } from './command.js';

export const checkConfig: Command = {
  name: 'check-config',
  summary: 'validate a config, then print each device\'s points and the Modbus requests per cycle',
  help: `Usage: halfweg check-config FILE

Validates FILE and the device profiles it uses. On success prints, per device, its points and
the Modbus requests the agent will send each poll cycle; on failure prints every problem as
"file: path: reason" and exits with code 2.`,
  async run(argv, io) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
    if (positionals.length !== 1) {
      io.stderr.write('halfweg check-config: expected one config file\n');
      return 2;
    }
    const settings = await loadSettings(positionals[0]!);
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
          const extra = [p.unit && `[${p.unit}]`, p.scale !== 1 && `x${p.scale}`, p.offset !== 0 && `+${p.offset}`, p.writable && 'WRITABLE'].filter(Boolean).join(' ');
          out.push(`    ${p.name.padEnd(24)} ${p.table} ${String(p.address).padStart(5)} ${p.type}${p.type !== 'bool' ? ` ${p.order}` : ''} ${extra}`.trimEnd());
        }
        for (const r of g.requests) out.push(`    -> ${describeRequest(r)}`);
        total += g.requests.length;
      }
    }
    out.push('', `${total} request(s) per cycle over all devices and groups`);
    io.stdout.write(out.join('\n') + '\n');
    return 0;
  },
};
