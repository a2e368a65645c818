// Interop set under Bun, through transports/bun.ts (native Bun.connect sockets). Run by
// test/runtimes/run-bun.mjs, which starts the servers and passes their config as the first
// argument (JSON).
import { test } from 'uvu';
import { readFile } from 'node:fs/promises';
import { bunTransport, connect, createPool, fileBody, sendMail } from '../../transports/bun.ts';
import { buildMessage } from '../../message/index.ts';
import { registerInterop, type InteropConfig } from './interop.ts';

const config: InteropConfig = JSON.parse(process.argv[2] ?? '');
registerInterop(
  test,
  {
    name: `bun ${Bun.version}`,
    connect,
    createPool,
    sendMail,
    trust: { ca: config.ca },
    transport: bunTransport,
    fileBody: (path) => fileBody(path),
    readFile: async (path) => new Uint8Array(await readFile(path)),
    buildMessage,
  },
  config,
);
test.run();
