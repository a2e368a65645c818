// The runtime-neutral contract between the client and a byte transport (Node net/tls, Deno,
// Bun, Workers sockets, a test double). A transport moves bytes and does TLS; it knows nothing
// of SMTP. Everything protocol-shaped stays in the core, so a new runtime is one small file.
import type { TlsClientOptions } from './tls-options.ts';

/** Callbacks a transport calls for one link. After end() or error() nothing else is called. */
export interface LinkHandlers {
  /** Bytes from the peer (after a TLS upgrade: decrypted bytes only). */
  data(bytes: Uint8Array): void;
  /** The peer closed the link (EOF), or it closed for any reason without an error. */
  end(): void;
  /** The link failed (reset, write error, TLS alert). Called instead of end(), at most once. */
  error(err: unknown): void;
  /** A write that returned false has been flushed: writing may go on. */
  drain(): void;
}

export interface Link {
  /** Write these views in order, as one gather write where the runtime has one. The views are
   *  not modified and may be kept until written. Returns false when the caller should wait for
   *  drain() before writing more (the bytes are still queued; nothing is lost).
   *
   *  `onWritten`, when given, runs once the transport is done with these views: their bytes
   *  have been handed to the OS (or copied by the runtime), so the caller may reuse the memory.
   *  It runs at most once per write, in write order, never synchronously inside write(). When
   *  the link dies or is destroyed with the write still queued it runs then (the bytes are
   *  dropped, which also ends the transport's use of them); a caller must still not wait for it
   *  after end() or error(), which is how the client treats it. A transport that can tell
   *  passes `taken = false` for a write whose bytes it dropped that way (nothing left the
   *  process): the core then never counts them as sent. */
  write(chunks: Uint8Array[], onWritten?: (taken?: boolean) => void): boolean;
  /** Upgrade this link to TLS in place (STARTTLS). From the call on, no byte received in clear
   *  is delivered. Rejects (preferably with core's SmtpTlsError) when the handshake or the
   *  certificate check fails. */
  startTls(): Promise<void>;
  /** End gracefully once queued writes are flushed, then release the link. */
  close(): void;
  /** Drop the link now; queued writes are discarded. */
  destroy(err?: unknown): void;
  /** True once the link is TLS (implicit, or after startTls resolved). */
  readonly secure: boolean;
  /** True when write() runs its onWritten callbacks as described there (every transport in this
   *  package does). Without it the client never reuses memory it has written: a pull-into body
   *  is then read into fresh buffers, as a stream's chunks are. */
  readonly signalsWritten?: boolean;
}

/** The TLS and socket options (servername, ca, cert, key, pfx, ...) are those of
 *  client/tls-options.ts, checked. A transport that cannot honour one it is given must reject
 *  with SmtpUsageError saying so, never ignore it. */
export interface ConnectParams extends TlsClientOptions {
  host: string;
  port: number;
  /** Start TLS at once (port 465) instead of connecting in clear. */
  implicitTls: boolean;
  /** Verify the server certificate (always given; TlsClientOptions says more). */
  rejectUnauthorized: boolean;
  /** Milliseconds to establish the link (and the TLS handshake for implicit TLS). */
  connectTimeout: number;
  /** Aborts the attempt; connect() then rejects. */
  signal?: AbortSignal;
}

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface Transport {
  readonly name: string;
  /** Open a link. The handlers may be called as soon as this resolves (not before). Rejects with
   *  a typed SmtpError where it can tell (SmtpTlsError, SmtpTimeoutError, SmtpAbortError);
   *  anything else is wrapped by the client as a connection error. */
  connect(params: ConnectParams, handlers: LinkHandlers): Promise<Link>;
}
