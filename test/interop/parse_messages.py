#!/usr/bin/python3
"""Read messages with Python's email package (policy.default) and print what it finds, as JSON.

Usage: parse_messages.py FILE... -> one JSON array on stdout, one object per file:
  addresses (display name, addr-spec) per address field, the subject and every other header
  decoded, the leaf parts (type, disposition, filename, Content-ID, decoded octets in base64,
  text decoded with its charset), and the defects the parser registered. Used by
  test/interop/message-suite.ts as an independent MIME reader of what Postfix delivered.
"""
import base64
import json
import sys
from email import policy
from email.parser import BytesParser


def unescaped(value):
    """Python's parser reads header octets as ASCII with surrogate escapes, so UTF-8 headers
    (RFC 6532, sent when the server has SMTPUTF8) come back as escapes: turn them into the
    characters those octets are."""
    if value is None:
        return None
    return str(value).encode('utf-8', 'surrogateescape').decode('utf-8')


def addresses(msg, name):
    field = msg[name]
    if field is None:
        return []
    return [[unescaped(a.display_name), unescaped(a.addr_spec)] for a in field.addresses]


def read(path):
    with open(path, 'rb') as f:
        msg = BytesParser(policy=policy.default).parse(f)
    defects = [type(d).__name__ for d in msg.defects]
    parts = []
    for part in msg.walk():
        defects += [type(d).__name__ for d in part.defects]
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b''
        text = None
        if part.get_content_maintype() == 'text':
            text = part.get_content()
        parts.append({
            'type': part.get_content_type(),
            'disposition': part.get_content_disposition(),
            'filename': unescaped(part.get_filename()),
            'cid': part['content-id'] and str(part['content-id']),
            'method': part.get_param('method'),
            'octets': base64.b64encode(payload).decode('ascii'),
            'text': text,
        })
    headers = {}
    for key, value in msg.items():
        headers.setdefault(key.lower(), []).append(unescaped(value))
    return {
        'from': addresses(msg, 'from'),
        'to': addresses(msg, 'to'),
        'cc': addresses(msg, 'cc'),
        'replyTo': addresses(msg, 'reply-to'),
        'subject': unescaped(msg['subject']),
        'headers': headers,
        'structure': [p.get_content_type() for p in msg.walk()],
        'parts': parts,
        'defects': defects,
    }


if __name__ == '__main__':
    json.dump([read(p) for p in sys.argv[1:]], sys.stdout)
