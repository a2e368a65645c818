// client/proxy-link.ts over the scripted mock server: the proxy's answer and the mail server's
// greeting in one read, an EOF right after the tunnel opened, an abort mid-handshake.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from '../client/client.ts';
import { ScriptedServer, mockTransport, script } from '../transports/mock.ts';

const CONNECT = [/^CONNECT mx\.test:25 HTTP\/1\.1$/, /^Host: mx\.test:25$/, ''];

test('HTTP CONNECT: the 200 and the SMTP greeting in one read; the greeting is not lost', async () => {
  const server = new ScriptedServer(
    script()
      .expect(...CONNECT)
      .sendRaw('HTTP/1.1 200 Connection established\r\n\r\n220 mx.test ESMTP\r\n')
      .expect(/^EHLO /)
      .send('250 mx.test')
      .expect('QUIT')
      .send('221 bye'),
  );
  const log: string[] = [];
  const client = await connect({
    host: 'mx.test',
    tls: 'none',
    proxy: 'http://proxy.test:3128',
    transport: mockTransport(server),
    logger: (e) => log.push(e.text),
  });
  assert.ok(
    log.some((l) => l.includes('proxy tunnel open to mx.test:25')),
    log.join('\n'),
  );
  assert.ok(
    log.some((l) => l === '220 mx.test ESMTP'),
    log.join('\n'),
  );
  await client.close();
  assert.is(await client.closed, undefined);
});

test('the mail server closing right after the tunnel opened ends the attempt at once', async () => {
  const server = new ScriptedServer(
    script()
      .expect(...CONNECT)
      .sendRaw('HTTP/1.1 200 OK\r\n\r\n')
      .eof(),
  );
  const started = Date.now();
  try {
    await connect({ host: 'mx.test', tls: 'none', proxy: 'http://proxy.test:3128', transport: mockTransport(server) });
    assert.unreachable('connected');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'ECONNECTION', String(err));
  }
  assert.ok(Date.now() - started < 2000);
});

test('SOCKS5: the proxy closing mid-handshake is EPROXY closed', async () => {
  const server = new ScriptedServer(script().sendRaw(Uint8Array.of(5)).eof());
  try {
    await connect({ host: 'mx.test', tls: 'none', proxy: 'socks5://proxy.test', transport: mockTransport(server) });
    assert.unreachable('connected');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'EPROXY', String(err));
  }
});

test('an abort during the proxy handshake rejects with EABORT', async () => {
  const server = new ScriptedServer(
    script()
      .expect(...CONNECT)
      .delay(3_000),
  );
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  try {
    await connect({
      host: 'mx.test',
      tls: 'none',
      proxy: 'http://proxy.test:3128',
      transport: mockTransport(server),
      signal: controller.signal,
    });
    assert.unreachable('connected');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'EABORT', String(err));
  }
});

test('the connect deadline covers the proxy handshake', async () => {
  const server = new ScriptedServer(
    script()
      .expect(...CONNECT)
      .delay(3_000),
  );
  const started = Date.now();
  try {
    await connect({
      host: 'mx.test',
      tls: 'none',
      proxy: 'http://proxy.test:3128',
      transport: mockTransport(server),
      timeouts: { connect: 200 },
    });
    assert.unreachable('connected');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'EPROXY', String(err));
    assert.is((err as { reason?: string }).reason, 'timeout');
  }
  assert.ok(Date.now() - started < 2000);
});

test.run();
