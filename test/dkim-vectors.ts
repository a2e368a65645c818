// Fixed DKIM test vectors: the same keys, messages and time give the same signatures in every
// runtime (RSASSA-PKCS1-v1_5 and Ed25519 are deterministic), so test/message-dkim.test.ts pins the
// exact output here in Node, Deno, Bun and workerd, and test/message-dkim-verifiers.test.ts has dkimpy and
// mailauth verify these very outputs: what each runtime produces is what they accepted.
//
// TEST-ONLY keys, generated for this file and published nowhere else: never use them to sign
// real mail. The 768-bit key exists to be refused (RFC 8301: at least 1024 bits).

/** RSA 1024 bits, PKCS#1 PEM ("RSA PRIVATE KEY"): also exercises the PKCS#1 to PKCS#8 wrap. */
export const RSA_1024_PKCS1 = `-----BEGIN RSA PRIVATE KEY-----
MIICXAIBAAKBgQDXuThFt77FcJUoGha9k7qYBCHHzSMIPz2qkuEupbXXjtE6sQCD
p6l9XzyxwUozTXlE/OcqKgeUVWEq71fZlF8WbCKDYlWfa13e4CjYRl2D6fP2OnFf
EiThtETW1g6TNVOeJj5Jm2Efq1lhDy4JpwGpkKjm1HOiGGM9ZUafCYm1gwIDAQAB
AoGAanv1OQTQWGmQVvE51G59ptgzTIsIBeQhrnc+TGZj8nl+8je5B0PVuBswvJWq
6NQPTmyANyH0B9Z1Vlo6xR4mKOVBu/S3w4d45btbhkQsfMa1bvNgdQhiZlQ4aZYc
HKCvIrIwJZZsRqniGUjEFCGnuOWSC78NhWtFv7tO2XE9GZECQQDvNhagkGP4WLWq
1fhqS8lK1iOJsthbY2OXFIARZn9y4X4Jy9EeX81tDT3YV1G6taaT9A5cgCqrL6zr
6BfklXH3AkEA5t0gX2yhnjFK6uVOzv2CshdeSwN/IEtGoscbghdNgW5IzrLjTKvA
onnB2yymwMIfl4iRPSTj4cn1mX5FTcR11QJAUwqk2kKl4c3x6wdywHvkui0SkzfZ
8gfTx9vfBatebSQom//8bZ32c3gYUyUlAzsSQ+SCo8v+hAT987tTqA/VSwJBAIhi
6GYXah9npYfBsl4sfFKz5XvRc//jGLa/g+vF0n79ZTvfiNLZwLL71V+jMFw+EqXW
A1+o9IuGYXatl0nLH4UCQFcWVzJn00NBGFbjAYDf9/b+kpvHjc2LFs7OYiztg3zx
Z3B8dAXKwD4xgSblqF7kKcDi2+ltEwx+GkOmqJOKmY0=
-----END RSA PRIVATE KEY-----
`;

/** An Ed25519 private key as a bare base64 seed (the format dknewkey writes). */
export const ED25519_SEED = '/mijse2Oe2+ATMmwO6Z2XC/QtrpT765gdiDllEdltbU=';

/** RSA 768 bits, PKCS#8: too small for DKIM. */
export const RSA_768_PKCS8 = `-----BEGIN PRIVATE KEY-----
MIIB5QIBADANBgkqhkiG9w0BAQEFAASCAc8wggHLAgEAAmEArnkL0/w2MaYdz/vt
iNqBN6tzE8XVndLAQyNiWTYPO4Y23TguAl6rh2BMO+uR6MioDKZAp1q6EKeekoqc
r8/f6Q+6AxaMyYX0O9KcHPU/SyeDM97863+6l4hzqiBeRnz3AgMBAAECYDG0vKDt
NsdYSyAI5vhZP/0LNGLKtvwaobm+5/MAisBrkU/fBISaUgXkcnOTvmLyXy2RXcx3
4k52CvCqAeGYU4I2/ekdAjKsHbSfVPBhituMb9TYZlTheJ9BHqAW1fV+oQIxANuI
iyKut6sP5H/KhCsrqASl7bfWOCw/e5rc6WfFPhv4fosgGfa6fM6UKylfEfqkkQIx
AMt0WDBk5JkPMyx5HqABiOBVjwgDXd+sgQmIqOF+xYouIq6/eURhPUgLxaCrDtat
BwIxAKRlcvPM7MOQCifcSu9dKNwaOZMCO1x/SZultK+92A3wHysmJetKqa207UF0
7SzJ0QIwFDzbdNzkXFFFvtvBbxsX+XCpTJvBH7myEDe2zM9maOtT6dwD/QhLJzp8
ixHY5QPLAjEAngq5/AtczvQUpeQAyWYn0eiDvvvDGl4pZgWqUh6umNh669dYLXMu
i3S44O1S+Z4p
-----END PRIVATE KEY-----
`;

export const DOMAIN = 'example.com';
export const TIMESTAMP = 1717243200; // 2024-06-01T12:00:00Z

/** DNS TXT records for the keys above (selector "rsa" and "ed"), derived with node:crypto by
 *  test/message-dkim-verifiers.test.ts, which checks these strings against the keys. */
export const RECORDS: Record<string, string> = {
  'rsa._domainkey.example.com':
    'v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDXuThFt77FcJUoGha9k7qYBCHHzSMIPz2qkuEupbXXjtE6sQCDp6l9XzyxwUozTXlE/OcqKgeUVWEq71fZlF8WbCKDYlWfa13e4CjYRl2D6fP2OnFfEiThtETW1g6TNVOeJj5Jm2Efq1lhDy4JpwGpkKjm1HOiGGM9ZUafCYm1gwIDAQAB',
  'ed._domainkey.example.com': 'v=DKIM1; k=ed25519; p=wNIJy4zTKitShVRxueo0UytP6/MbSmUhV/rpC4yYIQs=',
};

export const MESSAGES: Record<string, string> = {
  plain:
    'From: Joe SixPack <joe@example.com>\r\nTo: Suzie Q <suzie@shopping.example.net>\r\n' +
    'Subject: Is dinner ready?\r\nDate: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n' +
    'Message-ID: <20030712040037.46341.5F8J@example.com>\r\n\r\nHi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n',
  tricky:
    'from:   Jos\u00e9 <jose@example.com>  \r\nSubject: \t a  long\r\n\tfolded   subject\t \r\n  with three lines\r\n' +
    'To: a@example.net,\n b@example.net\r\nX-Not-Signed: x\r\nCc: c@example.net\r\ncc: second@example.net\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n\r\n' +
    '  leading spaces\t and  tabs \t\r\n\r\n\u00fcber 8-bit \u65e5\u672c\u8a9e\r\nbare LF line\nbare CR line\r' +
    'trailing white space   \r\n \t \r\n\r\n\r\n',
};

/** What the signer gives, per message, algorithm and canonicalization (filled from a Node run
 *  whose output dkimpy and mailauth verified). */
export const EXPECTED: Record<string, string> = {
  'plain rsa relaxed/relaxed':
    'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=rsa;\r\n' +
    ' t=1717243200; h=From:From:Subject:Date:Message-ID:To;\r\n' +
    ' bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=y0Pb/IzvGn78nPR8cC+/eP5gGg\r\n' +
    ' p13cZ7Jdrwfg7wwIICaHDLJhblVMhgoe+Ttux36uBc1ygSXlYE0b1XWlD0Vx28L5uPvuJo4wl9Bz4\r\n' +
    ' CXwuv7GhBVocEdGGE01fKOLkDp9q34JnFWoVBmuuijpzWImXfA2+gj+bDfPUE03TrI8k=\r\n',
  'plain rsa simple/simple':
    'DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=example.com; s=rsa;\r\n' +
    ' t=1717243200; h=From:From:Subject:Date:Message-ID:To;\r\n' +
    ' bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=o7QViJ5t4Y9wj9d7OPy7fAOP1W\r\n' +
    ' iWV2evOXIXZIgvCF/JvXidBdyBIk33CgqLMpyN6ualjc/Jvca1db9s/eczXJVGw4+UcGxoVhmwo8Y\r\n' +
    ' a9mtmFk4qCH7C6KcC2KX08E5Ch9HYHw/Yrd/yPE/n1+afCYnAAeC0RlMZz7SoBsFbpuo=\r\n',
  'plain rsa relaxed/simple':
    'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=rsa;\r\n' +
    ' t=1717243200; h=From:From:Subject:Date:Message-ID:To;\r\n' +
    ' bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=PWglQhpbLSQmuxtJLCRLyM4ZRi\r\n' +
    ' S08JGH0Pf7mNy9eWVFbtoY4IrD92voOP8NIgoVTrzUr0nQvITxK6deQvNntHZL530QAKPuUk+Rz0j\r\n' +
    ' uzz/hsjB9GJVoDJhcij5+wQ5DdruoDkPj/4xeeK/xC+nsfP3i5GFgw6wMfOJERNXl70I=\r\n',
  'plain rsa simple/relaxed':
    'DKIM-Signature: v=1; a=rsa-sha256; c=simple/relaxed; d=example.com; s=rsa;\r\n' +
    ' t=1717243200; h=From:From:Subject:Date:Message-ID:To;\r\n' +
    ' bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=ws0jUsQwRdoYWqTzCVBSp4Mzg7\r\n' +
    ' a0Av+xMqzAzgaygET+OUW59t3Snl6hVpiwhCmttRIrNKb/yAAF/PiRSZQqOiJEKnAXRMViOrXoo7/\r\n' +
    ' bC2yQvEycdGrReeYUwDN/YkpvjNTnuuRdzExEe87vhTqLjYQ35Xy4RgNG0YFRkvRft0E=\r\n',
  'plain ed relaxed/relaxed':
    'DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=ed;\r\n' +
    ' t=1717243200; h=From:From:Subject:Date:Message-ID:To;\r\n' +
    ' bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=aWXLa1G+7mg9tRZlI1dgdE6wrw\r\n' +
    ' c1EYudVSe0zfvRAmCYNIkS8t1912Gf4aMn73T1jOVL+WcZbse/yORh0F9pAw==\r\n',
  'plain ed simple/simple':
    'DKIM-Signature: v=1; a=ed25519-sha256; c=simple/simple; d=example.com; s=ed;\r\n' +
    ' t=1717243200; h=From:From:Subject:Date:Message-ID:To;\r\n' +
    ' bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=PTn18pHLq0FuzLr5imaHlYeyjj\r\n' +
    ' CHMaIsZJ0cKsK1b75ZyJSfS9a0+3xxlKdYiIVDkhw6mvMiiY25FRnW+vhSDw==\r\n',
  'plain ed relaxed/simple':
    'DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/simple; d=example.com; s=ed;\r\n' +
    ' t=1717243200; h=From:From:Subject:Date:Message-ID:To;\r\n' +
    ' bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=PCSX+QZbxafCCkz4ZBvPw4dHzc\r\n' +
    ' GNj7O9n+BwTohC3R5zQRGJ91p4cOlqH8QmolXxJk0BOytLHSEwW07ZO4jbBQ==\r\n',
  'plain ed simple/relaxed':
    'DKIM-Signature: v=1; a=ed25519-sha256; c=simple/relaxed; d=example.com; s=ed;\r\n' +
    ' t=1717243200; h=From:From:Subject:Date:Message-ID:To;\r\n' +
    ' bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=UzZq2+eQokLDJzgNYcgpjMnTq2\r\n' +
    ' IhtePnbGDudz0LQiSND8ySqF61OGHGwDPRs0PbUuCDjhff0mG8Ro2YM09OCA==\r\n',
  'tricky rsa relaxed/relaxed':
    'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=rsa;\r\n' +
    ' t=1717243200; h=From:From:Subject:To:Cc:Cc:Content-Type;\r\n' +
    ' bh=CroNFnJMy7I3oGMPms3bES7E/gFq5v401vk6OamlPbk=; b=k0Z6utkZuM+inrswgT9RePT2yY\r\n' +
    ' TcuoF/CSar/55BizY9soOZQEcl/Vcs0RKLACu+bx8SepMNQGG3BIxvR94XttdrX8bKwx4aeQKXj6q\r\n' +
    ' lIdkjcwpIWHhcSJ2MF740jm+UZnRHN7ozjQkudE8psWELFC1p389V9kcmkn3kR/heK2s=\r\n',
  'tricky rsa simple/simple':
    'DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=example.com; s=rsa;\r\n' +
    ' t=1717243200; h=From:From:Subject:To:Cc:Cc:Content-Type;\r\n' +
    ' bh=4wDcn+Ub71EFoDs5fGua32P7FFPBQIx1R+CDeGLryMw=; b=ATQTS0B4d1aGWAlSYN1NMjOTLn\r\n' +
    ' CO7GXIAjQ4czqqHRArE2kyC+1SNl14WrAM15p2hBvCdU9uArZe/HngFwGcVnGgljCPWXepwNsYh2X\r\n' +
    ' yV36zZPho1OWn0DnWzC9HLM6LC0sRO1CPzFv98khMTTx1iTST6Y9it5SbhkFw+PhLQPo=\r\n',
  'tricky rsa relaxed/simple':
    'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=rsa;\r\n' +
    ' t=1717243200; h=From:From:Subject:To:Cc:Cc:Content-Type;\r\n' +
    ' bh=4wDcn+Ub71EFoDs5fGua32P7FFPBQIx1R+CDeGLryMw=; b=N/nozatCIRIFpUA91cZXz7MwY3\r\n' +
    ' qVY4yL2VcIanP1JdmyZABNgRSNwI30v//nER9psqzywDESQbh8BDcjIZlw3+fkeoBOmdKJHnFWeif\r\n' +
    ' k2KulmS09jPq/k/Ob3KY54yMQoe739Vevg1yB3CZ5C2iAYxQLscT2FkDvp1KANQFd+qY=\r\n',
  'tricky rsa simple/relaxed':
    'DKIM-Signature: v=1; a=rsa-sha256; c=simple/relaxed; d=example.com; s=rsa;\r\n' +
    ' t=1717243200; h=From:From:Subject:To:Cc:Cc:Content-Type;\r\n' +
    ' bh=CroNFnJMy7I3oGMPms3bES7E/gFq5v401vk6OamlPbk=; b=Dm4+gknAq3wr8Xl/drynyviDep\r\n' +
    ' Lvp+f041BNLm8BI9dR20gwdDvSBCmQvdrabmnvY7JRCnMcbSMKQB3FLqO715VEwaibqvwLksvRwTE\r\n' +
    ' 6RS8aw/6F64q1crQvEuB8nD2RvK4zJ8E94AWbp032lOE7zH5nKVLL7QdL0VorB/+uiEQ=\r\n',
  'tricky ed relaxed/relaxed':
    'DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=ed;\r\n' +
    ' t=1717243200; h=From:From:Subject:To:Cc:Cc:Content-Type;\r\n' +
    ' bh=CroNFnJMy7I3oGMPms3bES7E/gFq5v401vk6OamlPbk=; b=aSc0ea4wLrGZvzjR9uVqbb7ayf\r\n' +
    ' BZSTMuMEP48hjZvJX9e2zCcOvSMFAc/Rku9S6+pWLS9cB82dSrf4J6tX19AA==\r\n',
  'tricky ed simple/simple':
    'DKIM-Signature: v=1; a=ed25519-sha256; c=simple/simple; d=example.com; s=ed;\r\n' +
    ' t=1717243200; h=From:From:Subject:To:Cc:Cc:Content-Type;\r\n' +
    ' bh=4wDcn+Ub71EFoDs5fGua32P7FFPBQIx1R+CDeGLryMw=; b=PBLkHz34A7l96aKD4tTuasV+Dk\r\n' +
    ' C5xjxey1MPVZSwzJtH6uDG0Y1xcmR5Beazv+PIPVRDjatPd1GDkawEDKhFBw==\r\n',
  'tricky ed relaxed/simple':
    'DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/simple; d=example.com; s=ed;\r\n' +
    ' t=1717243200; h=From:From:Subject:To:Cc:Cc:Content-Type;\r\n' +
    ' bh=4wDcn+Ub71EFoDs5fGua32P7FFPBQIx1R+CDeGLryMw=; b=x/nntehmBJrr26OHXEc6sXfaHX\r\n' +
    ' L2VY1L5Ac1NT9p249gH20SidiekaPUtfGyVk15kMtv17EQPXOEAV8nAkNWAQ==\r\n',
  'tricky ed simple/relaxed':
    'DKIM-Signature: v=1; a=ed25519-sha256; c=simple/relaxed; d=example.com; s=ed;\r\n' +
    ' t=1717243200; h=From:From:Subject:To:Cc:Cc:Content-Type;\r\n' +
    ' bh=CroNFnJMy7I3oGMPms3bES7E/gFq5v401vk6OamlPbk=; b=v81pL2dPw3sJCJbAl0SPNl/ByP\r\n' +
    ' yZspctG/GHBzKPDdEv3U460D5h990Q2GGDcsmz5iURNBojner51AlryJk/CA==\r\n',
};
