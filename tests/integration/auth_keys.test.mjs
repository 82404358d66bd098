// API keys and consumers (in the config and in a file), per-route allow/deny by consumer
// and group, a consumer matched from a JWT claim, routes taking either of two methods,
// and CORS at the edge (preflights before auth, headers on every answer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { Portico, json, metric, request, tempDir, waitFor } from './lib/harness.mjs';
import { startService } from './lib/peers.mjs';
import * as t from './lib/tokens.mjs';

const upstream = await startService('api');
const hs = await t.makeKey('HS256');
const ACME_KEY = 'acme-live-6f0c2b9e4d7a1358';
const GLOBEX_KEY = 'globex-live-0a9d8c7b6e5f4321';
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');

const config = (consumers = `
consumers:
  acme: {keys: ["${ACME_KEY}"], ids: [acme-client], groups: [partners]}
  globex: {key_hashes: ["${sha256(GLOBEX_KEY)}"], groups: [trial]}
  blocked: {keys: ["blocked-live-1234567890"], groups: [partners]}`) => `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0}
upstreams:
  svc: {endpoints: [${upstream.address}]}
auth:
  jwt:
    users:
      keys: [${JSON.stringify(hs.publicJwk)}]
      consumer_claim: client_id
  api_keys:
    keys:
      from: ["header:X-API-Key", "query:api_key"]
${consumers}
cors:
  origins: ["https://app.example.com", "https://*.example.org"]
  headers: [authorization, x-api-key, content-type]
  expose_headers: [X-Request-Id]
  credentials: true
  max_age: 10m
routes:
  - match: {path: "/partners/{rest...}"}
    upstream: svc
    auth: keys
    require: {groups: [partners]}
    deny: {consumers: [blocked]}
  - match: {path: "/either/{rest...}", methods: [GET, POST]}
    upstream: svc
    auth: [users, keys]
  - match: {path: "/jwt-partners/{rest...}"}
    upstream: svc
    auth: users
    require: {groups: [partners]}
  - match: {path: "/public/{rest...}"}
    upstream: svc
  - match: {path: "/nocors/{rest...}"}
    upstream: svc
    cors: off
`;

test('API keys identify consumers; groups and deny lists decide per route; the key does not reach the upstream', async () => {
  const p = await Portico.start(config());
  try {
    const get = (path, key) => json(`${p.url}${path}`, key ? { headers: { 'x-api-key': key } } : {});
    let r = await get('/partners/orders', ACME_KEY);
    assert.equal(r.status, 200);
    assert.equal(r.json.headers['x-api-key'], undefined, 'stripped');
    r = await json(`${p.url}/partners/orders?api_key=${ACME_KEY}`);
    assert.equal(r.status, 200, 'from the query parameter');

    r = await get('/partners/orders', GLOBEX_KEY);  // configured by hash, in group trial
    assert.equal(r.status, 403);
    assert.equal(r.json.error, 'consumer "globex" may not use this route');
    r = await get('/partners/orders', 'blocked-live-1234567890');  // a partner, but denied by name
    assert.equal(r.status, 403);
    assert.equal(r.json.error, 'consumer "blocked" may not use this route');
    r = await get('/partners/orders', 'not-a-key-at-all-000');
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'the API key is not valid');
    assert.equal(r.headers['www-authenticate'], 'APIKey realm="portico"');
    r = await get('/partners/orders');
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'authentication required: an API key in header:X-API-Key or an API key in query:api_key');

    const m = await p.metrics();
    assert.equal(metric(m, 'portico_auth_decisions_total', 'method="keys",result="allowed"'), 2);
    assert.equal(metric(m, 'portico_auth_decisions_total', 'method="keys",result="forbidden"'), 2);
    assert.equal(metric(m, 'portico_auth_decisions_total', 'method="keys",result="invalid"'), 1);
    // Keys are never shown, not even hashed.
    const cfg = (await request(`${p.adminUrl}/config`)).body.toString();
    assert.ok(!cfg.includes(ACME_KEY) && !cfg.includes(sha256(ACME_KEY)) && !cfg.includes(sha256(GLOBEX_KEY)));
    assert.deepEqual(JSON.parse(cfg).consumers.acme, { keys: 1, ids: ['acme-client'], groups: ['partners'] });
  } finally {
    await p.stop();
  }
});

test('a route taking a JWT or an API key: either works; the first credential present decides', async () => {
  const p = await Portico.start(config());
  try {
    const token = await t.sign(hs, { iss: undefined, aud: undefined });
    assert.equal((await request(`${p.url}/either/x`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    assert.equal((await request(`${p.url}/either/x`, { headers: { 'x-api-key': ACME_KEY } })).status, 200);
    // A bad token is refused even with a good key: the token came first.
    const r = await json(`${p.url}/either/x`, { headers: { authorization: `Bearer ${t.tampered(token)}`, 'x-api-key': ACME_KEY } });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'the signature is invalid');
    // Neither: both challenges.
    const none = await request(`${p.url}/either/x`);
    assert.equal(none.status, 401);
    const challenges = none.rawHeaders.filter((_, i, a) => i % 2 === 1 && a[i - 1].toLowerCase() === 'www-authenticate');
    assert.deepEqual(challenges, ['Bearer realm="portico"', 'APIKey realm="portico"']);
  } finally {
    await p.stop();
  }
});

test('a JWT claim names the consumer: its groups apply to the route', async () => {
  const p = await Portico.start(config());
  try {
    const base = { iss: undefined, aud: undefined };
    const acme = await t.sign(hs, { ...base, client_id: 'acme-client' });
    assert.equal((await request(`${p.url}/jwt-partners/x`, { headers: { authorization: `Bearer ${acme}` } })).status, 200);
    const unknown = await json(`${p.url}/jwt-partners/x`, { headers: { authorization: `Bearer ${await t.sign(hs, { ...base, client_id: 'stranger' })}` } });
    assert.equal(unknown.status, 403);
    assert.equal(unknown.json.error, 'this route is only for known consumers');
  } finally {
    await p.stop();
  }
});

test('consumers from a file: changes apply on save; a broken file keeps the running config', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'consumers.yaml');
  const blocked = 'blocked: {keys: ["blocked-live-1234567890"]}\n';  // the routes name it
  fs.writeFileSync(file, `acme: {keys: ["${ACME_KEY}"], groups: [partners]}\n${blocked}`);
  const p = await Portico.start(config('consumers: consumers.yaml'), { dir });
  try {
    const get = (key) => request(`${p.url}/partners/x`, { headers: { 'x-api-key': key } });
    assert.equal((await get(ACME_KEY)).status, 200);
    assert.equal((await get(GLOBEX_KEY)).status, 401);
    fs.writeFileSync(`${file}.tmp`, `acme: {keys: ["${ACME_KEY}"], groups: [partners]}\nglobex: {keys: ["${GLOBEX_KEY}"], groups: [partners]}\n${blocked}`);
    fs.renameSync(`${file}.tmp`, file);
    await waitFor(async () => (await get(GLOBEX_KEY)).status === 200, { what: 'the new consumer' });

    fs.writeFileSync(`${file}.tmp`, `acme: {keys: [short]}\n${blocked}`);
    fs.renameSync(`${file}.tmp`, file);
    await p.waitForLog(/consumers\.yaml:1:\d+: consumers\.acme\.keys: an API key must be at least 16 characters/);
    assert.equal((await get(GLOBEX_KEY)).status, 200, 'the running config keeps serving');
  } finally {
    await p.stop();
  }
});

test('CORS: preflights answered before auth; allowed origins get the headers on every answer, others none', async () => {
  const p = await Portico.start(config());
  try {
    const origin = 'https://app.example.com';
    // Preflight for an authenticated route: no credentials needed, none checked.
    let r = await request(`${p.url}/partners/orders`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'X-API-Key, Content-Type' },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], origin);
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.equal(r.headers['access-control-allow-headers'], 'x-api-key, content-type');
    assert.equal(r.headers['access-control-max-age'], '600');
    assert.equal(r.headers.vary, 'Origin');
    // Methods come from the route when CORS does not list them.
    r = await request(`${p.url}/either/x`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET' } });
    assert.equal(r.headers['access-control-allow-methods'], 'GET, POST');
    // Refused preflights: bad origin, header or method; no CORS headers at all.
    for (const [headers, why] of [
      [{ origin: 'https://evil.example.com', 'access-control-request-method': 'GET' }, 'origin not allowed'],
      [{ origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-secret' }, 'request header x-secret not allowed'],
      [{ origin, 'access-control-request-method': 'DELETE' }, 'method DELETE not allowed'],
    ]) {
      const refused = await json(`${p.url}/either/x`, { method: 'OPTIONS', headers });
      assert.equal(refused.status, 403);
      assert.equal(refused.json.error, `CORS preflight refused: ${why}`);
      assert.equal(refused.headers['access-control-allow-origin'], undefined);
    }
    // A wildcard subdomain pattern.
    r = await request(`${p.url}/public/x`, { headers: { origin: 'https://shop.example.org' } });
    assert.equal(r.headers['access-control-allow-origin'], 'https://shop.example.org');
    assert.equal((await request(`${p.url}/public/x`, { headers: { origin: 'https://example.org' } })).headers['access-control-allow-origin'], undefined);

    // Actual requests: a 401 still carries the headers, so the browser can read it.
    r = await request(`${p.url}/partners/x`, { headers: { origin } });
    assert.equal(r.status, 401);
    assert.equal(r.headers['access-control-allow-origin'], origin);
    assert.equal(r.headers['access-control-expose-headers'], 'X-Request-Id');
    // The upstream's own CORS header is replaced, not duplicated.
    r = await request(`${p.url}/public/x?acao=*`, { headers: { origin } });
    assert.equal(r.headers['access-control-allow-origin'], origin);
    r = await request(`${p.url}/public/x?acao=*`, { headers: { origin: 'https://evil.example.com' } });
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    assert.equal(r.headers.vary, 'Origin');
    // cors: off on a route: the upstream's answer as it is.
    r = await request(`${p.url}/nocors/x?acao=*`, { headers: { origin } });
    assert.equal(r.headers['access-control-allow-origin'], '*');
  } finally {
    await p.stop();
  }
});

test('config errors for consumers, policies and CORS name the place and the fix', async () => {
  const bad = await Portico.start(`
auth:
  api_keys:
    keys: {from: [bearer]}
consumers:
  acme: {keys: ["${ACME_KEY}"], groups: [partners]}
  copy: {keys: ["${ACME_KEY}"]}
cors: {origins: ["*"], credentials: true}
routes:
  - match: {path: /a}
    echo: true
    auth: keys
    require: {consumers: [acmee], groups: [partner]}
  - match: {path: /b}
    echo: true
    require: {scopes: [x]}
  - match: {path: /c}
    echo: true
    cors: {origins: ["app.example.com"]}
`, { expectFailure: true });
  const e = bad.stderr;
  assert.match(e, /auth\.api_keys\.keys\.from: API keys are read from a header, cookie or query parameter, not bearer/);
  assert.match(e, /consumers\.copy: an API key of this consumer is also another consumer's/);
  assert.match(e, /cors: credentials: true with origin "\*" would let any site make credentialed requests: list the origins/);
  assert.match(e, /routes\[0\]\.require\.consumers: no consumer "acmee" \(did you mean "acme"\?\)/);
  assert.match(e, /routes\[0\]\.require\.groups: no consumer group "partner" \(did you mean "partners"\?\)/);
  assert.match(e, /routes\[1\]\.require: needs the route to authenticate \(auth: METHOD\)/);
  assert.match(e, /routes\[2\]\.cors\.origins: "app\.example\.com": expected scheme:\/\/host\[:port\], scheme:\/\/\*\.domain or \*/);
});

test('auth.default protects every route that names no method; auth: none opts a route out', async () => {
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0}
upstreams:
  svc: {endpoints: [${upstream.address}]}
auth:
  api_keys:
    keys: {}
  default: keys
consumers:
  acme: {keys: ["${ACME_KEY}"]}
routes:
  - match: {path: "/orders/{rest...}"}
    upstream: svc
  - match: {path: /healthz}
    respond: {status: 200, body: ok}
    auth: none
`);
  try {
    let r = await json(`${p.url}/orders/1`);
    assert.equal(r.status, 401, 'a route without auth uses the default');
    assert.equal(r.json.error, 'authentication required: an API key in header:X-API-Key');
    r = await json(`${p.url}/orders/1`, { headers: { 'x-api-key': ACME_KEY } });
    assert.equal(r.status, 200);
    r = await request(`${p.url}/healthz`);
    assert.equal(r.status, 200, 'auth: none is public');
    const cfg = await json(`${p.adminUrl}/config`);
    assert.deepEqual(cfg.json.auth_default, ['keys']);
    assert.deepEqual(cfg.json.routes.map((route) => route.auth), [['keys'], 'none']);
  } finally {
    await p.stop();
  }
});
