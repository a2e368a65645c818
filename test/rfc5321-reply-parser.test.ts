// The reply parser keeps the last few short single-line replies and hands the same frozen
// object out again when the same octets come back. These tests check that the shortcut never
// changes what is parsed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { ReplyParser, type Reply } from '../core/reply.ts';

const enc = new TextEncoder();

function parseAll(parser: ReplyParser, text: string): Reply[] {
  const out: Reply[] = [];
  parser.push(enc.encode(text), (r) => {
    out.push(r);
  });
  return out;
}

const plain = (r: Reply): unknown => ({ code: r.code, enhanced: r.enhanced, lines: [...r.lines] });

test('repeated replies parse exactly as fresh ones (2,000 runs over a small pool of lines)', () => {
  const pool = [
    '250 2.1.0 Ok',
    '250 2.1.5 Ok',
    '250 2.0.0 Ok: queued',
    '250 Ok',
    '250 2.1.5 Ok ',
    '251 2.1.5 Ok',
    '550 5.1.1 No such user',
    '250-first\r\n250 2.1.5 Ok',
    '250',
    '450 4.2.0 Try later',
    '250 2.1.0 Ok\u00e9',
  ];
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...pool), { minLength: 1, maxLength: 30 }), fc.boolean(), (lines, enhanced) => {
      const shared = new ReplyParser();
      shared.enhancedCodes = enhanced;
      const got = parseAll(shared, lines.map((l) => l + '\r\n').join(''));
      const expected = lines.flatMap((l) => {
        const fresh = new ReplyParser();
        fresh.enhancedCodes = enhanced;
        return parseAll(fresh, l + '\r\n');
      });
      assert.equal(got.map(plain), expected.map(plain));
    }),
    { numRuns: 2000 },
  );
});

test('the same octets parse differently once enhanced codes are switched on', () => {
  const parser = new ReplyParser();
  const [before] = parseAll(parser, '250 2.1.5 Ok\r\n');
  parser.enhancedCodes = true;
  const [after] = parseAll(parser, '250 2.1.5 Ok\r\n');
  assert.is(before!.enhanced, undefined);
  assert.equal(before!.lines, ['2.1.5 Ok']);
  assert.is(after!.enhanced, '2.1.5');
  assert.equal(after!.lines, ['Ok']);
});

test('a reused reply is frozen, so no caller can change what another caller sees', () => {
  const parser = new ReplyParser();
  const [a, b] = parseAll(parser, '250 Ok\r\n250 Ok\r\n');
  assert.is(a, b);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a!.lines));
  assert.throws(() => (a!.lines as string[]).push('x'));
});

test('reset() forgets remembered replies (nothing said before STARTTLS is reused after it)', () => {
  const parser = new ReplyParser();
  const [a] = parseAll(parser, '220 Ready\r\n');
  parser.reset();
  const [b] = parseAll(parser, '220 Ready\r\n');
  assert.is.not(a, b);
  assert.equal(plain(a!), plain(b!));
});

test.run();
