#!/usr/bin/env node
// Peer driver: nodemailer's pooled SMTP transport, tuned as its docs allow: pool: true, one
// long-lived connection (maxConnections 1 by default here; --max-connections N to use more),
// maxMessages Infinity (no reconnect every 100 messages), no TLS probing, no logging. The file
// goes as `raw` (sent verbatim, no re-composition): the bytes for N > 1, {path} (streamed by
// nodemailer) for N = 1. All sends are issued at once; the pool queues them.
//   node bench/peers/nodemailer.mjs --host H --port P --n N --file F [--max-connections C]
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { packageVersion, parseArgs, report, startClock } from './common.mjs';

const args = parseArgs(process.argv.slice(2));
const maxConnections = Number(args['max-connections'] ?? 1);
const whole = args.n > 1 ? readFileSync(args.file) : undefined;

const stop = startClock();
const transport = nodemailer.createTransport({
  pool: true,
  maxConnections,
  maxMessages: Infinity,
  host: args.host,
  port: args.port,
  secure: false,
  ignoreTLS: true,
  logger: false,
  debug: false,
});
const envelope = { from: args.from, to: [args.to] };
const sends = [];
for (let i = 0; i < args.n; i++) {
  sends.push(transport.sendMail({ envelope, raw: whole ?? { path: args.file } }));
}
const results = await Promise.allSettled(sends);
const timed = stop();
transport.close();
const sent = results.filter((r) => r.status === 'fulfilled' && r.value.accepted.length > 0).length;
report({
  client: maxConnections === 1 ? 'nodemailer' : `nodemailer x${maxConnections}`,
  version: packageVersion('nodemailer'),
  sent,
  ...timed,
  failed: args.n - sent,
});
const bad = results.find((r) => r.status === 'rejected');
if (bad) console.error(`nodemailer: ${bad.reason?.message ?? bad.reason}`);
process.exit(sent === args.n ? 0 : 1);
