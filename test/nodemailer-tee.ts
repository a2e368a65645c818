// Test helper: wraps smtpwire's nodemailer transport so a test keeps the exact bytes nodemailer
// built (DKIM signature included) for each message, to compare with what a server received.
import { Readable } from 'node:stream';
import type { NodemailerMail, SmtpwireNodemailerTransport } from '../nodemailer/transport.ts';

export function teed(inner: SmtpwireNodemailerTransport, built: Buffer[]): SmtpwireNodemailerTransport {
  return {
    ...inner,
    name: inner.name,
    version: inner.version,
    close: () => inner.close(),
    verify: (cb) => inner.verify(cb),
    isIdle: () => inner.isIdle(),
    send(mail: NodemailerMail, cb) {
      (async () => {
        const parts: Buffer[] = [];
        for await (const c of mail.message.createReadStream()) parts.push(Buffer.from(c as Uint8Array));
        const bytes = Buffer.concat(parts);
        built.push(bytes);
        const message = {
          getEnvelope: () => mail.message.getEnvelope(),
          messageId: () => mail.message.messageId(),
          createReadStream: () => Readable.from([bytes]),
        };
        inner.send({ ...mail, message }, cb);
      })().catch(cb);
    },
  };
}
