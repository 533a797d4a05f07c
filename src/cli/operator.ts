import { parseArgs } from 'node:util';
import { passwordLine, tokenLine } from '../control-room/operators.js';
import type { Command } from './command.js';

const HELP = `Usage: halfweg operator NAME            (reads the password from stdin)
       halfweg operator NAME --token    (makes a random token)

Prints one line for the file http.operators names: the operator NAME with a scrypt hash of the
password, or with the SHA-256 of a new random token (the token itself goes to stderr, once: give
it to the operator). Append the line to the file and restart the agent:

  printf '%s' 'correct horse battery staple' | halfweg operator J.de.Vries >> /etc/halfweg/operators

The file holds no password or token, only hashes; keep it readable by the agent only anyway.`;

export const operatorCommand: Command = {
  name: 'operator',
  summary: 'print an operators-file line (password hash or new token) for the control-room page',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { token: { type: 'boolean', default: false } },
    });
    const name = positionals[0];
    if (positionals.length !== 1 || !name || !/^[\p{L}\p{N}_.@-]{1,64}$/u.test(name)) {
      io.stderr.write('halfweg operator: give one NAME of 1-64 letters, digits, "_", ".", "@" or "-"\n');
      return 2;
    }
    if (values.token) {
      const { token, line } = tokenLine(name);
      io.stderr.write(`token for ${name} (shown once): ${token}\n`);
      io.stdout.write(line + '\n');
      return 0;
    }
    let input = '';
    for await (const chunk of io.stdin) input += String(chunk);
    const password = input.replace(/\r?\n$/, '');
    if (password.length < 8) {
      io.stderr.write('halfweg operator: the password (stdin) must have at least 8 characters\n');
      return 2;
    }
    io.stdout.write((await passwordLine(name, password)) + '\n');
    return 0;
  },
};
