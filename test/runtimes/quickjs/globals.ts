// What the test side (never the core) takes from its host, bound per module by run-quickjs.mjs:
// TextEncoder/TextDecoder over core/utf8.ts (whose equality with the platform's is
// test/core-utf8-codec.test.ts's job), btoa/atob over core/sasl/base64.ts, and a `process` with the env the suites read. The core gets none of
// it: a core module that used one of these globals would fail in QuickJS, which has neither.
import { decodeBase64, encodeBase64 } from '../../../core/sasl/base64.ts';
import { decodeUtf8, encodeUtf8 } from '../../../core/utf8.ts';

export class TextEncoder {
  encode(text = ''): Uint8Array {
    return encodeUtf8(text);
  }
}

export class TextDecoder {
  decode(bytes?: Uint8Array): string {
    return bytes === undefined ? '' : decodeUtf8(bytes);
  }
}

declare const __ENV__: Record<string, string>;
export const process = { env: __ENV__ };

/** A "binary string" (one char per octet) to base64, as the web's btoa. */
export function btoa(binary: string): string {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) {
    const c = binary.charCodeAt(i);
    if (c > 0xff) throw new RangeError('btoa: a character above U+00FF');
    bytes[i] = c;
  }
  return encodeBase64(bytes);
}

export function atob(text: string): string {
  const bytes = decodeBase64(text);
  if (bytes === undefined) throw new RangeError('atob: not base64');
  let out = '';
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}
