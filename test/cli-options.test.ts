// bin/options.ts: how modules' option tables merge into the one table the CLI parses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mergeTables, parseArgsOptions, str, strs, usageLines } from '../bin/options.ts';
import { parseServerUrl } from '../bin/args.ts';

test('mergeTables: modules add flags; a name or short flag defined twice is a start-up error', () => {
  const a = { server: { type: 'string' as const, help: 'x' }, verbose: { type: 'boolean' as const, short: 'v', help: 'v' } };
  const b = { cc: { type: 'string' as const, multiple: true, arg: 'ADDR', group: 'message', help: 'a Cc recipient' } };
  const t = mergeTables([a, b]);
  assert.equal(Object.keys(t), ['server', 'verbose', 'cc']);
  assert.equal(parseArgsOptions(t).cc, { type: 'string', multiple: true });
  assert.equal(parseArgsOptions(t).verbose, { type: 'boolean', short: 'v' });
  assert.throws(() => mergeTables([a, { server: { type: 'string', help: 'again' } }]), /--server is defined twice/);
  assert.throws(() => mergeTables([a, { loud: { type: 'boolean', short: 'v', help: '' } }]), /-v is defined twice/);
  assert.equal(usageLines(t, 'message'), ['  --cc ADDR  a Cc recipient']);
});

test('str and strs: the last value of a flag, every value of a repeatable one', () => {
  assert.is(str({ a: ['x', 'y'] }, 'a'), 'y');
  assert.is(str({ a: 'x' }, 'a'), 'x');
  assert.is(str({}, 'a'), undefined);
  assert.equal(strs({ a: ['x', 'y'] }, 'a'), ['x', 'y']);
  assert.equal(strs({ a: 'x' }, 'a'), ['x']);
});

test('--server: credentials are refused, and never echoed when the URL does not parse', () => {
  const message = (text: string): string => {
    try {
      parseServerUrl(text);
    } catch (e) {
      assert.is((e as { code?: string }).code, 'EUSAGE', text);
      return (e as Error).message;
    }
    assert.unreachable(`${text}: accepted`);
    return '';
  };
  assert.match(message('smtp://u:topsecret@mail.example:587'), 'must not hold credentials');
  // An unescaped "/" in the password breaks the URL; the message used to show it whole.
  for (const text of ['smtp://u:top/secret@mail.example:587', 'smtps://u:top@secret@mail.example:99999']) {
    const said = message(text);
    assert.not.match(said, /top|secret/, said);
    assert.match(said, /--server is not a URL: "smtps?:\/\/\*\*\*@mail\.example/, said);
  }
  assert.equal(parseServerUrl('smtp://mail.example:2525'), { host: 'mail.example', port: 2525, tls: 'starttls' });
});

test.run();
