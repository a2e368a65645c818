// Ready-to-use entry points for one runtime: connect / sendMail / createPool with that runtime's
// transport as the default. Each transports/<runtime>.ts is then one line of wiring.
import { SmtpUsageError } from '../core/errors.ts';
import { sendMailWith, SmtpClient, type ClientOptions, type SendMailOptions, type SendResult } from './client.ts';
import type { ClientParts } from './parts.ts';
import { createPoolWith, type Pool, type PoolOptions } from './pool.ts';
import type { Transport } from './transport.ts';

export type WithTransport<T> = Omit<T, 'transport'> & { transport?: Transport };

export interface EntryPoints {
  connect(options: WithTransport<ClientOptions>): Promise<SmtpClient>;
  sendMail(options: WithTransport<SendMailOptions>): Promise<SendResult>;
  createPool(options: WithTransport<PoolOptions>): Pool;
}

type DefaultPort = (options: WithTransport<ClientOptions>) => number;

function filler(transport: Transport, defaultPort: DefaultPort | undefined, parts: ClientParts) {
  return <T extends WithTransport<ClientOptions>>(options: T): T & { transport: Transport } => {
    if (options === null || typeof options !== 'object') throw new SmtpUsageError('options must be an object');
    const port = options.port ?? defaultPort?.(options);
    return {
      ...options,
      ...(port === undefined ? {} : { port }),
      transport: options.transport ?? transport,
      parts: options.parts ?? parts,
    };
  };
}

// One binder per entry point, each pure, so a bundler drops what an application does not call
// (createPool unused: no pool; sendMail unused: no message composition).

/** `defaultPort` lets a runtime pick its own port default (Workers cannot reach port 25);
 *  `parts` are the optional parts it passes in (client/parts.ts; none by default). */
export function bindConnect(transport: Transport, defaultPort?: DefaultPort, parts: ClientParts = {}): EntryPoints['connect'] {
  const fill = filler(transport, defaultPort, parts);
  return (options) => {
    try {
      return SmtpClient.connect(fill(options));
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

export function bindSendMail(transport: Transport, defaultPort?: DefaultPort, parts: ClientParts = {}): EntryPoints['sendMail'] {
  const fill = filler(transport, defaultPort, parts);
  return (options) => {
    try {
      return sendMailWith(fill(options));
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

export function bindCreatePool(transport: Transport, defaultPort?: DefaultPort, parts: ClientParts = {}): EntryPoints['createPool'] {
  const fill = filler(transport, defaultPort, parts);
  return (options) => createPoolWith(fill(options));
}

export function entryPoints(transport: Transport, defaultPort?: DefaultPort, parts: ClientParts = {}): EntryPoints {
  return {
    connect: bindConnect(transport, defaultPort, parts),
    sendMail: bindSendMail(transport, defaultPort, parts),
    createPool: bindCreatePool(transport, defaultPort, parts),
  };
}
