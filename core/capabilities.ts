// RFC 5321 §4.1.1.1 EHLO response → what the server can do. Parsed fresh after every EHLO, so
// nothing learned before STARTTLS survives it (RFC 3207 §4.2).
import type { Reply } from './reply.ts';

export interface Capabilities {
  /** False after a HELO fallback: no extensions at all. */
  readonly esmtp: boolean;
  /** SIZE limit in octets; 0 when advertised without a fixed limit; undefined when not advertised. */
  readonly size: number | undefined;
  readonly pipelining: boolean;
  readonly chunking: boolean;
  readonly eightBitMime: boolean;
  readonly binaryMime: boolean;
  readonly smtpUtf8: boolean;
  readonly dsn: boolean;
  readonly enhancedStatusCodes: boolean;
  readonly startTls: boolean;
  readonly requireTls: boolean;
  /** SASL mechanisms, upper case, from both `AUTH` and the legacy `AUTH=` line. */
  readonly auth: readonly string[];
  /** Every keyword (upper case) with its parameter text, for extensions the core does not model. */
  readonly keywords: ReadonlyMap<string, string>;
}

/** Before EHLO, after HELO, after STARTTLS: nothing. A new record each time: the one a session
 *  hands out (the `ready` event, serverCapabilities) holds a Map, which no other may share. */
export function noCapabilities(): Capabilities {
  return {
    esmtp: false,
    size: undefined,
    pipelining: false,
    chunking: false,
    eightBitMime: false,
    binaryMime: false,
    smtpUtf8: false,
    dsn: false,
    enhancedStatusCodes: false,
    startTls: false,
    requireTls: false,
    auth: [],
    keywords: new Map(),
  };
}

export function parseEhloReply(reply: Reply): Capabilities {
  const keywords = new Map<string, string>();
  const auth = new Set<string>();
  // Line 1 is the server's domain and greeting text; the rest are "keyword [params]".
  for (const line of reply.lines.slice(1)) {
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:[ =](.*))?$/.exec(line.trim());
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    const params = (m[2] ?? '').trim();
    keywords.set(keyword, params);
    if (keyword === 'AUTH') {
      for (const mech of params.split(/\s+/)) if (/^[A-Za-z0-9_-]{1,20}$/.test(mech)) auth.add(mech.toUpperCase());
    }
  }
  const sizeText = keywords.get('SIZE');
  let size: number | undefined;
  if (sizeText !== undefined) {
    const n = /^\d{1,15}$/.test(sizeText) ? Number(sizeText) : 0;
    size = n;
  }
  return {
    esmtp: true,
    size,
    pipelining: keywords.has('PIPELINING'),
    chunking: keywords.has('CHUNKING'),
    eightBitMime: keywords.has('8BITMIME'),
    binaryMime: keywords.has('BINARYMIME'),
    smtpUtf8: keywords.has('SMTPUTF8'),
    dsn: keywords.has('DSN'),
    enhancedStatusCodes: keywords.has('ENHANCEDSTATUSCODES'),
    startTls: keywords.has('STARTTLS'),
    requireTls: keywords.has('REQUIRETLS'),
    auth: [...auth],
    keywords,
  };
}
