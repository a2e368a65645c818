// bin/options.ts: how modules' option tables merge into the one table the CLI parses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mergeTables, parseArgsOptions, str, strs, usageLines } from '../bin/options.ts';

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

test.run();
