// The TypeScript examples of the docs, for test/package/consumers.mjs to type-check (strict)
// against the installed package. An example is a ```ts block whose first line imports from
// 'smtpwire' or 'smtpwire/...'; each becomes its own module. For brevity the docs use a few
// names they do not declare (a client, an envelope); EXAMPLE_GLOBALS declares them with the
// package's own types, so a wrong type in an example still fails.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const EXAMPLE_GLOBALS = `import type { SmtpClient, Message, ClientOptions } from 'smtpwire';
declare global {
  const client: SmtpClient;
  const from: string;
  const to: string[];
  const host: string;
  const auth: NonNullable<ClientOptions['auth']>;
  const messages: Message[];
}
export {};
`;

export function extractExamples(root, files) {
  const examples = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const fence = /^```ts\n([\s\S]*?)^```$/gm;
    let m;
    let n = 0;
    while ((m = fence.exec(text)) !== null) {
      n++;
      const code = m[1];
      if (!/^import [^;]*from 'smtpwire(\/[a-z]+)?';/.test(code)) continue;
      examples.push({ name: `${file.replace(/[^a-z0-9]+/gi, '-')}-${n}`, code: `${code}\nexport {};\n` });
    }
  }
  return examples;
}
