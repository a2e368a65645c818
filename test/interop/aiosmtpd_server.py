#!/usr/bin/python3
"""aiosmtpd on 127.0.0.1 with STARTTLS (required) and AUTH PLAIN, LOGIN and CRAM-MD5.

Every accepted message is stored in --dir as N.eml (the content exactly as received, after
dot-unstuffing) and then N.json (envelope, AUTH identity, TLS), so a reader that sees N.json
finds N.eml complete. Prints "READY <port>" once listening; stops on SIGTERM/SIGINT.

Used by test/interop/interop.ts; run with the system Python (/usr/bin/python3), which is where
Debian's python3-aiosmtpd lives.
"""
import argparse
import asyncio
import hashlib
import hmac
import json
import os
import secrets
import signal
import ssl
import time

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--dir', required=True)
    ap.add_argument('--cert', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--user', required=True)
    ap.add_argument('--password', required=True)
    args = ap.parse_args()
    user = args.user.encode()
    password = args.password.encode()

    class Handler:
        def __init__(self) -> None:
            self.count = 0

        async def handle_DATA(self, server, session, envelope):
            self.count += 1
            n = self.count
            base = os.path.join(args.dir, f'{n:06d}')
            with open(base + '.eml.tmp', 'wb') as f:
                f.write(envelope.original_content)
            os.rename(base + '.eml.tmp', base + '.eml')
            login = session.login_data
            meta = {
                'mail_from': envelope.mail_from,
                'rcpt_tos': envelope.rcpt_tos,
                'mail_options': envelope.mail_options,
                'rcpt_options': envelope.rcpt_options,
                'login': login.decode('utf-8', 'replace') if isinstance(login, bytes) else login,
                'authenticated': bool(session.authenticated),
                'tls': session.ssl is not None,
                'size': len(envelope.original_content),
            }
            with open(base + '.json.tmp', 'w') as f:
                json.dump(meta, f)
            os.rename(base + '.json.tmp', base + '.json')
            return '250 2.0.0 OK stored'

        # CRAM-MD5 (RFC 2195) is not built in; aiosmtpd picks up auth_<MECH> methods on the handler
        # ("__" in the method name stands for "-").
        async def auth_CRAM__MD5(self, server, args_):
            if len(args_) != 1:
                await server.push('501 5.5.4 CRAM-MD5 takes no initial response')
                return AuthResult(success=False, handled=True)
            challenge = f'<{secrets.token_hex(8)}.{int(time.time())}@aiosmtpd.test>'.encode()
            response = await server.challenge_auth(challenge)
            if response is MISSING:
                return AuthResult(success=False, handled=True)
            try:
                name, digest = response.decode().rsplit(' ', 1)
            except ValueError:
                return AuthResult(success=False)
            want = hmac.new(password, challenge, hashlib.md5).hexdigest()
            if name.encode() == user and hmac.compare_digest(digest, want):
                return AuthResult(success=True, auth_data=LoginPassword(name.encode(), b''))
            return AuthResult(success=False)

    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and auth_data.login == user and auth_data.password == password:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    handler = Handler()

    def factory():
        return SMTP(
            handler,
            hostname='aiosmtpd.test',
            tls_context=context,
            require_starttls=True,
            auth_require_tls=True,
            auth_required=True,
            authenticator=authenticator,
            enable_SMTPUTF8=True,
            decode_data=False,
            data_size_limit=64 * 1024 * 1024,
            timeout=120,
        )

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(factory, host='127.0.0.1', port=args.port))
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f'READY {port}', flush=True)
    loop.run_until_complete(stop.wait())
    server.close()
    loop.run_until_complete(server.wait_closed())
    loop.close()


if __name__ == '__main__':
    main()
