#!/usr/bin/env node
// Peer driver: emailjs's SMTPClient, the way its docs send mail. emailjs composes every message
// itself (no raw mode), so the file's body goes as `text` under emailjs's own headers; it has
// no streaming text body, so the N = 1 file is read whole (inside the clock). Sends are issued
// at once; emailjs queues them and runs one transaction at a time (it has no PIPELINING).
// --nodelay turns off Nagle on emailjs's socket (emailjs has no option for it): stock emailjs
// writes the body and the final "." in separate small writes and then stalls on delayed ACKs
// (~40 ms a message on Linux loopback). The harness passes it, to give emailjs a fair shot.
//   node bench/peers/emailjs.mjs --host H --port P --n N --file F [--nodelay]
import { readFileSync } from 'node:fs';
import { SMTPClient } from 'emailjs';
import { packageVersion, parseArgs, report, splitMessage, startClock } from './common.mjs';

const args = parseArgs(process.argv.slice(2));
const load = () => splitMessage(readFileSync(args.file)).body.toString('latin1');
let text = args.n > 1 ? load() : undefined;

const stop = startClock();
const client = new SMTPClient({ host: args.host, port: args.port, ssl: false, tls: false, timeout: 120_000 });
if ('nodelay' in args) {
  const smtp = client.smtp;
  const connect = smtp.connect.bind(smtp);
  smtp.connect = (...a) => {
    connect(...a);
    smtp.sock?.setNoDelay(true);
  };
}
text ??= load();
const sends = [];
for (let i = 0; i < args.n; i++) {
  sends.push(client.sendAsync({ from: `<${args.from}>`, to: `<${args.to}>`, subject: 'smtpwire benchmark message', text }));
}
const results = await Promise.allSettled(sends);
const timed = stop();
client.smtp.quit();
const sent = results.filter((r) => r.status === 'fulfilled').length;
report({ client: 'emailjs', version: packageVersion('emailjs'), sent, ...timed, failed: args.n - sent });
const bad = results.find((r) => r.status === 'rejected');
if (bad) console.error(`emailjs: ${bad.reason?.message ?? bad.reason}`);
setTimeout(() => process.exit(sent === args.n ? 0 : 1), 20);
