// One message with the library, in a fresh process: what a cron job or a serverless cold start
// pays. bench/run.mjs times the whole process (spawn to exit) next to `node -e 0`, the CLI and
// the same with nodemailer (nodemailer-once.mjs). It imports the package by name, as a user
// does: Node resolves `smtpwire` through package.json "exports" (a package may import itself by
// name), so this measures what the package serves (dist/bundle/, scripts/bundle-lib.mjs), as
// nodemailer-once.mjs measures what `nodemailer` serves from node_modules.
//   node bench/startup/smtpwire-once.mjs --port P --file F
import { readFileSync } from 'node:fs';
import { connect } from 'smtpwire';

const arg = (name) => process.argv[process.argv.indexOf(`--${name}`) + 1];
const client = await connect({ host: '127.0.0.1', port: Number(arg('port')), tls: 'none' });
const result = await client.send({ from: 'bench@example.org', to: 'sink@example.org', body: readFileSync(arg('file')) });
await client.close();
if (result.outcome !== 'accepted') {
  process.stderr.write(`smtpwire-once: ${result.outcome}: ${result.error?.message}\n`);
  process.exitCode = 1;
}
