// One message with nodemailer, in a fresh process (see smtpwire-once.mjs): its plain SMTP
// transport, no pool, no TLS, the file's bytes as a raw message.
//   node bench/startup/nodemailer-once.mjs --port P --file F
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';

const arg = (name) => process.argv[process.argv.indexOf(`--${name}`) + 1];
const transport = nodemailer.createTransport({ host: '127.0.0.1', port: Number(arg('port')), secure: false, ignoreTLS: true });
const info = await transport.sendMail({
  envelope: { from: 'bench@example.org', to: ['sink@example.org'] },
  raw: readFileSync(arg('file')),
});
if (info.accepted.length !== 1) {
  process.stderr.write(`nodemailer-once: not accepted: ${JSON.stringify(info)}\n`);
  process.exitCode = 1;
}
