// OAUTHBEARER (RFC 7628): "n,a=<authzid>," gs2 header, then ^A-separated key=value pairs
// (host, port, auth) ending in ^A^A, as the initial response. An error challenge (JSON) is
// answered with a lone ^A (§3.2.3) so the server can finish with its failure reply.
import { utf8 } from '../text.ts';
import { SaslError, bearerExchange, type SaslMechanism } from './mechanism.ts';

export const SASL_OAUTHBEARER: SaslMechanism = {
  name: 'OAUTHBEARER',
  strength: 60,
  needs: 'token',
  maxChallenges: 1,
  create(credentials, context) {
    if (!credentials.token) throw new SaslError('OAUTHBEARER needs a token');
    const host = context.host;
    // kvpair values are VCHAR/SP only (RFC 7628 §3.1); a control character would break framing.
    if (host !== undefined && !/^[\x21-\x7e]+$/.test(host)) throw new SaslError('OAUTHBEARER: invalid host name');
    const port = context.port;
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new SaslError('OAUTHBEARER: invalid port');
    // RFC 5801 saslname: '=' and ',' would end the gs2 header early.
    const authzid = (credentials.authzid || credentials.user).replace(/=/g, '=3D').replace(/,/g, '=2C');
    const response = utf8(
      `n,a=${authzid},\x01` +
        (host !== undefined ? `host=${host}\x01` : '') +
        (port !== undefined ? `port=${port}\x01` : '') +
        `auth=Bearer ${credentials.token}\x01\x01`,
    );
    return bearerExchange('OAUTHBEARER', response, Uint8Array.of(0x01));
  },
};
