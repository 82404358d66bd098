// Graceful shutdown on SIGTERM: stop accepting, finish what is in flight, exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Portico, request, json, startUpstream, sleep } from './lib/harness.mjs';

const config = (upstream, shutdown = '10s') => `
server:
  listen: 127.0.0.1:0
  admin: 127.0.0.1:0
  workers: 2
  timeouts: {shutdown: ${shutdown}}
upstreams:
  slow: {endpoints: [${upstream}], timeouts: {response: 30s}}
routes:
  - match: {path: /slow}
    upstream: slow
  - match: {path: /fast}
    respond: {body: fast}
`;

const refused = (port) => new Promise((resolve) => {
  const s = net.connect(port, '127.0.0.1');
  s.on('connect', () => { s.destroy(); resolve(false); });
  s.on('error', (e) => resolve(e.code === 'ECONNREFUSED'));
});

test('SIGTERM: in-flight requests complete, new connections are refused, exit 0', async () => {
  const up = await startUpstream(async (req, res) => { await sleep(1500); res.end('finished'); });
  const p = await Portico.start(config(up.address));
  const inflight = [request(`${p.url}/slow`), request(`${p.url}/slow`), request(`${p.url}/slow`)];
  await sleep(300);
  const t0 = Date.now();
  p.signal('SIGTERM');
  await sleep(200);
  assert.ok(await refused(p.port), 'listener closed');
  const health = await json(`${p.adminUrl}/healthz`);
  assert.equal(health.status, 503);
  assert.equal(health.json.status, 'draining');
  for (const r of await Promise.all(inflight)) {
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'finished');
    assert.equal(r.headers.connection, 'close');
  }
  assert.equal(await p.stop(), 0);
  assert.ok(Date.now() - t0 < 5000);
  await p.waitForLog(/shutting down/);
  await p.waitForLog(/portico stopped/);
  await up.stop();
});

test('SIGTERM: idle keep-alive connections are closed at once', async () => {
  const up = await startUpstream((req, res) => res.end('x'));
  const p = await Portico.start(config(up.address));
  const sock = net.connect(p.port, '127.0.0.1');
  await new Promise((r) => sock.on('connect', r));
  sock.write('GET /fast HTTP/1.1\r\nHost: a\r\n\r\n');
  await new Promise((r) => sock.once('data', r));
  const closed = new Promise((r) => sock.on('close', r));
  const t0 = Date.now();
  p.signal('SIGTERM');
  await closed;
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(await p.stop(), 0);
  await up.stop();
});

test('SIGTERM: the shutdown timeout bounds how long a stuck request can hold the exit', async () => {
  const up = await startUpstream(() => {});  // never answers
  const p = await Portico.start(config(up.address, '1s'));
  const stuck = request(`${p.url}/slow`).catch((e) => e);
  await sleep(200);
  const t0 = Date.now();
  p.signal('SIGTERM');
  assert.equal(await p.stop(), 0);
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 900 && elapsed < 4000, `${elapsed} ms`);
  const r = await stuck;
  assert.ok(r instanceof Error, 'the stuck request was cut');
  await up.stop();
});
