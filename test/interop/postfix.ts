// What every private Postfix instance in the interop tests needs (interop.ts, clients-lib.ts,
// pool-limit.ts): free ports on 127.0.0.1, waiting for a port to listen, the postfix user's
// ids, and master.cf's internal services.
import { readFileSync } from 'node:fs';
import * as net from 'node:net';

/** A port on 127.0.0.1 that was free a moment ago (port 0, then released). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** True once something accepts connections on 127.0.0.1:port, false after `ms`. */
export async function waitForPort(port: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return true;
    await new Promise<void>((r) => setTimeout(r, 100));
  }
  return false;
}

/** The postfix user's uid and gid (its data directory must belong to it). */
export function postfixIds(): { uid: number; gid: number } {
  const pw = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postfix:'))
    ?.split(':');
  if (!pw) throw new Error('no postfix user (is the postfix package installed?)');
  return { uid: Number(pw[2]), gid: Number(pw[3]) };
}

/** master.cf's internal services for an instance that queues and relays over SMTP. */
export const POSTFIX_SERVICES = `
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;
