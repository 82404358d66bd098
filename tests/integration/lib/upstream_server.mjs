// A small upstream service run as its own process, so tests can kill it for real.
//   node upstream_server.mjs NAME [PORT [HOST]]
// Answers every request with JSON {name, port, method, path, headers}; /healthz with 200
// (or what /control/health?status= set); honours ?delay=MS, ?status=CODE and
// ?retry_after= and ?acao= (its own Access-Control-Allow-Origin); /control/delay?ms= and /control/status?status= apply to every request;
// /control/count tells how many were served; prints
// "listening PORT" once ready.
import http from 'node:http';

const name = process.argv[2] ?? 'upstream';
const port = Number(process.argv[3] ?? 0);
const host = process.argv[4] ?? '127.0.0.1';
let healthStatus = 200;
let forcedStatus = 0;
let fixedDelay = 0;
let requests = 0;

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (url.pathname === '/control/health') {
      healthStatus = Number(url.searchParams.get('status') ?? 200);
      res.end('ok');
      return;
    }
    if (url.pathname === '/control/status') {
      forcedStatus = Number(url.searchParams.get('status') ?? 0);
      res.end('ok');
      return;
    }
    if (url.pathname === '/control/delay') {
      fixedDelay = Number(url.searchParams.get('ms') ?? 0);
      res.end('ok');
      return;
    }
    if (url.pathname === '/control/count') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ requests }));
      return;
    }
    if (url.pathname === '/healthz') {
      res.statusCode = healthStatus;
      res.end(healthStatus === 200 ? 'ok' : 'unhealthy');
      return;
    }
    requests++;
    const body = JSON.stringify({
      name, port: server.address().port, method: req.method, path: req.url, headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    });
    const status = Number(url.searchParams.get('status') ?? 0) || forcedStatus || 200;
    const delay = Number(url.searchParams.get('delay') ?? 0) || fixedDelay;
    const send = () => {
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      const retryAfter = url.searchParams.get('retry_after');
      if (retryAfter !== null) res.setHeader('retry-after', retryAfter);
      const acao = url.searchParams.get('acao');
      if (acao !== null) res.setHeader('access-control-allow-origin', acao);
      res.end(body);
    };
    if (delay > 0) setTimeout(send, delay); else send();
  });
});
server.keepAliveTimeout = 60000;
server.listen(port, host, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
