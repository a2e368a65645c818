// Interop set under Deno, through transports/deno.ts. Run by test/runtimes/run-deno.mjs, which
// starts the servers and passes their config as the first argument (JSON).
import { test } from 'uvu';
import { connect, createPool, denoTransport, fileBody, sendMail } from '../../transports/deno.ts';
import { buildMessage } from '../../message/index.ts';
import { registerInterop, type InteropConfig } from './interop.ts';

const config: InteropConfig = JSON.parse(Deno.args[0] ?? '');
registerInterop(
  test,
  {
    name: `deno ${Deno.version.deno}`,
    connect,
    createPool,
    sendMail,
    trust: { ca: config.ca },
    transport: denoTransport,
    fileBody: (path) => fileBody(path),
    readFile: (path) => Deno.readFile(path),
    buildMessage,
  },
  config,
);
test.run();
