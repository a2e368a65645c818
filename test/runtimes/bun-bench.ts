// Bun: native sockets (transports/bun.ts) against node:net/node:tls in Bun's Node compatibility
// layer (transports/node.ts run unchanged by Bun), same client, same servers. First the full
// interop set through the Node transport (is the compat path even correct?), then timings
// against a minimal SMTP sink (server.mjs startSink).
// Run: node test/runtimes/run-bun.mjs --bench
import { test } from 'uvu';
import { bunTransport } from '../../transports/bun.ts';
import { nodeTransport } from '../../transports/node.ts';
import { connect as connectWith, sendMail as sendMailWith, type ClientOptions, type SendMailOptions } from '../../client/client.ts';
import { createPool as createPoolWith, type PoolOptions } from '../../client/pool.ts';
import type { Transport } from '../../client/transport.ts';
import { bigMessage, registerInterop, type InteropConfig } from './interop.ts';

const config: InteropConfig & { sinkPort: number } = JSON.parse(process.argv[2] ?? '');
const ROUNDS = Number(process.env.SMTPWIRE_BENCH_ROUNDS ?? '7');

type Opts<T> = Omit<T, 'transport'>;
const using = (transport: Transport) => ({
  connect: (o: Opts<ClientOptions>) => connectWith({ ...o, transport }),
  createPool: (o: Opts<PoolOptions>) => createPoolWith({ ...o, transport }),
  sendMail: (o: Opts<SendMailOptions>) => sendMailWith({ ...o, transport }),
});

registerInterop(test, { name: 'node:net in Bun', ...using(nodeTransport), trust: { ca: config.ca }, transport: nodeTransport }, config);
test.after(async () => {
  const enc = new TextEncoder();
  const big = bigMessage(5 << 20, 3);
  const small = Array.from({ length: 100 }, (_, i) => enc.encode(`Subject: ${i}\r\n\r\nbody ${i}\r\n`));
  // Timed against server.mjs's minimal sink: smtp-server waits ~100 ms before its greeting and
  // parses every line, which would hide the transports' own costs.
  const tls = { host: config.host, port: config.sinkPort, tls: 'required-starttls' as const, ca: config.ca, name: 'bench.test' };
  const cases: Record<string, (t: Transport) => Promise<void>> = {
    'connect + STARTTLS + QUIT': async (transport) => {
      const c = await connectWith({ ...tls, transport });
      await c.close();
    },
    '5 MB over STARTTLS': async (transport) => {
      const c = await connectWith({ ...tls, transport });
      const r = await c.send({ from: 'a@x.test', to: 'b@x.test', body: big });
      if (r.outcome !== 'accepted') throw new Error(r.error?.message);
      await c.close();
    },
    '100 pipelined over STARTTLS': async (transport) => {
      const c = await connectWith({ ...tls, transport });
      const rs = await Promise.all(small.map((body) => c.send({ from: 'a@x.test', to: 'b@x.test', body })));
      if (rs.some((r) => r.outcome !== 'accepted')) throw new Error('not accepted');
      await c.close();
    },
  };
  const rows: string[] = [];
  for (const [name, run] of Object.entries(cases)) {
    const median: Record<string, number> = {};
    for (const [label, transport] of [
      ['native', bunTransport],
      ['node:net', nodeTransport],
    ] as const) {
      await run(transport); // warm-up
      const times: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const t0 = performance.now();
        await run(transport);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      median[label] = times[times.length >> 1]!;
    }
    rows.push(
      `${name.padEnd(28)} native ${median.native!.toFixed(1).padStart(7)} ms   node:net ${median['node:net']!.toFixed(1).padStart(7)} ms   (median of ${ROUNDS})`,
    );
  }
  console.log(`\nbun ${Bun.version}: Bun.connect vs node:net/node:tls\n${rows.join('\n')}`);
});
test.run();
