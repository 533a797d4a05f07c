import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/alerts/commands.js';

const ID = 'boiler-1/drum_pressure/limits';

describe('parseCommand', () => {
  it('accepts an acknowledgement with who and why', () => {
    const r = parseCommand(
      JSON.stringify({
        action: 'ack',
        id: ID,
        by: 'operator J. de Vries',
        comment: 'burner tripped',
        requestId: 'r-1',
      }),
      'agent-a',
    );
    expect(r).toEqual({
      ok: true,
      command: { action: 'ack', id: ID, by: 'operator J. de Vries', comment: 'burner tripped', requestId: 'r-1' },
    });
  });

  it('reads shelving periods as durations', () => {
    const r = parseCommand(Buffer.from(JSON.stringify({ action: 'shelve', id: ID, for: '30m', by: 'op' })), 'agent-a');
    expect(r.ok && r.command.action === 'shelve' && r.command.for).toBe(1_800_000);
    expect(parseCommand(JSON.stringify({ action: 'shelve', id: ID, for: 'forever' }), 'a')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^for: expected a duration/),
    });
  });

  it.each([
    ['not JSON', '{"action":"ack"', /^not JSON/],
    [
      'an unknown action',
      '{"action":"silence","id":"a/b/limits"}',
      /^unknown action "silence"; expected one of ack, shelve/,
    ],
    ['a missing id', '{"action":"ack","by":"op"}', /^id: /],
    ['a malformed id', '{"action":"ack","id":"drum_pressure"}', /expected an alarm id/],
    ['an unknown field', `{"action":"ack","id":"${ID}","commnet":"typo"}`, /commnet/],
    [
      'another agent',
      `{"action":"ack","id":"${ID}","agent":"agent-b"}`,
      /^addressed to agent "agent-b", this is "agent-a"$/,
    ],
    ['a JSON array', '[1,2]', /./],
  ])('refuses %s with a reason', (_what, payload, reason) => {
    const r = parseCommand(payload, 'agent-a');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('echoes what it could read of a refused command', () => {
    expect(parseCommand('{"action":"silence","id":"a/b/c","requestId":7}', 'x')).toMatchObject({
      ok: false,
      requestId: 7,
      action: 'silence',
      id: 'a/b/c',
    });
  });
});
