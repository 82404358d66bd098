// A JWKS endpoint as its own process: serves the JSON file given on the command line,
// read afresh on every request (so a test rotates keys by rewriting the file), counts
// the fetches, and can be killed to play an identity provider that is down.
//   node jwks_server.mjs FILE [PORT]       prints "listening PORT"
import fs from 'node:fs';
import http from 'node:http';

const file = process.argv[2];
const port = Number(process.argv[3] ?? 0);
let fetches = 0;

const server = http.createServer((req, res) => {
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
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
