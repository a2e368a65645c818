#!/usr/bin/env node
// The scale test's server: smtp-server (nodemailer's SMTP server, an implementation independent
// of ours) that writes one line to a log for every message it ACKNOWLEDGES, before the 250 goes
// out, so the log is the server's own account of what it took:
//
//   <ms since epoch> ack <Message-ID> <recipients accepted>
//
// and one line for every recipient it refuses: <ms since epoch> <code> <address>.
//   node test/scale/sink.mjs --log FILE [--port 0]
//
// Recipients steer the replies (local part prefix):
//   perm-*  550 at RCPT, always                  (a permanent rejection)
//   temp-*  451 at RCPT the first time that address is seen, then 250   (transient, then fine)
//   drop-*  the message is taken and logged, then the link is cut before the 250: the client
//           cannot know (unknown), although the server has it
// On start it prints {"event":"listening","port":N}; SIGTERM closes it after flushing the log.
import { SMTPServer } from 'smtp-server';
import { openSync, writeSync, closeSync } from 'node:fs';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .join(' ')
    .split('--')
    .filter(Boolean)
    .map((s) => s.trim().split(/\s+/)),
);
if (!args.log) {
  console.error('sink: --log FILE is required');
  process.exit(2);
}
const log = openSync(args.log, 'a');
const seenTemp = new Set();
const MESSAGE_ID = /^message-id:[ \t]*(<[^>\r\n]*>)/im;

function refuse(address, code, text, callback) {
  writeSync(log, `${Date.now()} ${code} ${address}\n`);
  callback(Object.assign(new Error(text), { responseCode: code }));
}

const server = new SMTPServer({
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  size: 10 * 1024 * 1024,
  maxClients: 1000,
  onRcptTo(address, session, callback) {
    const local = address.address.slice(0, address.address.indexOf('@')).toLowerCase();
    if (local.startsWith('perm-')) return refuse(address.address, 550, '5.1.1 No such user here', callback);
    if (local.startsWith('temp-') && !seenTemp.has(address.address)) {
      seenTemp.add(address.address);
      return refuse(address.address, 451, '4.2.1 Mailbox busy, try again later', callback);
    }
    callback();
  },
  onData(stream, session, callback) {
    const head = [];
    let headLength = 0;
    stream.on('data', (chunk) => {
      if (headLength < 8192) {
        head.push(chunk);
        headLength += chunk.length;
      }
    });
    stream.on('end', () => {
      const m = MESSAGE_ID.exec(Buffer.concat(head).toString('latin1').split('\r\n\r\n')[0]);
      const id = m ? m[1] : '-';
      writeSync(log, `${Date.now()} ack ${id} ${session.envelope.rcptTo.length}\n`);
      if (session.envelope.rcptTo.some((r) => r.address.toLowerCase().startsWith('drop-'))) {
        for (const c of server.connections) if (c.session === session) c._socket.destroy();
        return;
      }
      callback(null, 'Ok: queued');
    });
  },
});
server.on('error', (err) => console.error('sink:', err.message));
server.listen(Number(args.port ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ event: 'listening', port: server.server.address().port }));
});
process.on('SIGTERM', () => {
  closeSync(log);
  process.exit(0);
});
