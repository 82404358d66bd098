// Retries (conditions, idempotency, body replay, Retry-After, budget, per-try and total
// timeouts) and circuit breaking (requests, pending, connections), against real
// upstream processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Portico, freePort, json, metric, request } from './lib/harness.mjs';
import { startServices } from './lib/peers.mjs';


function config(endpoints, upstream = '', route = '', workers = 1) {
  return `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: ${workers}}
upstreams:
  svc:
    endpoints: [${endpoints.join(', ')}]
    balance: round_robin
${upstream}
routes:
  - match: {path: "/{rest...}"}
    upstream: svc
${route}
`;
}

test('a 503 is retried on the other endpoint; the client sees the 200', async () => {
  const [bad, good] = await startServices(['bad', 'good']);
  await bad.control('status?status=503');
  const p = await Portico.start(config([bad.address, good.address], '    retries: {attempts: 2, on: [503]}'));
  try {
    for (let i = 0; i < 10; i++) {
      const r = await json(`${p.url}/x`);
      assert.equal(r.status, 200);
      assert.equal(r.json.name, 'good');
    }
    // Every 503 was retried (with round robin the retry's pick also moves the cursor, so
    // how many requests started on "bad" varies).
    const m = await p.metrics();
    const fromBad = metric(m, 'portico_upstream_responses_total', `endpoint="${bad.address}",code="5xx"`);
    assert.ok(fromBad >= 5, `${fromBad} requests tried "bad"`);
    assert.equal(metric(m, 'portico_upstream_retries_total', 'upstream="svc"'), fromBad);
  } finally {
    await bad.control('status?status=0');
    await p.stop();
  }
});

test('Retry-After on a 503 sets the wait; one longer than retry_after_max passes the 503 through', async () => {
  const [svc] = await startServices(['svc']);
  const p = await Portico.start(config([svc.address], '    retries: {attempts: 2, on: [503], retry_after_max: 2s}'));
  try {
    let t = Date.now();
    let r = await request(`${p.url}/x?status=503&retry_after=1`);
    const waited = Date.now() - t;
    assert.equal(r.status, 503);  // the one endpoint answers 503 every time
    assert.ok(waited >= 950 && waited < 1800, `retried after ${waited} ms`);

    t = Date.now();
    r = await request(`${p.url}/x?status=503&retry_after=120`);
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '120', 'the client gets to wait instead');
    assert.ok(Date.now() - t < 200);
    const m = await p.metrics();
    assert.equal(metric(m, 'portico_upstream_retries_total', 'upstream="svc"'), 1);
  } finally {
    await p.stop();
  }
});

test('POST: not retried after it reached an upstream, unless the policy allows; always after a failed connect', async () => {
  const [bad, good] = await startServices(['bad', 'good']);
  await bad.control('status?status=503');
  const dead = `127.0.0.1:${await freePort()}`;
  const body = JSON.stringify({ order: 'x'.repeat(2000) });
  const post = (p) => json(`${p.url}/orders`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  let p = await Portico.start(config([bad.address, good.address], '    retries: {attempts: 2, on: [503]}'));
  try {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(p)).status);
    assert.deepEqual(statuses.sort(), [200, 200, 503, 503], 'each POST tried once');
  } finally {
    await p.stop();
  }

  p = await Portico.start(config([bad.address, good.address], '    retries: {attempts: 2, on: [503], non_idempotent: true}'));
  try {
    for (let i = 0; i < 4; i++) {
      const r = await post(p);
      assert.equal(r.status, 200);
      assert.equal(r.json.body, body, 'the replayed body arrives whole');
    }
  } finally {
    await p.stop();
  }

  // A connect failure: the request never left, so even a POST (with its body) goes on.
  p = await Portico.start(config([dead, good.address], '    retries: {attempts: 2}'));
  try {
    for (let i = 0; i < 4; i++) {
      const r = await post(p);
      assert.equal(r.status, 200);
      assert.equal(r.json.body, body);
    }
  } finally {
    await bad.control('status?status=0');
    await p.stop();
  }
});

test('per-try timeout moves on to the next endpoint; the total timeout caps all tries', async () => {
  const [slow, fast] = await startServices(['slow', 'fast']);
  await slow.control('delay?ms=2000');
  const p = await Portico.start(config([slow.address, fast.address],
    '    retries: {attempts: 2, on: [timeout], per_try_timeout: 200ms}',
    '  - match: {path: "/capped/{rest...}"}\n    upstream: svc\n    timeouts: {total: 400ms}\n    retries: {attempts: 3, on: [timeout], per_try_timeout: 250ms, backoff: {base: 10ms, max: 10ms}}'));
  try {
    for (let i = 0; i < 4; i++) {
      const t = Date.now();
      const r = await json(`${p.url}/x`);
      assert.equal(r.status, 200);
      assert.equal(r.json.name, 'fast');
      assert.ok(Date.now() - t < 1000);
    }
    await fast.control('delay?ms=2000');
    const t = Date.now();
    const r = await json(`${p.url}/capped/x`);
    const took = Date.now() - t;
    assert.equal(r.status, 504);
    // Try 1 times out at 250 ms, try 2 starts; the total timeout ends it at 400 ms.
    assert.match(r.json.error, /did not respond within the route's total timeout of 400 ms/);
    assert.ok(took >= 380 && took < 900, `took ${took} ms`);
  } finally {
    await slow.control('delay?ms=0');
    await fast.control('delay?ms=0');
    await p.stop();
  }
});

test('retry budget: with no budget, failed connects are not retried and the refusals are counted', async () => {
  const [good] = await startServices(['good']);
  const dead = `127.0.0.1:${await freePort()}`;
  const p = await Portico.start(config([dead, good.address],
    '    retries: {attempts: 2, budget: {percent: 0, min: 0}}\n    outlier: off'));
  try {
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await request(`${p.url}/x`)).status);
    assert.deepEqual(statuses.sort(), [200, 200, 200, 502, 502, 502]);
    const m = await p.metrics();
    assert.equal(metric(m, 'portico_upstream_retry_budget_exhausted_total', 'upstream="svc"'), 3);
    assert.equal(metric(m, 'portico_upstream_retries_total', 'upstream="svc"'), 0);
  } finally {
    await p.stop();
  }
});

test('circuit breaker: requests over max_requests get a fast 503 that names the limit', async () => {
  const [svc] = await startServices(['svc']);
  await svc.control('delay?ms=400');
  const p = await Portico.start(config([svc.address], '    circuit_breaker: {max_requests: 2}', '', 2));  // exact across workers
  try {
    const results = await Promise.all(Array.from({ length: 6 }, async () => {
      const t = Date.now();
      const r = await json(`${p.url}/x`);
      return { status: r.status, error: r.json.error, ms: Date.now() - t };
    }));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 503);
    assert.equal(ok.length, 2, JSON.stringify(results));
    assert.equal(refused.length, 4);
    for (const r of refused) {
      assert.match(r.error, /upstream "svc" is at its limit of 2 requests in flight \(circuit_breaker.max_requests\)/);
      assert.ok(r.ms < 200, `refusal took ${r.ms} ms`);
    }
    const m = await p.metrics();
    assert.equal(metric(m, 'portico_upstream_overflow_total', 'limit="max_requests"'), 4);
    assert.equal(metric(m, 'portico_upstream_requests_active', 'upstream="svc"'), 0);
  } finally {
    await svc.control('delay?ms=0');
    await p.stop();
  }
});

test('circuit breaker: max_connections queues requests (max_pending bounds the queue; the wait is bounded)', async () => {
  const [svc] = await startServices(['svc']);
  await svc.control('delay?ms=300');
  const p = await Portico.start(config([svc.address],
    '    circuit_breaker: {max_connections: 1, max_pending: 1}\n    timeouts: {connect: 1s}'));
  try {
    const results = await Promise.all(Array.from({ length: 3 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i * 30));  // arrive in order
      const r = await json(`${p.url}/x`);
      return { status: r.status, error: r.json.error };
    }));
    assert.deepEqual(results.map((r) => r.status), [200, 200, 503], JSON.stringify(results));
    assert.match(results[2].error, /upstream "svc" has 1 requests waiting for a connection \(circuit_breaker.max_pending\)/);
    const m = await p.metrics();
    assert.equal(metric(m, 'portico_upstream_connections', 'upstream="svc"'), 1, 'one connection, reused');
    assert.equal(metric(m, 'portico_upstream_overflow_total', 'limit="max_pending"'), 1);

    // A wait longer than the connect timeout ends in a 503.
    await svc.control('delay?ms=1500');
    const [first, second] = await Promise.all([
      json(`${p.url}/x`),
      new Promise((r) => setTimeout(r, 50)).then(() => json(`${p.url}/x`)),
    ]);
    assert.equal(first.status, 200);
    assert.equal(second.status, 503);
    assert.match(second.json.error, /no connection to upstream "svc" became free within 1000 ms \(circuit_breaker.max_connections = 1\)/);
    assert.equal(metric(await p.metrics(), 'portico_upstream_overflow_total', 'limit="max_connections"'), 1);
  } finally {
    await svc.control('delay?ms=0');
    await p.stop();
  }
});
