#!/usr/bin/python3
# Verifies DKIM signatures with dkimpy (Debian's python3-dkim; Ed25519 through python3-nacl),
# for the tests in test/message-dkim-verifiers.test.ts and test/interop/interop.ts.
#
# stdin:  {"records": {"sel._domainkey.example.com": "v=DKIM1; k=rsa; p=..."},
#          "messages": ["<base64 of the message as delivered>", ...]}
# stdout: [{"signatures": N, "results": [true, false, ...], "errors": ["...", ...]}, ...]
#         one entry per message, one result per DKIM-Signature field (top first).
# No DNS: the records come from the test. Exit 2 when dkimpy (or nacl) cannot be imported.
import base64
import json
import sys

try:
    import dkim
    import nacl.signing  # noqa: F401  (dkimpy needs it for ed25519-sha256)
except ImportError as e:
    print(f"dkim_verify.py: {e}: install python3-dkim and python3-nacl (apt-get install python3-dkim python3-nacl)", file=sys.stderr)
    sys.exit(2)


def main():
    job = json.load(sys.stdin)
    records = {k.lower().rstrip('.'): v.encode() for k, v in job["records"].items()}

    def dnsfunc(name, timeout=5):
        key = (name.decode() if isinstance(name, bytes) else name).lower().rstrip('.')
        return records.get(key)

    out = []
    for b64 in job["messages"]:
        message = base64.b64decode(b64)
        results, errors = [], []
        d = dkim.DKIM(message, minkey=1024)
        n = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
        for i in range(n):
            try:
                ok = bool(d.verify(idx=i, dnsfunc=dnsfunc))
                results.append(ok)
                if not ok:
                    errors.append(f"signature {i}: does not verify")
            except dkim.DKIMException as e:
                results.append(False)
                errors.append(f"signature {i}: {type(e).__name__}: {e}")
        out.append({"signatures": n, "results": results, "errors": errors})
    json.dump(out, sys.stdout)


main()
