// The matrix contract on Node.js's http2 module: HTTP/2 over cleartext TCP
// with prior knowledge (RFC 9113 section 3.3) through http2.createServer and
// its stream API, one process, listening on $HOST:$PORT (HOST empty: every
// interface). Node's defaults are kept: no limit on concurrent streams, the
// 65535-byte initial window. "node server.js -version" prints
// "node <version>". With TLS_CERT and TLS_KEY set (PEM paths) it serves
// HTTP/2 over TLS instead (http2.createSecureServer), offering only h2 by
// ALPN: the column is HTTP/2 only, over TLS as in cleartext.
//
// GET / answers "Hello, World!" as text/plain, GET /json answers
// {"message":"Hello, World!"} as application/json, POST /upload reads the
// whole body and answers its length in bytes.
'use strict';

const fs = require('node:fs');
const http2 = require('node:http2');

if (process.argv.includes('-version') || process.argv.includes('--version')) {
  console.log(`node ${process.versions.node}`);
  process.exit(0);
}

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`node-http2: PORT ${JSON.stringify(process.env.PORT)}: not a port number`);
  process.exit(1);
}

const hello = Buffer.from('Hello, World!');

function send(stream, status, type, body) {
  stream.respond({ ':status': status, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  stream.end(body);
}

function handle(stream, headers) {
  // A reset stream emits 'error'; unhandled, it would end the process.
  stream.on('error', () => {});
  const path = headers[':path'];
  const method = headers[':method'];
  if (path === '/' && method === 'GET') {
    send(stream, 200, 'text/plain', hello);
  } else if (path === '/json' && method === 'GET') {
    // Serialised per request, as a real handler would.
    send(stream, 200, 'application/json', JSON.stringify({ message: 'Hello, World!' }));
  } else if (path === '/upload' && method === 'POST') {
    let n = 0;
    stream.on('data', (chunk) => { n += chunk.length; });
    stream.on('end', () => send(stream, 200, 'text/plain', String(n)));
  } else {
    send(stream, 404, 'text/plain', 'not found\n');
  }
}

const tls = process.env.TLS_CERT
  ? { cert: fs.readFileSync(process.env.TLS_CERT), key: fs.readFileSync(process.env.TLS_KEY) }
  : null;
const server = tls ? http2.createSecureServer(tls) : http2.createServer();
server.on('stream', handle);
server.on('sessionError', () => {});
server.listen(port, process.env.HOST || undefined, () => {
  const a = server.address();
  console.error(`node-http2: node ${process.versions.node} listening on ${a.address}:${a.port} (${tls ? 'TLS: h2' : 'h2c'})`);
});

// A container's PID 1 gets no default signal handling: exit explicitly.
function stop() {
  server.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
