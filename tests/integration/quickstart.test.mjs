// The README's quick start: examples/quickstart/run (what `make run` starts) serves the
// example, curl-style requests through it work, and Ctrl-C stops everything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PORTICO_BIN, json, request, waitFor } from './lib/harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const portFree = (port) => new Promise((resolve) => {
  const s = net.connect(port, '127.0.0.1');
  s.on('connect', () => { s.destroy(); resolve(false); });
  s.on('error', () => resolve(true));
});

test('quickstart: make run serves the example and curl through it works', async () => {
  // The example uses fixed ports; a skipped test would pass silently in ctest, so fail.
  for (const port of [8080, 9001, 9002, 9901]) {
    assert.ok(await portFree(port), `port ${port} is in use (is \`make run\` running?); the quickstart needs it`);
  }
  const proc = spawn(path.join(root, 'examples/quickstart/run'), [PORTICO_BIN], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((r) => proc.on('close', r));  // after its output is drained
  try {
    await waitFor(async () => /portico started/.test(out) && !(await portFree(9001)) && !(await portFree(9002)),
      { timeoutMs: 15000, what: 'quickstart' });
    let r = await json('http://127.0.0.1:8080/hello');
    assert.equal(r.status, 200);
    assert.equal(r.json.message, 'hello from portico');
    r = await json('http://127.0.0.1:8080/api/products/1');
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'Espresso cup');
    assert.match(r.headers['x-request-id'], /^[0-9a-f-]{36}$/);
    assert.equal(r.json.request_id, r.headers['x-request-id'], 'the upstream saw the same request id');
    const servedBy = new Set();
    for (let i = 0; i < 20; i++) servedBy.add((await json('http://127.0.0.1:8080/api/products/2')).json.served_by);
    assert.deepEqual([...servedBy].sort(), ['upstream:9001', 'upstream:9002'], 'both instances serve');
    r = await json('http://127.0.0.1:8080/api/products');
    assert.equal(r.json.length, 2);
    const up = (await json('http://127.0.0.1:9901/upstreams')).json.products;
    assert.equal(up.usable, 2);
    assert.equal(up.health_checks, true);
    r = await json('http://127.0.0.1:8080/greet/ann');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.greeting, 'hello, ann');
    assert.equal(r.json.function, 'greet');
    r = await json('http://127.0.0.1:8080/echo/anything', { method: 'POST', body: '{"a":1}' });
    assert.equal(r.json.body, '{"a":1}');
    r = await json('http://127.0.0.1:8080/reviews', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: '{"product": 1, "stars": 5, "email": "ann@example.com"}',
    });
    assert.equal(r.status, 201);
    r = await json('http://127.0.0.1:8080/reviews', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"product": 0, "stars": 9}',
    });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json.violations.map((v) => v.location), ['/email', '/product', '/stars']);
    r = await json('http://127.0.0.1:8080/private/products/1');
    assert.equal(r.status, 401, 'the private route needs an API key');
    r = await json('http://127.0.0.1:8080/private/products/1', { headers: { 'x-api-key': 'demo-key-0123456789abcdef' } });
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'Espresso cup');
    assert.match(r.headers['ratelimit-policy'], /"trial";q=5;w=1, "trial-day";q=1000;w=86400/);
    // /hello has a deliberately tight limit (5/s, burst 5): a quick run of 10 meets it.
    const codes = [];
    let refused;
    for (let i = 0; i < 10; i++) {
      const h = await json('http://127.0.0.1:8080/hello');
      codes.push(h.status);
      if (h.status === 429) refused = h;
    }
    assert.ok(codes.includes(429), `a 429 among ${codes}`);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.match(refused.json.error, /rate limit exceeded: hello-demo allows 5\/s/);
    const m = await request('http://127.0.0.1:9901/metrics');
    assert.match(m.body.toString(), /portico_route_requests_total\{route="products",code="200"\} 21/);
    await waitFor(() => /"route":"products"/.test(out), { what: 'the access log on stdout' });
  } finally {
    proc.kill('SIGINT');
    await exited;
  }
  await waitFor(async () => (await portFree(9001)) && (await portFree(9002)), { what: 'the example upstreams to stop' });
  assert.match(out, /portico stopped/);
});
