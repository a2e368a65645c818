// nodemailer + smtpwire/nodemailer against a real MTA: nodemailer's own documented message
// kinds (text + HTML, the attachment forms of its docs, an embedded image, DKIM signing) are
// built by nodemailer and sent through smtpwire's pool (STARTTLS, AUTH, pipelining). Each
// delivery must equal, byte for byte, what nodemailer built (less the MTA's trace header, with
// bare LFs as CRLF: see onTheWire); the
// DKIM-signed ones must verify as delivered with dkimpy and mailauth.
import { generateKeyPairSync } from 'node:crypto';
import nodemailer from 'nodemailer';
import { smtpwireTransport, type SmtpwireInfo } from '../../nodemailer/transport.ts';
import { teed } from '../nodemailer-tee.ts';
import { dkimpyMissing, txtRecord, verifyWithDkimpy, verifyWithMailauth } from '../dkim-verifiers.ts';

export interface NodemailerSuiteContext {
  readonly mta: string;
  readonly port: number;
  readonly ca: string;
  readonly user: string;
  readonly pass: string;
  /** A file to attach by path. */
  readonly attachPath: string;
  collect(ids: string[]): Promise<Map<string, { from: string; to: string[]; data: Buffer }[]>>;
  strip(data: Buffer): Buffer;
  ok(what: string, message?: boolean): void;
  bad(what: string, detail?: string): void;
}

let serial = 0;

export async function nodemailerSuite(cx: NodemailerSuiteContext): Promise<void> {
  const domain = 'nodemailer.smtpwire.test';
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const records = { [`nm._domainkey.${domain}`]: txtRecord(rsa.publicKey) };
  const built: Buffer[] = [];
  const transport = teed(
    smtpwireTransport({
      host: '127.0.0.1',
      port: cx.port,
      tls: 'required-starttls',
      ca: cx.ca,
      auth: { user: cx.user, pass: cx.pass },
      name: 'client.smtpwire.test',
      maxConnections: 2,
    }),
    built,
  );
  const mailer = nodemailer.createTransport(transport as never);
  const id = () => `nm-${cx.mta}-${++serial}-${Date.now()}`;
  const base = (subject: string) => ({
    from: '"Fred Foo 👻" <foo@client.smtpwire.test>',
    to: 'bob@example.test, carol@example.test',
    subject,
  });
  const dkim = { domainName: domain, keySelector: 'nm', privateKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  const mails = [
    { ...base('Hello ✔'), text: 'Hello world?', html: '<b>Hello world?</b>' },
    {
      ...base('attachments'),
      text: 'Attachments in every form the nodemailer docs list.',
      html: 'Embedded image: <img src="cid:unique@nodemailer.smtpwire.test"/>',
      attachments: [
        { filename: 'text1.txt', content: 'hello world!' },
        { filename: 'text2.txt', content: Buffer.from('hello world!', 'utf-8') },
        { filename: 'cert.pem', path: cx.attachPath },
        { path: cx.attachPath },
        { filename: 'text3.txt', content: 'aGVsbG8gd29ybGQh', encoding: 'base64' },
        { path: 'data:text/plain;base64,aGVsbG8gd29ybGQ=' },
        { raw: 'Content-Type: text/plain\r\nContent-Disposition: attachment;\r\n\r\nHello world!' },
        {
          filename: 'image.png',
          content: Buffer.from(
            'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
            'base64',
          ),
          cid: 'unique@nodemailer.smtpwire.test',
        },
      ],
    },
    { ...base('DKIM-signed ünïcödé'), text: 'Signed by nodemailer, sent by smtpwire.\n'.repeat(50), html: '<p>signed</p>', dkim },
    { ...base('DKIM-signed with attachment'), text: 'x', dkim, attachments: [{ filename: 'b.bin', content: Buffer.alloc(100_000, 7) }] },
  ].map((m) => ({ ...m, headers: { 'X-Smtpwire-Id': id() } }));

  const results = await Promise.all(
    mails.map((m) =>
      mailer.sendMail(m as never).then(
        (info) => info as unknown as SmtpwireInfo,
        (err: Error) => err,
      ),
    ),
  );
  mailer.close();
  const sentIds: string[] = [];
  results.forEach((r, i) => {
    const m = mails[i]!;
    if (r instanceof Error) return cx.bad(`nodemailer: send "${m.subject}"`, r.message);
    if (r.outcome !== 'accepted' || r.accepted.length !== 2 || !/^250 /.test(r.response) || !r.messageId) {
      return cx.bad(`nodemailer: info for "${m.subject}"`, JSON.stringify({ ...r, result: undefined }));
    }
    sentIds.push(m.headers['X-Smtpwire-Id']);
  });
  // built[] is in the order the transport saw them, which is not sendMail's order: match by id.
  const builtById = new Map(built.map((b) => [/^X-Smtpwire-Id: (\S+)\r$/im.exec(b.toString('latin1'))?.[1] ?? '', b]));
  const got = await cx.collect(sentIds);
  const signed: Buffer[] = [];
  for (const m of mails) {
    const mid = m.headers['X-Smtpwire-Id'];
    const want = builtById.get(mid);
    const ds = got.get(mid);
    if (!want || !ds) {
      cx.bad(`nodemailer: "${m.subject}" ${want ? 'never delivered' : 'never built'}`);
      continue;
    }
    const expected = onTheWire(want);
    const problems = ds.flatMap((d) => {
      const body = cx.strip(d.data);
      return body.equals(expected) ? [] : [`delivered ${body.length} octets != built ${expected.length}`];
    });
    if (
      ds
        .flatMap((d) => d.to)
        .sort()
        .join() !== 'bob@example.test,carol@example.test'
    )
      problems.push(`recipients ${ds.flatMap((d) => d.to).join()}`);
    if (problems.length) cx.bad(`nodemailer: "${m.subject}" byte for byte`, problems.join('\n'));
    else cx.ok(`nodemailer: "${m.subject}" delivered byte for byte as nodemailer built it`, true);
    if ('dkim' in m) signed.push(...ds.map((d) => d.data));
  }
  const missing = dkimpyMissing();
  if (missing) return cx.bad('nodemailer DKIM: dkimpy', missing);
  if (signed.length === 0) return cx.bad('nodemailer DKIM: nothing signed was delivered');
  const py = verifyWithDkimpy(signed, records);
  for (let i = 0; i < signed.length; i++) {
    const ma = await verifyWithMailauth(signed[i]!, records);
    for (const [who, v] of [
      ['dkimpy', py[i]!],
      ['mailauth', ma],
    ] as const) {
      if (v.results.length === 1 && v.results[0]) cx.ok(`nodemailer DKIM: ${who} verifies nodemailer's signature on delivery ${i}`);
      else cx.bad(`nodemailer DKIM: ${who} on delivery ${i}`, `${JSON.stringify(v.results)} ${v.errors.join('\n')}`);
    }
  }
  console.log(
    `  ${cx.mta}: nodemailer: ${sentIds.length}/${mails.length} sent, ${signed.length} DKIM-signed deliveries checked by dkimpy and mailauth`,
  );
}

/** What SMTP carries for these bytes, as nodemailer's own SMTP transport also sends them: a bare
 *  LF or CR becomes CRLF (nodemailer leaves the LFs of a 7bit text part as the user wrote them),
 *  and the message ends with a line break (nodemailer ends without one). */
function onTheWire(built: Buffer): Buffer {
  const text = built.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
  return Buffer.from(text.endsWith('\r\n') ? text : text + '\r\n', 'latin1');
}
