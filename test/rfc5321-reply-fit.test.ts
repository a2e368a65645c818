// core/reply-fit.ts against the replies real servers send (issue 12, item 5): none of them may
// trip the check, and each command's typical success reply, put in another command's place,
// is caught where its enhanced code says it cannot belong. The server lines are as the servers
// write them (Postfix, Exim, OpenSMTPD, sendmail, smtp-server, aiosmtpd, Gmail,
// Microsoft 365), parsed with ENHANCEDSTATUSCODES in force.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReplyParser, type Reply } from '../core/reply.ts';
import { misfit, type Step } from '../core/reply-fit.ts';

function reply(line: string): Reply {
  const parser = new ReplyParser();
  parser.enhancedCodes = true;
  let out: Reply | undefined;
  parser.push(new TextEncoder().encode(line + '\r\n'), (r) => {
    out = r;
  });
  return out!;
}

/** Success replies seen from real servers, per command. */
const REAL: Record<Step, string[]> = {
  MAIL: [
    '250 2.1.0 Ok', // Postfix
    '250 OK', // Exim, aiosmtpd (no enhanced codes)
    '250 2.0.0: Ok', // OpenSMTPD (the colon: not parsed as a code)
    '250 2.0.0 Ok', // a server that answers everything 2.0.0
    '250 2.1.0 <a@example.com>... Sender ok', // sendmail
    '250 2.1.0 Accepted', // smtp-server
    '250 2.1.0 Sender OK', // Microsoft 365
    '250 2.1.0 OK x1-20020a17090a - gsmtp', // Gmail
  ],
  RCPT: [
    '250 2.1.5 Ok', // Postfix
    '250 Accepted', // Exim
    '250 2.1.5 Destination address valid: Recipient ok', // OpenSMTPD
    '250 2.1.5 <b@example.com>... Recipient ok', // sendmail
    '250 2.1.5 Accepted', // smtp-server
    '251 2.1.5 User not local; will forward', // smtp-server's 251
    '250 2.1.5 Recipient OK', // Microsoft 365
    '250 2.1.5 OK x1-20020a17090a - gsmtp', // Gmail
    '250 2.0.0 Ok', // plausible
    '250 2.1.0 Ok', // plausible
  ],
  DATA: [
    '354 End data with <CR><LF>.<CR><LF>',
    '354 Enter message, ending with "." on a line by itself',
    '354 Start mail input; end with <CRLF>.<CRLF>',
  ],
  BDAT: [
    '250 2.0.0 Ok: 65536 bytes', // Postfix
    '250 65536 byte chunk, total 65536', // Exim
    '250 2.0.0 65536 bytes received', // plausible
  ],
  'end-of-data': [
    '250 2.0.0 Ok: queued as 4XyZ1', // Postfix
    '250 OK id=1xZ3CB-0003AK-1p', // Exim
    '250 2.0.0: 1b2c3d4e Message accepted for delivery', // OpenSMTPD
    '250 2.0.0 4AB1cdE Message accepted for delivery', // sendmail
    '250 2.6.0 OK: message queued', // smtp-server
    '250 2.6.0 <id@host> [InternalId=1, Hostname=X] Queued mail for delivery', // Microsoft 365
    '250 2.0.0 OK  1700000000 x1-20020a17090a - gsmtp', // Gmail
  ],
  RSET: ['250 2.0.0 Ok', '250 Reset OK', '250 2.0.0 Reset state', '250 2.1.5 Flushed x1-20020a17090a - gsmtp' /* Gmail */],
  NOOP: ['250 2.0.0 Ok', '250 OK', '250 2.0.0 OK x1 - gsmtp'],
};

test('no success reply a real server sends trips the check, for its own command', () => {
  for (const [step, lines] of Object.entries(REAL) as [Step, string[]][]) {
    for (const line of lines) assert.is(misfit(step, reply(line), true), undefined, `${step}: ${line}`);
  }
});

test('refusals are never a misfit (4xx and 5xx fit every command)', () => {
  for (const step of Object.keys(REAL) as Step[]) {
    for (const line of [
      '421 4.3.2 closing',
      '451 4.3.0 try later',
      '503 5.5.1 bad sequence',
      '550 5.1.1 no such user',
      '554 5.6.0 refused',
    ]) {
      assert.is(misfit(step, reply(line), true), undefined, `${step}: ${line}`);
    }
  }
});

test("a success reply in another command's place is caught where its enhanced code says so", () => {
  const caught: [Step, string][] = [
    ['end-of-data', '250 2.1.5 Ok'], // a RCPT's reply shifted onto the end of data (the case)
    ['end-of-data', '250 2.1.0 Ok'], // a MAIL's
    ['BDAT', '250 2.1.5 Recipient OK'],
    ['MAIL', '250 2.1.5 Ok'], // a RCPT's onto MAIL
    ['MAIL', '250 2.6.0 Queued'], // an end of data's onto MAIL
    ['RCPT', '250 2.6.0 Queued'], // an end of data's onto RCPT
  ];
  for (const [step, line] of caught) assert.type(misfit(step, reply(line), true), 'string', `${step}: ${line}`);
  // RFC 3463: the code's class must be the reply's (the parser already drops a code that is
  // not; reply-fit checks it all the same for a Reply made elsewhere).
  assert.type(misfit('RCPT', { code: 250, enhanced: '5.1.1', lines: ['odd'] }, true), 'string');
  // Without ENHANCEDSTATUSCODES the codes are not believed, so not checked.
  for (const [step, line] of caught) assert.is(misfit(step, reply(line), false), undefined, `${step}: ${line}`);
});

test('reply classes: only DATA gets an intermediate reply (354 only), and DATA never succeeds', () => {
  const steps: Step[] = ['MAIL', 'RCPT', 'DATA', 'BDAT', 'end-of-data', 'RSET', 'NOOP'];
  for (const step of steps) {
    for (const code of [334, 354, 300]) {
      const fits = step === 'DATA' && code === 354;
      assert.is(misfit(step, reply(`${code} go`), false) === undefined, fits, `${step} ${code}`);
    }
    assert.is(misfit(step, reply('250 ok'), false) === undefined, step !== 'DATA', `${step} 250`);
  }
});

test.run();
