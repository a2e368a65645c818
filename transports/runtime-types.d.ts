// Minimal ambient types for the runtime globals the Deno, Bun and Workers transports use, so
// the whole tree type-checks with plain tsc (types: node) and no runtime type packages.
// Only what the transports touch is declared, shaped to stay assignable to the real
// declarations: `deno check transports/deno.ts` checks the same code against Deno's own types.
// This file is a script (no import/export): its declarations are global.

declare namespace Deno {
  interface NetAddr {
    transport: 'tcp' | 'udp';
    hostname: string;
    port: number;
  }
  interface Conn {
    readonly readable: ReadableStream<Uint8Array>;
    readonly writable: WritableStream<Uint8Array>;
    readonly remoteAddr: NetAddr;
    close(): void;
    closeWrite(): Promise<void>;
  }
  interface TcpConn extends Conn {
    setNoDelay(noDelay?: boolean): void;
  }
  interface TlsHandshakeInfo {
    alpnProtocol: string | null;
  }
  interface TlsConn extends Conn {
    handshake(): Promise<TlsHandshakeInfo>;
  }
  interface ConnectOptions {
    port: number;
    hostname?: string;
    transport?: 'tcp';
  }
  interface ConnectTlsOptions {
    port: number;
    hostname?: string;
    caCerts?: string[];
    /** Client certificate chain and key (PEM), Deno 2's TlsCertifiedKeyPem. */
    cert?: string;
    key?: string;
  }
  interface StartTlsOptions {
    hostname?: string;
    caCerts?: string[];
  }
  function connect(options: ConnectOptions): Promise<TcpConn>;
  function connectTls(options: ConnectTlsOptions): Promise<TlsConn>;
  // Files, for fileBody() (needs --allow-read).
  enum SeekMode {
    Start = 0,
    Current = 1,
    End = 2,
  }
  interface FileInfo {
    isFile: boolean;
    size: number;
  }
  interface OpenOptions {
    read?: boolean;
  }
  interface FsFile {
    /** Octets read into `p`, or null at the end of the file. */
    read(p: Uint8Array): Promise<number | null>;
    seek(offset: number, whence: SeekMode): Promise<number>;
    close(): void;
  }
  function statSync(path: string | URL): FileInfo;
  function open(path: string | URL, options?: OpenOptions): Promise<FsFile>;
  function startTls(conn: TcpConn, options?: StartTlsOptions): Promise<TlsConn>;
  const errors: {
    NotCapable?: new (...args: never[]) => Error;
    PermissionDenied?: new (...args: never[]) => Error;
  };
  const version: { deno: string };
}

/** Bun's native TCP sockets (`Bun.connect`), as far as the Bun transport uses them. `Data` is
 *  Bun's per-socket user data (unused here: always undefined), kept so the shapes match Bun's. */
declare namespace Bun {
  interface TLSOptions {
    serverName?: string;
    ca?: string | string[];
    rejectUnauthorized?: boolean;
    cert?: string;
    key?: string;
    passphrase?: string;
  }
  interface SocketHandler<Data = undefined> {
    open?(socket: Socket<Data>): void;
    data?(socket: Socket<Data>, data: Uint8Array): void;
    drain?(socket: Socket<Data>): void;
    end?(socket: Socket<Data>): void;
    close?(socket: Socket<Data>, error?: Error): void;
    error?(socket: Socket<Data>, error: Error): void;
    connectError?(socket: Socket<Data>, error: Error): void;
    timeout?(socket: Socket<Data>): void;
    handshake?(socket: Socket<Data>, success: boolean, authorizationError: Error | null): void;
  }
  interface TCPSocketConnectOptions<Data = undefined> {
    hostname: string;
    port: number;
    socket: SocketHandler<Data>;
    tls?: boolean | TLSOptions;
  }
  interface TLSUpgradeOptions<Data = undefined> {
    socket: SocketHandler<Data>;
    tls: boolean | TLSOptions;
  }
  interface Socket<Data = undefined> {
    /** Bytes actually written (maybe fewer than given: the rest is the caller's to retry on drain); -1 when closed. */
    write(data: Uint8Array): number;
    end(): void;
    terminate(): void;
    flush(): void;
    setNoDelay(noDelay?: boolean): boolean;
    upgradeTLS<D = Data>(options: TLSUpgradeOptions<D>): [raw: Socket<D>, tls: Socket<D>];
    readonly data: Data;
  }
  function connect<Data = undefined>(options: TCPSocketConnectOptions<Data>): Promise<Socket<Data>>;
  const version: string;
}

/** Cloudflare Workers' outbound TCP sockets. */
declare module 'cloudflare:sockets' {
  export interface SocketAddress {
    hostname: string;
    port: number;
  }
  export interface SocketOptions {
    /** 'off' (default): clear text; 'on': TLS from the start; 'starttls': clear now, startTls() later. */
    secureTransport?: 'off' | 'on' | 'starttls';
    allowHalfOpen?: boolean;
  }
  export interface TlsOptions {
    expectedServerHostname?: string;
  }
  export interface SocketInfo {
    remoteAddress?: string;
    localAddress?: string;
  }
  export interface Socket {
    readonly readable: ReadableStream<Uint8Array>;
    readonly writable: WritableStream<Uint8Array>;
    readonly opened: Promise<SocketInfo>;
    readonly closed: Promise<void>;
    close(): Promise<void>;
    startTls(options?: TlsOptions): Socket;
  }
  export function connect(address: string | SocketAddress, options?: SocketOptions): Socket;
}
