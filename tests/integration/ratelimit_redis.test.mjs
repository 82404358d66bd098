// Rate limits shared through a real Redis (Debian's redis-server): three Portico
// instances under concurrent load allow one limit's worth between them; Redis killed
// or frozen mid-test gives each limit its configured behaviour (this instance's own
// count, allow, or 503) without a crash, and decisions return to Redis when it is back;
// quotas in Redis are shared and survive restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Portico, json, metric, request, sleep, waitFor } from './lib/harness.mjs';
import { startLoad, startRedis } from './lib/peers.mjs';

const OK_BODY = '{"name":"limited"}';
const ACME = 'acme-live-6f0c2b9e4d7a1358';

const redis = await startRedis();

test('three instances share one Redis-backed limit: total allowed within 1% of burst + rate × time', async (t) => {
  await redis.cmd('FLUSHALL');
  const config = `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
redis: {address: "${redis.address}", timeout: 500ms}
rate_limits:
  shared: {rate: 200/s, burst: 20, key: route, store: redis}
routes:
  - match: {path: /api}
    respond: {status: 200, body: '${OK_BODY}'}
    rate_limit: shared
`;
  const instances = await Promise.all([0, 1, 2].map(() => Portico.start(config)));
  try {
    // Connections first, so the measured window is all decided by Redis.
    for (const p of instances) await request(`${p.url}/api`);
    await sleep(1200);  // the probes' tokens are back
    const loads = instances.map((p) => startLoad(`${p.url}/api`, { concurrency: 12 }));
    await sleep(5000);
    const results = await Promise.all(loads.map((l) => l.stop()));
    // From the first answer of any instance to the last: the span Redis decided over.
    const elapsed = (Math.max(...results.map((s) => s.lastAt)) - Math.min(...results.map((s) => s.firstAt))) / 1000;
    const allowed = results.reduce((n, s) => n + (s.statuses[200] ?? 0), 0);
    const refused = results.reduce((n, s) => n + (s.statuses[429] ?? 0), 0);
    const exact = 20 + 200 * elapsed;
    t.diagnostic(`allowed ${allowed} (${results.map((s) => s.statuses[200] ?? 0).join(' + ')}), refused ${refused}; ` +
      `exact ${exact.toFixed(1)} over ${elapsed.toFixed(3)} s`);
    for (const s of results) assert.equal(s.total, (s.statuses[200] ?? 0) + (s.statuses[429] ?? 0), JSON.stringify(s.errors));
    assert.ok(results.every((s) => (s.statuses[200] ?? 0) > 100), 'every instance got a share');
    assert.ok(Math.abs(allowed - exact) <= exact * 0.01, `allowed ${allowed}, exact ${exact.toFixed(1)} (within 1%)`);
    let commands = 0, prechecked = 0, requests = 0;
    for (const p of instances) {
      const m = await p.metrics();
      assert.equal(metric(m, 'portico_redis_command_seconds_count'), metric(m, 'portico_redis_commands_total'),
        'every round trip timed');
      assert.ok(metric(m, 'portico_redis_command_seconds_bucket', 'le="0.1"') > 0);
      commands += metric(m, 'portico_redis_commands_total');
      prechecked += metric(m, 'portico_ratelimit_decisions_total', 'policy="shared",result="prechecked"');
      requests += metric(m, 'portico_http_requests_total');
      assert.equal(metric(m, 'portico_redis_connected'), 2, 'one connection per worker');
      assert.equal(metric(m, 'portico_redis_errors_total'), 0);
    }
    t.diagnostic(`Redis commands ${commands} for ${requests} requests; ${prechecked} refused by the local pre-check`);
    assert.ok(commands <= requests + 6, 'at most one round trip per request (plus a script load per worker)');
  } finally {
    await Promise.all(instances.map((p) => p.stop()));
  }
});

test('the local pre-check: a key this instance alone has spent is refused without a Redis round trip', async () => {
  await redis.cmd('FLUSHALL');
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 1}
redis: "${redis.address}"
rate_limits:
  per_ip: {rate: 1/min, burst: 5, key: ip, store: redis}
routes:
  - {match: {path: /api}, respond: {status: 200, body: '${OK_BODY}'}, rate_limit: per_ip}
`);
  try {
    const statuses = [];
    for (let i = 0; i < 50; i++) statuses.push((await request(`${p.url}/api`)).status);
    assert.deepEqual(statuses.slice(0, 6), [200, 200, 200, 200, 200, 429]);
    assert.ok(statuses.slice(5).every((s) => s === 429));
    const m = await p.metrics();
    assert.equal(metric(m, 'portico_ratelimit_decisions_total', 'policy="per_ip",result="prechecked"'), 45);
    assert.ok(metric(m, 'portico_redis_commands_total') <= 6, 'Redis asked only for the five that passed');
    assert.equal((await redis.cmd('PTTL', 'portico:rl:per_ip:127.0.0.1')).trim() > 0, true, 'the key expires by itself');
  } finally {
    await p.stop();
  }
});

test('Redis killed mid-test: each limit falls back as configured, nothing crashes, and Redis decides again when back', async (t) => {
  await redis.cmd('FLUSHALL');
  // Whatever happens here, the next tests get a running Redis.
  t.after(async () => { if (redis.proc.exitCode !== null || redis.proc.signalCode !== null) await redis.start(); });
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
redis: {address: "${redis.address}", timeout: 200ms, connect_timeout: 200ms}
rate_limits:
  fallback_local: {rate: 1/min, burst: 3, key: ip, store: redis}
  fail_open: {rate: 1/min, burst: 3, key: ip, store: redis, on_store_error: allow}
  fail_closed: {rate: 1/min, burst: 3, key: ip, store: redis, on_store_error: deny}
routes:
  - {match: {path: /local}, respond: {status: 200, body: '${OK_BODY}'}, rate_limit: fallback_local}
  - {match: {path: /open}, respond: {status: 200, body: '${OK_BODY}'}, rate_limit: fail_open}
  - {match: {path: /closed}, respond: {status: 200, body: '${OK_BODY}'}, rate_limit: fail_closed}
`);
  try {
    const status = async (path) => (await request(`${p.url}${path}`)).status;
    assert.equal(await status('/open'), 200);
    assert.equal(await status('/closed'), 200);
    assert.ok(await redis.cmd('KEYS', 'portico:rl:*'), 'counted in Redis');

    await redis.kill();
    const load = startLoad(`${p.url}/open`, { concurrency: 4 });  // traffic all through the outage
    await sleep(300);
    // Open: everything passes. Closed: 503. Local: this instance's own count (3 at once).
    for (let i = 0; i < 6; i++) assert.equal(await status('/open'), 200);
    const closed = await json(`${p.url}/closed`);
    assert.equal(closed.status, 503);
    assert.equal(closed.json.error, 'the rate limit store is unavailable; try again later');
    assert.equal(closed.headers['retry-after'], '1');
    const local = [];
    for (let i = 0; i < 5; i++) local.push(await status('/local'));
    assert.deepEqual(local, [200, 200, 200, 429, 429]);
    await p.waitForLog(/rate limits: Redis at 127\.0\.0\.1:\d+ cannot decide \(.+\); limits fall back as configured/);
    let m = await p.metrics();
    assert.ok(metric(m, 'portico_ratelimit_decisions_total', 'policy="fail_open",result="store_error_allowed"') >= 6);
    assert.ok(metric(m, 'portico_ratelimit_decisions_total', 'policy="fail_closed",result="store_error_denied"') >= 1);
    // Three decided by this instance's count; then its own count refuses before asking.
    assert.equal(metric(m, 'portico_ratelimit_decisions_total', 'policy="fallback_local",result="store_error_local"'), 3);
    assert.equal(metric(m, 'portico_ratelimit_decisions_total', 'policy="fallback_local",result="prechecked"'), 2);
    assert.equal(metric(m, 'portico_redis_connected'), 0);
    await waitFor(async () => metric(await p.metrics(), 'portico_redis_connect_failures_total') >= 2,
      { what: 'reconnect attempts failing (and counted) while Redis is down' });
    const stats = await load.stop();
    assert.ok(stats.total > 100);
    assert.equal(stats.failed, 0, `the open route passed everything: ${stats.errors.join('; ')}`);

    const connectsBefore = metric(m, 'portico_redis_connects_total');
    await redis.start();
    await waitFor(async () => metric(await p.metrics(), 'portico_redis_connected') === 2,
      { timeoutMs: 10000, what: 'both workers reconnected' });
    assert.equal(await status('/closed'), 200, 'Redis decides again');
    m = await p.metrics();
    assert.equal(metric(m, 'portico_redis_connects_total'), connectsBefore + 2, 'each worker connected again');
  } finally {
    await p.stop();
  }
});

test('Redis frozen (no answers): requests wait at most redis.timeout, then fall back; it recovers on thaw', async () => {
  await redis.cmd('FLUSHALL');
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 1}
redis: {address: "${redis.address}", timeout: 300ms}
rate_limits:
  per_ip: {rate: 100/s, burst: 100, key: ip, store: redis, on_store_error: allow}
routes:
  - {match: {path: /api}, respond: {status: 200, body: '${OK_BODY}'}, rate_limit: per_ip}
`);
  try {
    assert.equal((await request(`${p.url}/api`)).status, 200);
    redis.pause();
    const started = performance.now();
    const answers = await Promise.all([0, 1, 2, 3].map(() => request(`${p.url}/api`)));
    const waited = performance.now() - started;
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200]);
    assert.ok(waited >= 250 && waited < 1500, `answered after ${waited.toFixed(0)} ms (timeout 300 ms)`);
    const m = await p.metrics();
    assert.ok(metric(m, 'portico_redis_timeouts_total') >= 1);
    redis.resume();
    await waitFor(async () => {
      const before = metric(await p.metrics(), 'portico_ratelimit_decisions_total', 'policy="per_ip",result="allowed"');
      await request(`${p.url}/api`);
      const after = metric(await p.metrics(), 'portico_ratelimit_decisions_total', 'policy="per_ip",result="allowed"');
      return after === before + 1;
    }, { timeoutMs: 10000, what: 'Redis deciding again' });
  } finally {
    redis.resume();
    await p.stop();
  }
});

test('usage plan quotas in Redis: shared by instances, kept across restarts', async () => {
  await redis.cmd('FLUSHALL');
  const config = `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
redis: "${redis.address}"
auth:
  api_keys:
    keys: {}
usage_plans:
  trial: {quota: {day: 4}, store: redis}
consumers:
  acme: {keys: ["${ACME}"], plan: trial}
routes:
  - {match: {path: /api}, respond: {status: 200, body: '${OK_BODY}'}, auth: keys}
`;
  const a = await Portico.start(config);
  const b = await Portico.start(config);
  const get = (p) => json(`${p.url}/api`, { headers: { 'x-api-key': ACME } });
  try {
    assert.equal((await get(a)).status, 200);
    assert.equal((await get(b)).status, 200);
    assert.equal((await get(a)).status, 200);
  } finally {
    await a.stop();
  }
  const c = await Portico.start(config);
  try {
    const used = await redis.cmd('GET', `portico:quota:trial:acme:d:${new Date().toISOString().slice(0, 10)}`);
    assert.equal(used.trim(), '3');
    assert.equal((await get(c)).status, 200, 'the fourth, after a restart');
    const r = await get(b);
    assert.equal(r.status, 429);
    assert.match(r.json.error, /^daily quota of plan "trial" used up \(4 requests\)/);
  } finally {
    await Promise.all([b.stop(), c.stop()]);
  }
});
