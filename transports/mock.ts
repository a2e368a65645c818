// smtpwire/mock: a scripted SMTP server on a virtual clock (mock-server.ts: script(), drive(),
// for the core with no sockets) and the same server behind the client's Transport contract
// (mock-link.ts: mockTransport(), for the friendly client).
export * from './mock-server.ts';
export * from './mock-link.ts';
