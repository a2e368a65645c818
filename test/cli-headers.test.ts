// bin/headers.ts: the address lists sendmail -t reads, and the header edits (Bcc removal, added
// fields) on the header block only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addressList, editHead, fromField, headRecipients, readHead } from '../bin/headers.ts';

async function* chunks(text: string, size: number): AsyncGenerator<Uint8Array> {
  const b = Buffer.from(text, 'latin1');
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString('latin1');
}

test('addressList: display names, quoted commas, comments, groups, source routes', () => {
  assert.equal(addressList('a@example.com'), ['a@example.com']);
  assert.equal(addressList('Bob <bob@example.com>, "Carol, C." <carol@example.com>'), ['bob@example.com', 'carol@example.com']);
  assert.equal(addressList('dave@example.com (Dave, the (nested) one), eve@example.com'), ['dave@example.com', 'eve@example.com']);
  assert.equal(addressList('friends: a@x.example, B <b@x.example>;, c@x.example'), ['a@x.example', 'b@x.example', 'c@x.example']);
  assert.equal(addressList('undisclosed-recipients:;'), []);
  assert.equal(addressList('<@relay.example:joe@example.com>'), ['joe@example.com']);
  assert.equal(addressList('"john doe"@example.com'), ['"john doe"@example.com']);
  assert.equal(addressList(''), []);
  assert.throws(() => addressList('a@example.com b@example.com'), /cannot read an address/);
});

test('readHead + headRecipients: folded fields, CRLF or LF, body split at the first empty line, any chunking', async () => {
  const msg =
    'To: a@example.com,\r\n b@example.com\r\nCc: c@example.com\r\nBcc: d@example.com\r\nSubject: x\r\n\r\nTo: not@example.com\r\n';
  for (const size of [1, 2, 7, 1000]) {
    const { head, rest } = await readHead(chunks(msg, size));
    assert.equal(headRecipients(head), ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com']);
    assert.is(await collect(rest), 'To: not@example.com\r\n');
    const edited = editHead(head, { removeBcc: true, addDate: false, eol: '\r\n' }).toString('latin1');
    assert.is(edited, 'To: a@example.com,\r\n b@example.com\r\nCc: c@example.com\r\nSubject: x\r\n\r\n');
  }
});

test('readHead: a line that is not a header field ends the block (an empty line is put in its place); a leading From_ line is header', async () => {
  const cases: [string, string[], string, string][] = [
    // input, field names, separator, rest
    ['hello world\nBcc: x@example.com\n', [], '\n', 'hello world\nBcc: x@example.com\n'],
    ['To: a@example.com\r\nnot a field\r\nCc: b@example.com\r\n', ['to'], '\r\n', 'not a field\r\nCc: b@example.com\r\n'],
    ['Subject: x\n continued\n\tmore\nbody, no empty line', ['subject'], '\n', 'body, no empty line'],
    [
      'From me@example.com Thu Dec  3 17:00:00 2026\nTo: a@example.com\n\nbody\n',
      ['from me@example.com thu dec  3 17', 'to'],
      '\n',
      'body\n',
    ],
    [' leading space\nTo: a@example.com\n', [], '\n', ' leading space\nTo: a@example.com\n'],
    ['To: a@example.com\nSubject: only headers', ['to', 'subject'], '', ''],
    ['X-Odd-Name!#$ : v\n\nb', ['x-odd-name!#$'], '\n', 'b'],
  ];
  for (const [input, names, separator, rest] of cases) {
    for (const size of [1, 3, 1000]) {
      const h = await readHead(chunks(input, size));
      assert.equal(
        h.head.fields.map((f) => f.name),
        names,
        JSON.stringify(input),
      );
      assert.is(h.head.separator, separator, JSON.stringify(input));
      assert.is(await collect(h.rest), rest, JSON.stringify(input));
    }
  }
  // -t reads only the header: a To: after the first body line is not a recipient.
  const { head } = await readHead(chunks('To: a@example.com\nhello\nTo: b@example.com\n', 4));
  assert.equal(headRecipients(head), ['a@example.com']);
});

test('readHead: headerless input of any size streams as body; a header block over 1 MiB is a data error', async () => {
  async function* lines(n: number, head = ''): AsyncGenerator<Uint8Array> {
    if (head) yield Buffer.from(head);
    for (let i = 0; i < n; i++) yield Buffer.from(`log line ${i}: some text\n`.repeat(100));
  }
  const big = await readHead(lines(1000)); // ~2.4 MB, first line "log line 0: ..." is not a field (space in the name)
  assert.is(big.head.fields.length, 0);
  let total = 0;
  for await (const c of big.rest) total += c.length;
  assert.is(
    total,
    Buffer.byteLength('log line 0: some text\n') * 100 * 10 +
      Buffer.byteLength('log line 10: some text\n') * 100 * 90 +
      Buffer.byteLength('log line 100: some text\n') * 100 * 900,
  );
  const err = await readHead(
    (async function* () {
      for (let i = 0; i < 40_000; i++) yield Buffer.from(`X-Filler-${i}: ${'v'.repeat(40)}\n`);
    })(),
  ).catch((e: unknown) => e);
  assert.instance(err, Error);
  assert.match((err as Error).message, /header block is larger than 1048576 octets/);
  assert.is((err as { dataError?: boolean }).dataError, true);
});

test('headRecipients: the first Resent- block replaces To/Cc/Bcc', async () => {
  const { head } = await readHead(
    chunks(
      'Resent-To: r@example.com\nResent-Bcc: s@example.com\nResent-Date: x\nResent-Date: y\nResent-To: old@example.com\nTo: t@example.com\n\nbody\n',
      5,
    ),
  );
  assert.equal(headRecipients(head), ['r@example.com', 's@example.com']);
});

test('editHead: a folded Bcc goes entirely; From/Date/Message-ID added only when missing; no body', async () => {
  const { head } = await readHead(chunks('Bcc: a@example.com,\n\tb@example.com\nFrom: x@example.com\nSubject: s', 3));
  const out = editHead(head, {
    removeBcc: true,
    from: { value: 'y@example.com', mode: 'auto' },
    addDate: true,
    messageIdDomain: 'example.com',
    eol: '\n',
  }).toString('latin1');
  assert.match(out, /^Date: .*\nMessage-ID: <[^@]+@example\.com>\nFrom: x@example\.com\nSubject: s$/);
  const forced = editHead(head, { removeBcc: false, from: { value: 'y@example.com', mode: 'on' }, addDate: false, eol: '\n' }).toString(
    'latin1',
  );
  assert.is(forced, 'From: y@example.com\nBcc: a@example.com,\n\tb@example.com\nSubject: s');
});

test('fromField: plain, quoted and RFC 2047 names; control characters refused', () => {
  assert.is(fromField('a@example.com', undefined), 'a@example.com');
  assert.is(fromField('a@example.com', 'Ann Example'), 'Ann Example <a@example.com>');
  assert.is(fromField('a@example.com', 'Example, Ann "A"'), '"Example, Ann \\"A\\"" <a@example.com>');
  assert.is(fromField('a@example.com', 'Zoë'), '=?UTF-8?B?Wm/Dqw==?= <a@example.com>');
  assert.throws(() => fromField('a@example.com', 'x\r\nBcc: evil@example.com'), /control characters/);
});

test.run();
