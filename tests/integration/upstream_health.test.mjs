// Endpoints dying and coming back under load: retries and ejection keep idempotent
// requests whole while one endpoint is up; active checks take dead endpoints out and put
// them back; with every endpoint down the answer is a fast 503.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Portico, json, metric, request, sleep, waitFor } from './lib/harness.mjs';
import { sendMany, startLoad, startServices } from './lib/peers.mjs';


function config(services, extra = '') {
  return `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
upstreams:
  svc:
    endpoints: [${services.map((s) => s.address).join(', ')}]
${extra}
routes:
  - match: {path: "/{rest...}"}
    upstream: svc
`;
}

async function upstreamState(p) {
  return (await json(`${p.adminUrl}/upstreams`)).json.svc;
}

test('kill one of three under load: zero failed requests; it returns and gets traffic again', async () => {
  const services = await startServices(['a', 'b', 'c']);
  const [, b] = services;
  const p = await Portico.start(config(services, `
    health: {path: /healthz, interval: 200ms, timeout: 150ms, healthy_threshold: 1, unhealthy_threshold: 2}
    outlier: {consecutive_failures: 2, ejection_time: 1s}
    retries: {attempts: 3}`));
  try {
    const load = startLoad(`${p.url}/work`, { concurrency: 8 });
    await waitFor(() => ['a', 'b', 'c'].every((n) => load.stats.byName[n] > 20), { what: 'traffic on all three' });

    await b.kill();
    await sleep(200);  // responses b sent just before it died may still be on their way
    const beforeDeath = load.stats.byName.b;
    await sleep(2300);
    const during = { ...load.stats };
    // b is out: by active checks (unhealthy) and/or outlier ejection.
    const state = await upstreamState(p);
    const eb = state.endpoints.find((e) => e.address === b.address);
    assert.ok(!eb.healthy || eb.ejected, JSON.stringify(state));
    assert.equal(state.usable, 2);
    assert.equal(load.stats.byName.b, beforeDeath, 'no request was answered by the dead endpoint');

    await b.start();  // same port
    await waitFor(() => load.stats.byName.b > beforeDeath + 20, { timeoutMs: 5000, what: 'traffic on b again' });
    const stats = await load.stop();
    assert.equal(stats.failed, 0, `failed requests: ${JSON.stringify(stats.errors)}`);
    assert.ok(stats.ok > 500, `only ${stats.ok} requests`);
    assert.ok(during.ok > 0);

    const m = await p.metrics();
    assert.ok(metric(m, 'portico_upstream_retries_total', 'upstream="svc"') > 0, 'retries happened');
    assert.ok(metric(m, 'portico_upstream_health_checks_failed_total', `endpoint="${b.address}"`) >= 2);
    assert.equal(metric(m, 'portico_upstream_endpoint_healthy', `endpoint="${b.address}"`), 1);
    assert.equal(metric(m, 'portico_upstream_endpoints_usable', 'upstream="svc"'), 3);
  } finally {
    await p.stop();
  }
});

test('passive ejection alone (no active checks) keeps requests whole when an endpoint dies', async () => {
  const services = await startServices(['a', 'b', 'c']);
  const [, b] = services;
  const p = await Portico.start(config(services, `
    outlier: {consecutive_failures: 1, ejection_time: 30s}`));
  try {
    const load = startLoad(`${p.url}/x`, { concurrency: 8 });
    await waitFor(() => (load.stats.byName.b ?? 0) > 20, { what: 'traffic on b' });
    await b.kill();
    await sleep(1500);
    const stats = await load.stop();
    assert.equal(stats.failed, 0, `failed requests: ${JSON.stringify(stats.errors)}`);
    const state = await upstreamState(p);
    assert.ok(state.endpoints.find((e) => e.address === b.address).ejected, JSON.stringify(state));
    const m = await p.metrics();
    assert.equal(metric(m, 'portico_upstream_ejections_total', `endpoint="${b.address}"`), 1);
    assert.equal(metric(m, 'portico_upstream_endpoint_ejected', `endpoint="${b.address}"`), 1);
  } finally {
    await p.stop();
  }
});

test('all endpoints dead: fast 503 with a clear JSON error; service resumes when one returns', async () => {
  const services = await startServices(['a', 'b', 'c']);
  const p = await Portico.start(config(services, `
    health: {path: /healthz, interval: 200ms, timeout: 150ms, healthy_threshold: 1, unhealthy_threshold: 1}`));
  try {
    assert.equal((await request(`${p.url}/x`)).status, 200);
    for (const s of services) await s.kill();
    await waitFor(async () => (await upstreamState(p)).usable === 0, { what: 'all endpoints unhealthy' });
    const started = Date.now();
    for (let i = 0; i < 50; i++) {
      const r = await json(`${p.url}/x`);
      assert.equal(r.status, 503);
      assert.match(r.json.error, /no usable endpoint for upstream "svc": all 3 endpoints are down \(3 failing health checks, 0 ejected\)/);
      assert.equal(r.json.request_id, r.headers['x-request-id']);
    }
    const perRequest = (Date.now() - started) / 50;
    assert.ok(perRequest < 20, `503s took ${perRequest} ms each`);
    const m = await p.metrics();
    assert.ok(metric(m, 'portico_upstream_unavailable_total', 'upstream="svc"') >= 50);

    await services[2].start();
    await waitFor(async () => (await request(`${p.url}/x`)).status === 200, { timeoutMs: 5000, what: 'recovery' });
    const r = await json(`${p.url}/x`);
    assert.equal(r.json.name, 'c');
  } finally {
    await p.stop();
  }
});

test('an endpoint failing its health check (but accepting connections) is taken out and put back', async () => {
  const services = await startServices(['a', 'b']);
  const [a, b] = services;
  const p = await Portico.start(config(services, `
    health: {path: /healthz, interval: 100ms, timeout: 100ms, healthy_threshold: 2, unhealthy_threshold: 2, expect_status: [200]}`));
  try {
    await b.control('health?status=500');
    await waitFor(async () => (await upstreamState(p)).usable === 1, { what: 'b unhealthy' });
    const state = await upstreamState(p);
    const eb = state.endpoints.find((e) => e.address === b.address);
    assert.equal(eb.healthy, false);
    assert.equal(eb.last_check_failure, 'HTTP 500');
    for (let i = 0; i < 20; i++) assert.equal((await json(`${p.url}/x`)).json.name, 'a');
    await b.control('health?status=200');
    await waitFor(async () => (await upstreamState(p)).usable === 2, { what: 'b healthy again' });
    const seen = new Set();
    for (let i = 0; i < 40; i++) seen.add((await json(`${p.url}/x`)).json.name);
    assert.deepEqual([...seen].sort(), ['a', 'b']);
    await p.waitForLog(new RegExp(`endpoint ${b.address} is unhealthy: HTTP 500`));
    await p.waitForLog(new RegExp(`endpoint ${b.address} is healthy again`));
    void a;
  } finally {
    await p.stop();
  }
});

test('outlier ejection stops at max_ejected; retries still carry every request', async () => {
  const services = await startServices(['a', 'b', 'c']);
  const [, b, c] = services;
  const p = await Portico.start(config(services, `
    balance: round_robin
    outlier: {consecutive_failures: 1, ejection_time: 30s, max_ejected: 30%}
    retries: {attempts: 3}`));
  try {
    await b.kill();
    await c.kill();
    const stats = await sendMany(`${p.url}/x`, 60, { concurrency: 2 });
    assert.equal(stats.failed, 0, JSON.stringify(stats.errors));
    assert.deepEqual(stats.byName, { a: 60 });
    // One of the dead pair is out; 1 of 3 (33%) is past 30%, so the other stays in.
    const state = await upstreamState(p);
    assert.equal(state.endpoints.filter((e) => e.ejected).length, 1, JSON.stringify(state));
    assert.equal(state.usable, 2);
    await p.waitForLog(/is failing, but 1 of 3 endpoints are ejected already \(max_ejected 30%\)/);
  } finally {
    await p.stop();
  }
});
