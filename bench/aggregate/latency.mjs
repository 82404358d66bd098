// Latency of one aggregated request to 3 backends against the 3 calls a client makes
// without aggregation, one after another (a page that needs the user, then invoices,
// then recommendations). Each backend answers after DELAY_MS (Node http servers); both
// ways go through the same Portico, so the difference is the round trips saved and the
// calls made in parallel. Run by bench/aggregation-bench.
import http from 'node:http';
import { once } from 'node:events';
import { Portico, tempDir } from '../../tests/integration/lib/harness.mjs';

const DELAY_MS = Number(process.env.DELAY_MS ?? 20);
const OPS = Number(process.env.OPS ?? 200);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

async function backend(body) {
  const server = http.createServer((req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    }, DELAY_MS);
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      let n = 0;
      res.on('data', (d) => { n += d.length; });
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`${url}: ${res.statusCode}`))));
    }).on('error', reject);
  });
}

const servers = [await backend({ id: 'u-1', name: 'Ada' }), await backend({ invoices: [{ id: 'inv-1' }] }),
  await backend({ items: ['a', 'b'] })];
const [u, b, r] = servers.map((s) => `127.0.0.1:${s.address().port}`);
const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2, access_log: off}
upstreams:
  users: {endpoints: ["${u}"]}
  billing: {endpoints: ["${b}"]}
  recs: {endpoints: ["${r}"]}
routes:
  - {match: {path: "/users/{id}"}, upstream: users}
  - {match: {path: /invoices}, upstream: billing}
  - {match: {path: /recs}, upstream: recs}
  - match: {path: "/page/{id}"}
    aggregate:
      - {upstream: users, path: "/users/{id}", as: user}
      - {upstream: billing, path: /invoices, query: {user: "\${param.id}"}, as: invoices}
      - {upstream: recs, path: /recs, as: recommendations}
`, { dir: tempDir('portico-agg-bench-') });

async function measure(op) {
  for (let i = 0; i < 20; i++) await op();  // warm: connections, pools
  const times = [];
  for (let i = 0; i < OPS; i++) {
    const t0 = process.hrtime.bigint();
    await op();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((x, y) => x - y);
  return { p50: times[Math.floor(OPS * 0.5)], p99: times[Math.floor(OPS * 0.99)] };
}

const sequential = await measure(async () => {
  await get(`${p.url}/users/u-1`);
  await get(`${p.url}/invoices?user=u-1`);
  await get(`${p.url}/recs`);
});
const aggregated = await measure(() => get(`${p.url}/page/u-1`));
await p.stop();
for (const s of servers) s.close();
agent.destroy();

const f = (x) => x.toFixed(1).padStart(6);
console.log(`latency per operation, backends answering after ${DELAY_MS} ms, ${OPS} operations each:`);
console.log(`  3 sequential client calls  p50 ${f(sequential.p50)} ms   p99 ${f(sequential.p99)} ms`);
console.log(`  1 aggregated request       p50 ${f(aggregated.p50)} ms   p99 ${f(aggregated.p99)} ms`);
console.log(`  aggregated / sequential    p50 ${(aggregated.p50 / sequential.p50).toFixed(2)}`);
console.log(`RESULT latency_p50_sequential_ms=${sequential.p50.toFixed(1)} latency_p50_aggregated_ms=${aggregated.p50.toFixed(1)}`);
