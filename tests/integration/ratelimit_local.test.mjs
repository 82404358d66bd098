// Local rate limits: one exact limit for all worker threads under load, the 429 and the
// RateLimit fields, keys (IP, header, consumer, route scope), limits before and after
// authentication, reloads that keep counts, and usage-plan quotas that survive restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Portico, json, metric, request, sleep } from './lib/harness.mjs';
import { startLoad } from './lib/peers.mjs';

const OK_BODY = '{"name":"limited"}';  // startLoad counts a 200 by its JSON name
const ACME = 'acme-live-6f0c2b9e4d7a1358';
const GLOBEX = 'globex-live-0a9d8c7b6e5f4321';

// Counts a load's allowed requests over about `seconds`, and the span over which they
// were decided: from the first answer to the last (the client's start-up and a busy
// machine's scheduling delays do not count). GCRA allows exactly burst + rate × span.
async function hammer(url, { seconds, concurrency, headers = {} }) {
  const load = startLoad(url, { concurrency, headers });
  await sleep(seconds * 1000);
  const stats = await load.stop();
  return { stats, elapsed: (stats.lastAt - stats.firstAt) / 1000 };
}

test('local: 4 workers share one 100/s limit (burst 10) exactly under 5 s of load from 32 connections', async (t) => {
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 4}
rate_limits:
  global: {rate: 100/s, burst: 10, key: route}
routes:
  - match: {path: /api}
    respond: {status: 200, body: '${OK_BODY}'}
    rate_limit: global
`);
  try {
    const { stats, elapsed } = await hammer(`${p.url}/api`, { seconds: 5, concurrency: 32 });
    const exact = 10 + 100 * elapsed;
    const allowed = stats.statuses[200] ?? 0;
    t.diagnostic(`allowed ${allowed} of ${stats.total}; exact ${exact.toFixed(1)} over ${elapsed.toFixed(3)} s`);
    assert.ok(stats.statuses[429] > 1000, `the limit was hammered: ${JSON.stringify(stats.statuses)}`);
    assert.equal(stats.total, (stats.statuses[200] ?? 0) + stats.statuses[429], 'only 200s and 429s');
    assert.ok(Math.abs(allowed - exact) <= exact * 0.01,
      `allowed ${allowed}, exact ${exact.toFixed(1)} over ${elapsed.toFixed(3)} s (within 1%)`);
    const m = await p.metrics();
    assert.equal(metric(m, 'portico_ratelimit_decisions_total', 'policy="global",result="allowed"'), allowed);
    assert.equal(metric(m, 'portico_ratelimit_decisions_total', 'policy="global",result="limited"'), stats.statuses[429]);
  } finally {
    await p.stop();
  }
});

test('429 with Retry-After and a JSON reason; RateLimit-Policy and RateLimit on every answer (draft), or the legacy trio', async () => {
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
rate_limits:
  per_ip: {rate: 2/s, burst: 3, key: ip}
  per_tenant: {rate: 6000/min, burst: 2, key: "header:X-Tenant", scope: route}
  legacy: {rate: 10/s, burst: 2, key: ip, headers: legacy}
  quiet: {rate: 10/s, burst: 5, key: ip, headers: off}
routes:
  - match: {path: /a}
    respond: {status: 200, body: '${OK_BODY}'}
    rate_limit: [per_ip, per_tenant]
  - match: {path: /b}
    respond: {status: 200, body: '${OK_BODY}'}
    rate_limit: per_tenant
  - match: {path: /legacy}
    respond: {status: 200, body: '${OK_BODY}'}
    rate_limit: [legacy, quiet]
`);
  try {
    const get = (path, tenant) => json(`${p.url}${path}`, tenant ? { headers: { 'x-tenant': tenant } } : {});
    let r = await get('/a', 't1');
    assert.equal(r.status, 200);
    assert.equal(r.headers['ratelimit-policy'], '"per_ip";q=2;w=1, "per_tenant";q=6000;w=60');
    assert.equal(r.headers.ratelimit, '"per_ip";r=2;t=1, "per_tenant";r=1;t=1');
    r = await get('/a', 't2');
    assert.equal(r.headers.ratelimit, '"per_ip";r=1;t=1, "per_tenant";r=1;t=1', 'another tenant, same IP');
    r = await get('/a', 't1');
    assert.equal(r.status, 200);
    r = await get('/a', 't1');  // per_ip has 0 left: refused by per_ip first
    assert.equal(r.status, 429);
    assert.equal(r.json.error, 'rate limit exceeded: per_ip allows 2/s (burst 3); retry in 1 s');
    assert.equal(r.json.request_id, r.headers['x-request-id']);
    assert.equal(r.headers['retry-after'], '1');
    assert.match(r.headers.ratelimit, /^"per_ip";r=0;t=\d$/, 'only the limits checked are reported');

    // scope: route: /b counts tenants separately from /a.
    r = await get('/b', 't1');
    assert.equal(r.status, 200);
    assert.equal(r.headers.ratelimit, '"per_tenant";r=1;t=1');
    // A request without the header shares one bucket with the others that lack it.
    assert.equal((await get('/b')).status, 200);
    assert.equal((await get('/b')).status, 200);
    r = await get('/b');
    assert.equal(r.status, 429);
    assert.match(r.json.error, /^rate limit exceeded: per_tenant allows 6000\/min \(burst 2\); retry in 1 s$/);

    r = await get('/legacy');
    assert.equal(r.headers['ratelimit-limit'], '10');
    assert.equal(r.headers['ratelimit-remaining'], '1');
    assert.equal(r.headers['ratelimit-reset'], '1');
    assert.equal(r.headers['ratelimit-policy'], undefined, 'off and legacy policies add no draft fields');
    await get('/legacy');
    r = await get('/legacy');
    assert.equal(r.status, 429);
    assert.equal(r.headers['ratelimit-remaining'], '0');
    await sleep(1100);
    assert.equal((await get('/legacy')).status, 200, 'refilled');
  } finally {
    await p.stop();
  }
});

test('limits keyed on the request run before authentication, so bad credentials spend them; consumer limits after', async () => {
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 1}
auth:
  api_keys:
    keys: {}
consumers:
  acme: {keys: ["${ACME}"]}
  globex: {keys: ["${GLOBEX}"]}
rate_limits:
  per_ip: {rate: 1/min, burst: 5, key: ip}
  per_consumer: {rate: 1/min, burst: 2, key: consumer}
routes:
  - match: {path: /api}
    respond: {status: 200, body: '${OK_BODY}'}
    auth: keys
    rate_limit: [per_consumer, per_ip]
`);
  try {
    const get = (key) => request(`${p.url}/api`, key ? { headers: { 'x-api-key': key } } : {});
    assert.equal((await get('wrong-key-0000000000000')).status, 401);
    assert.equal((await get()).status, 401);
    assert.equal((await get(ACME)).status, 200);
    assert.equal((await get(ACME)).status, 200);
    const third = await json(`${p.url}/api`, { headers: { 'x-api-key': ACME } });
    assert.equal(third.status, 429, 'acme spent its 2');
    assert.match(third.json.error, /^rate limit exceeded: per_consumer allows 1\/min \(burst 2\); retry in (59|60) s$/);
    // per_ip: 5 at once, spent by the two 401s, two 200s and the 429 above.
    const blocked = await json(`${p.url}/api`, { headers: { 'x-api-key': GLOBEX } });
    assert.equal(blocked.status, 429);
    assert.match(blocked.json.error, /^rate limit exceeded: per_ip/);
    assert.equal((await get('wrong-key-0000000000000')).status, 429, 'refused before the key is even looked at');
  } finally {
    await p.stop();
  }
});

test('a reload keeps the counts of unchanged policies; a changed policy starts afresh; rate_limit: none opts out', async () => {
  const config = (rate, extra = '') => `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0}
rate_limits:
  per_ip: {rate: ${rate}, burst: 2, key: ip, routes: all}
routes:
  - match: {path: /api}
    respond: {status: 200, body: '${OK_BODY}'}
  - match: {path: /health}
    respond: {status: 200, body: ok}
    rate_limit: none
${extra}`;
  const p = await Portico.start(config('1/min'));
  try {
    assert.equal((await request(`${p.url}/api`)).status, 200);
    assert.equal((await request(`${p.url}/api`)).status, 200);
    assert.equal((await request(`${p.url}/api`)).status, 429);
    for (let i = 0; i < 5; i++) assert.equal((await request(`${p.url}/health`)).status, 200);

    p.writeConfig(config('1/min', '  - match: {path: /other}\n    echo: true'));
    await p.waitForLog(/config reloaded \(file change\): generation 2/);
    assert.equal((await request(`${p.url}/api`)).status, 429, 'still spent after the reload');

    p.writeConfig(config('2/min'));
    await p.waitForLog(/generation 3/);
    assert.equal((await request(`${p.url}/api`)).status, 200, 'a new definition, a new bucket');
  } finally {
    await p.stop();
  }
});

test('usage plans: a per-consumer throttle and daily quota; the quota survives a restart and a crash', async () => {
  const config = `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2, data_dir: ./state}
auth:
  api_keys:
    keys: {}
usage_plans:
  basic: {rate: 100/s, quota: {day: 5, month: 1000}}
consumers:
  acme: {keys: ["${ACME}"], plan: basic}
  globex: {keys: ["${GLOBEX}"]}
routes:
  - match: {path: /api}
    respond: {status: 200, body: '${OK_BODY}'}
    auth: keys
`;
  let p = await Portico.start(config);
  const dir = p.dir;
  const get = (key) => json(`${p.url}/api`, { headers: { 'x-api-key': key } });
  try {
    let r = await get(ACME);
    assert.equal(r.status, 200);
    assert.match(r.headers['ratelimit-policy'], /^"basic";q=100;w=1, "basic-day";q=5;w=86400, "basic-month";q=1000;w=\d+$/);
    assert.match(r.headers.ratelimit, /"basic-day";r=4;t=\d+, "basic-month";r=999;t=\d+$/);
    await get(ACME);
    assert.equal((await get(GLOBEX)).status, 200, 'no plan, no quota');
  } finally {
    await p.stop();
  }
  // Graceful restart: 2 used, 3 left.
  p = await Portico.start(config, { dir });
  try {
    await p.waitForLog(/quotas: 2 usage counts restored from .*state\/quotas\.sqlite3/);
    assert.equal((await get(ACME)).status, 200);
    await sleep(1500);  // saved within a second
  } finally {
    await p.stop({ signal: 'SIGKILL' });
  }
  // After a crash: 3 used.
  p = await Portico.start(config, { dir });
  try {
    assert.equal((await get(ACME)).status, 200);
    assert.equal((await get(ACME)).status, 200);
    const r = await get(ACME);
    assert.equal(r.status, 429);
    assert.match(r.json.error, /^daily quota of plan "basic" used up \(5 requests\); it renews at \d{4}-\d\d-\d\dT00:00:00Z$/);
    assert.ok(Number(r.headers['retry-after']) > 0 && Number(r.headers['retry-after']) <= 86400);
    const m = await p.metrics();
    assert.equal(metric(m, 'portico_usage_plan_decisions_total', 'plan="basic",result="quota_exceeded"'), 1);
  } finally {
    await p.stop();
  }
});
