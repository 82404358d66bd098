// A small "products" service for the quickstart: Portico proxies to it.
// usage: node upstream.mjs PORT
import http from 'node:http';

const port = Number(process.argv[2] ?? 9001);
const products = {
  1: { id: 1, name: 'Espresso cup', price: 9.5 },
  2: { id: 2, name: 'Moka pot', price: 34.0 },
};

const server = http.createServer((req, res) => {
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body) + '\n');
  };
  const url = new URL(req.url, 'http://upstream');
  if (url.pathname === '/healthz') return send(200, { status: 'ok' });
  if (url.pathname === '/products') return send(200, Object.values(products));
  const m = url.pathname.match(/^\/products\/(\d+)$/);
  if (m) {
    const p = products[m[1]];
    return p ? send(200, { ...p, served_by: `upstream:${port}`, request_id: req.headers['x-request-id'] })
             : send(404, { error: `no product ${m[1]}` });
  }
  send(404, { error: `upstream has no ${url.pathname}` });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => console.error(`quickstart upstream on http://127.0.0.1:${port}`));
