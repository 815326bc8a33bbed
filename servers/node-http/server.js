// The matrix contract on Node.js's own http module: HTTP/1.1, one process
// (Node's default; no cluster), listening on $HOST:$PORT (HOST empty: every
// interface). "node server.js -version" prints "node <version>". With
// TLS_CERT and TLS_KEY set (PEM paths) it serves HTTP/1.1 over TLS instead
// (node:https, ALPN http/1.1).
//
// GET / answers "Hello, World!" as text/plain, GET /json answers
// {"message":"Hello, World!"} as application/json, POST /upload reads the
// whole body and answers its length in bytes.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');

if (process.argv.includes('-version') || process.argv.includes('--version')) {
  console.log(`node ${process.versions.node}`);
  process.exit(0);
}

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`node-http: PORT ${JSON.stringify(process.env.PORT)}: not a port number`);
  process.exit(1);
}

const hello = Buffer.from('Hello, World!');

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function handle(req, res) {
  if (req.url === '/' && req.method === 'GET') {
    send(res, 200, 'text/plain', hello);
  } else if (req.url === '/json' && req.method === 'GET') {
    // Serialised per request, as a real handler would.
    send(res, 200, 'application/json', JSON.stringify({ message: 'Hello, World!' }));
  } else if (req.url === '/upload' && req.method === 'POST') {
    let n = 0;
    req.on('data', (chunk) => { n += chunk.length; });
    req.on('end', () => send(res, 200, 'text/plain', String(n)));
    req.on('error', () => res.destroy());
  } else {
    send(res, 404, 'text/plain', 'not found\n');
  }
}

const tls = process.env.TLS_CERT
  ? { cert: fs.readFileSync(process.env.TLS_CERT), key: fs.readFileSync(process.env.TLS_KEY), ALPNProtocols: ['http/1.1'] }
  : null;
const server = tls ? https.createServer(tls, handle) : http.createServer(handle);
server.listen(port, process.env.HOST || undefined, () => {
  const a = server.address();
  console.error(`node-http: node ${process.versions.node} listening on ${a.address}:${a.port} (${tls ? 'TLS: h1s' : 'h1'})`);
});

// A container's PID 1 gets no default signal handling: exit explicitly.
function stop() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
