// A JWKS endpoint as its own process: serves the JSON file given on the command line,
// read afresh on every request (so a test rotates keys by rewriting the file), counts
// the fetches, and can be killed to play an identity provider that is down.
//   node jwks_server.mjs FILE [PORT [CERT KEY]]   prints "listening PORT"; https with CERT
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const file = process.argv[2];
const port = Number(process.argv[3] ?? 0);
let fetches = 0;

const [certFile, keyFile] = process.argv.slice(4);
const handler = (req, res) => {
  if (req.url === '/control/fetches') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ fetches }));
    return;
  }
  fetches++;
  let body;
  try {
    body = fs.readFileSync(file);
  } catch (e) {
    res.statusCode = 500;
    res.end(String(e));
    return;
  }
  res.setHeader('content-type', 'application/jwk-set+json');
  res.end(body);
};
const server = certFile
  ? https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, handler)
  : http.createServer(handler);
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
