// Ready-to-use entry points for one runtime: connect / sendMail / createPool with that runtime's
// transport as the default. Each transports/<runtime>.ts is then one line of wiring.
import { SmtpUsageError } from '../core/errors.ts';
import { connect as connectWith, sendMail as sendMailWith, type ClientOptions, type SendMailOptions, type SendResult, type SmtpClient } from './client.ts';
import { createPool as createPoolWith, type Pool, type PoolOptions } from './pool.ts';
import type { Transport } from './transport.ts';

export type WithTransport<T> = Omit<T, 'transport'> & { transport?: Transport };

export interface EntryPoints {
  connect(options: WithTransport<ClientOptions>): Promise<SmtpClient>;
  sendMail(options: WithTransport<SendMailOptions>): Promise<SendResult>;
  createPool(options: WithTransport<PoolOptions>): Pool;
}

/** `defaultPort` lets a runtime pick its own port default (Workers cannot reach port 25). */
export function entryPoints(transport: Transport, defaultPort?: (options: WithTransport<ClientOptions>) => number): EntryPoints {
  const fill = <T extends WithTransport<ClientOptions>>(options: T): T & { transport: Transport } => {
    if (options === null || typeof options !== 'object') throw new SmtpUsageError('options must be an object');
    const port = options.port ?? defaultPort?.(options);
    return { ...options, ...(port === undefined ? {} : { port }), transport: options.transport ?? transport };
  };
  return {
    connect: (options) => {
      try {
        return connectWith(fill(options));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    sendMail: (options) => {
      try {
        return sendMailWith(fill(options));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    createPool: (options) => createPoolWith(fill(options)),
  };
}
