// `smtpwire capture`: a loopback SMTP server that writes each message it receives to a folder
// (NNNNNN.eml + NNNNNN.json) and prints one line per message, for integration tests of programs
// written in any language. Runs until SIGINT/SIGTERM. See docs/testing.md.
import { parseArgs } from 'node:util';
import { SmtpUsageError } from '../core/errors.ts';
import { printable } from '../core/text.ts';
import { startCaptureServer } from '../testing/capture.ts';
import type { ServerRules } from '../testing/rules.ts';

export const CAPTURE_USAGE = `usage: smtpwire capture [--port N] [--dir DIR] [--host ADDR] [--json]

  --port N            port to listen on (default 2525; 0 picks a free port)
  --dir DIR           write NNNNNN.eml and NNNNNN.json per message here (default: none)
  --host ADDR         address to listen on (default 127.0.0.1)
  --reject REGEX      refuse recipients matching REGEX with 550 (repeatable)
  --close-after N     answer 421 to MAIL after N messages
  --drop-after N      drop the link after the end of message N, unanswered (repeatable)
  --delay MS          hold every reply back MS milliseconds
  --json              print one JSON object per message instead of a text line
  -h, --help          show this help

Prints "listening on HOST:PORT" first, then a line per message.
`;

/** Runs the capture server; resolves with an exit status once it is stopped. */
export async function captureMain(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '2525' },
        dir: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        reject: { type: 'string', multiple: true },
        'close-after': { type: 'string' },
        'drop-after': { type: 'string', multiple: true },
        delay: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`smtpwire capture: ${printable((err as Error).message)}\n${CAPTURE_USAGE}`);
    return 64;
  }
  if (values.help) {
    process.stdout.write(CAPTURE_USAGE);
    return 0;
  }
  const int = (name: string, text: string): number => {
    if (!/^\d{1,9}$/.test(text)) throw new SmtpUsageError(`--${name} must be a whole number, not "${printable(text)}"`);
    return Number(text);
  };
  let rules: ServerRules;
  let port: number;
  try {
    port = int('port', values.port);
    rules = {
      ...(values.reject ? { rejectRecipients: values.reject.map((r) => ({ match: new RegExp(r, 'i') })) } : {}),
      ...(values['close-after'] !== undefined ? { closeAfter: int('close-after', values['close-after']) } : {}),
      ...(values['drop-after'] ? { dropAfterEnd: values['drop-after'].map((n) => int('drop-after', n)) } : {}),
      ...(values.delay !== undefined ? { delay: int('delay', values.delay) } : {}),
    };
  } catch (err) {
    process.stderr.write(`smtpwire capture: ${printable((err as Error).message)}\n`);
    return 64;
  }
  const server = await startCaptureServer({
    port,
    host: values.host,
    dir: values.dir,
    rules,
    onMessage: (m, files) => {
      if (values.json) {
        process.stdout.write(
          JSON.stringify({
            seq: m.seq,
            from: m.envelope.from,
            to: m.envelope.to,
            size: m.raw.length,
            fate: m.fate,
            file: files?.eml ?? null,
          }) + '\n',
        );
        return;
      }
      const subject = m.header('subject');
      process.stdout.write(
        `message ${m.seq} ${m.fate} from=<${printable(m.envelope.from)}> to=${m.envelope.to.map((t) => `<${printable(t)}>`).join(',')} size=${m.raw.length}` +
          (subject !== undefined ? ` subject=${JSON.stringify(printable(subject))}` : '') +
          (files ? ` file=${files.eml}` : '') +
          '\n',
      );
    },
  }).catch((err: Error) => err);
  if (server instanceof Error) {
    process.stderr.write(`smtpwire capture: cannot listen on ${values.host}:${port}: ${printable(server.message)}\n`);
    return 69;
  }
  process.stdout.write(`listening on ${server.host}:${server.port}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
