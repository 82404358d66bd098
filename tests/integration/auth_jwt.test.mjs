// JWT authentication end to end: tokens minted by the npm jose library for all 13 JOSE
// algorithms, every kind of bad token refused with the right status and RFC 6750
// challenge, signing keys from a JWKS server process that rotates keys and goes down,
// token sources, forwarded claims, and the verified-token cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Portico, json, metric, request, sleep, waitFor } from './lib/harness.mjs';
import { makeCa } from './lib/certs.mjs';
import { startJwksServer, startService } from './lib/peers.mjs';
import * as t from './lib/tokens.mjs';

const keys = await t.makeKeys();
const upstream = await startService('api');

function config(jwksUrl, extra = '', routeExtra = '', jwksExtra = '') {
  const secrets = ['HS256', 'HS384', 'HS512'].map((a) => `        - ${JSON.stringify(keys[a].publicJwk)}`).join('\n');
  return `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
upstreams:
  svc: {endpoints: [${upstream.address}]}
auth:
  jwt:
    users:
      issuer: ${t.ISSUER}
      audience: ${t.AUDIENCE}
      jwks_url: {url: "${jwksUrl}", min_refetch: 1s, timeout: 2s${jwksExtra}}
      keys:
${secrets}
      forward_claims: {sub: X-User-Id, email: X-User-Email}
      strip_token: true
${extra}
routes:
  - match: {path: "/api/{rest...}"}
    upstream: svc
    auth: users
${routeExtra}
`;
}

const bearer = (token) => ({ headers: { authorization: `Bearer ${token}` } });

function assertInvalid(r, description) {
  assert.equal(r.status, 401, JSON.stringify(r.json));
  assert.equal(r.json.error, description);
  assert.equal(r.json.request_id, r.headers['x-request-id']);
  assert.equal(r.headers['www-authenticate'],
    `Bearer realm="portico", error="invalid_token", error_description="${description.replace(/"/g, '\\"')}"`);
}

test('tokens of all 13 JOSE algorithms are accepted; the upstream gets the claims, not the token', async () => {
  const jwksServer = await startJwksServer(t.jwks(keys));
  const p = await Portico.start(config(jwksServer.url));
  try {
    for (const alg of t.ALGORITHMS) {
      const token = await t.sign(keys[alg], { sub: `user-${alg}`, email: `${alg}@example.com` });
      const r = await json(`${p.url}/api/orders`, { headers: { authorization: `Bearer ${token}`, 'x-user-id': 'spoofed' } });
      assert.equal(r.status, 200, `${alg}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.headers['x-user-id'], `user-${alg}`, `${alg}: the claim, and not the client's header`);
      assert.equal(r.json.headers['x-user-email'], `${alg}@example.com`);
      assert.equal(r.json.headers.authorization, undefined, `${alg}: strip_token`);
    }
    const m = await p.metrics();
    assert.equal(metric(m, 'portico_auth_decisions_total', 'method="users",result="allowed"'), 13);
  } finally {
    await p.stop();
    await jwksServer.kill();
  }
});

test('bad tokens are refused: 401 with the reason, an RFC 6750 challenge and the request id', async () => {
  const jwksServer = await startJwksServer(t.jwks(keys));
  const p = await Portico.start(config(jwksServer.url, '      algorithms: [RS256, RS512, PS256, ES256, EdDSA, HS256]'));
  try {
    const now = Math.floor(Date.now() / 1000);
    const get = (token) => json(`${p.url}/api/x`, bearer(token));
    assertInvalid(await get(await t.sign(keys.RS256, { exp: now - 120 })), 'the token has expired');
    assertInvalid(await get(await t.sign(keys.ES256, { nbf: now + 120 })), 'the token is not valid yet');
    assertInvalid(await get(await t.sign(keys.PS256, { iss: 'https://evil.test' })), "the token's issuer is not accepted");
    assertInvalid(await get(await t.sign(keys.EdDSA, { aud: 'other' })), "the token's audience is not accepted");
    assertInvalid(await get(t.tampered(await t.sign(keys.RS512))), 'the signature is invalid');
    assertInvalid(await get(t.tampered(await t.sign(keys.HS256))), 'the signature is invalid');
    assertInvalid(await get(t.unsigned({})), 'unsigned tokens (alg "none") are not accepted');
    // HS256 "signed" with the RS256 public key: the RSA key never verifies HMAC.
    assertInvalid(await get(await t.confused(keys.RS256)), "no key matches the token's kid");
    // A key of one algorithm does not verify another.
    assertInvalid(await get(await t.sign(keys.ES256, {}, { alg: 'ES256', kid: keys.ES384.kid })), "no key matches the token's kid");
    assertInvalid(await get(await t.sign(keys.ES384)), 'the algorithm ES384 is not accepted');
    assertInvalid(await get('not.a.jwt'), "the token's header is not base64url");
    assertInvalid(await get('x'.repeat(20000)), 'the token is larger than 16384 bytes');

    // No token at all: a bare challenge (RFC 6750 3.1).
    const missing = await json(`${p.url}/api/x`);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers['www-authenticate'], 'Bearer realm="portico"');
    assert.equal(missing.json.error, 'authentication required: a bearer token');
    // Nothing reached the upstream.
    const m = await p.metrics();
    assert.equal(metric(m, 'portico_auth_decisions_total', 'method="users",result="allowed"'), 0);
    assert.ok(metric(m, 'portico_auth_decisions_total', 'method="users",result="invalid"') >= 12);
    assert.equal(metric(m, 'portico_auth_decisions_total', 'method="users",result="missing"'), 1);
  } finally {
    await p.stop();
    await jwksServer.kill();
  }
});

test('an unknown kid refetches the JWKS (at most once per min_refetch): rotated keys are picked up', async () => {
  const a = await t.makeKey('ES256', 'a');
  const b = await t.makeKey('ES256', 'b');
  const jwksServer = await startJwksServer({ keys: [a.publicJwk] });
  const p = await Portico.start(config(jwksServer.url));
  try {
    const tokenA = await t.sign(a);
    assert.equal((await request(`${p.url}/api/x`, bearer(tokenA))).status, 200);
    const fetchesBefore = await jwksServer.fetches();

    // The identity provider rotates: B signs from now on, A is retired.
    jwksServer.set({ keys: [b.publicJwk] });
    await sleep(1100);  // past min_refetch
    const r = await json(`${p.url}/api/x`, bearer(await t.sign(b, { sub: 'rotated' })));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.headers['x-user-id'], 'rotated');
    assert.equal(await jwksServer.fetches(), fetchesBefore + 1, 'one fetch for the unknown kid');

    // A is gone from the JWKS: its token (cached earlier) is refused now.
    assertInvalid(await json(`${p.url}/api/x`, bearer(tokenA)), "no key matches the token's kid");

    // A burst of unknown kids costs at most one fetch per min_refetch.
    const c = await t.makeKey('ES256', 'c');
    const before = await jwksServer.fetches();
    const results = await Promise.all(Array.from({ length: 20 }, async () => (await request(`${p.url}/api/x`, bearer(await t.sign(c)))).status));
    assert.deepEqual([...new Set(results)], [401]);
    assert.ok((await jwksServer.fetches()) - before <= 1, 'refetches are rate-limited');
  } finally {
    await p.stop();
    await jwksServer.kill();
  }
});

test('JWKS server down: 503 (not a misleading 401) until it is back; cached keys keep working', async () => {
  const jwksServer = await startJwksServer(t.jwks(keys));
  await jwksServer.kill();  // the identity provider is down when Portico starts
  const p = await Portico.start(config(jwksServer.url));
  try {
    const token = await t.sign(keys.RS256);
    const r = await json(`${p.url}/api/x`, bearer(token));
    assert.equal(r.status, 503, JSON.stringify(r.json));
    assert.equal(r.json.error, 'the signing keys could not be fetched; try again later');
    assert.equal(r.headers['retry-after'], '5');
    // HS keys are configured inline: they do not depend on the JWKS.
    assert.equal((await request(`${p.url}/api/x`, bearer(await t.sign(keys.HS384)))).status, 200);

    await jwksServer.start();  // same port; Portico retries with back-off
    await waitFor(async () => (await request(`${p.url}/api/x`, bearer(token))).status === 200,
      { timeoutMs: 10000, what: 'keys after the JWKS server returns' });

    // Down again: known keys stay usable; an unknown kid cannot be checked: 503.
    await jwksServer.kill();
    await sleep(1100);
    assert.equal((await request(`${p.url}/api/x`, bearer(await t.sign(keys.ES512)))).status, 200);
    const unknown = await json(`${p.url}/api/x`, bearer(await t.sign(await t.makeKey('ES256', 'new'))));
    assert.equal(unknown.status, 503, JSON.stringify(unknown.json));
    assert.equal(metric(await p.metrics(), 'portico_auth_decisions_total', 'method="users",result="unavailable"') >= 2, true);
    await p.waitForLog(/JWKS http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json: fetch failed: cannot connect: Connection refused/);
  } finally {
    await p.stop();
  }
});

test('unavailable_status: 401 answers a JWKS outage with invalid_token instead', async () => {
  const jwksServer = await startJwksServer(t.jwks(keys));
  await jwksServer.kill();
  const p = await Portico.start(config(jwksServer.url, '      unavailable_status: 401'));
  try {
    const r = await json(`${p.url}/api/x`, bearer(await t.sign(keys.RS256)));
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'no signing key for the token is available');
  } finally {
    await p.stop();
  }
});

test('a JWKS server that accepts but never answers: requests wait at most the fetch timeout, then 503', async () => {
  // A hung identity provider: the TCP handshake completes, no response ever comes.
  const sockets = [];
  const hung = net.createServer((s) => sockets.push(s));
  await new Promise((resolve) => hung.listen(0, '127.0.0.1', resolve));
  const p = await Portico.start(config(`http://127.0.0.1:${hung.address().port}/jwks.json`));
  try {
    const started = Date.now();
    const [a, b] = await Promise.all([
      json(`${p.url}/api/x`, bearer(await t.sign(keys.RS256))),
      json(`${p.url}/api/y`, bearer(await t.sign(keys.ES256))),
    ]);
    const waited = Date.now() - started;
    for (const r of [a, b]) {
      assert.equal(r.status, 503, JSON.stringify(r.json));
      assert.match(r.json.error, /^the signing keys could not be fetched/);
    }
    assert.ok(waited >= 1000 && waited < 4500, `answered after ${waited} ms (timeout 2s)`);
    // Inline keys never wait for the JWKS.
    assert.equal((await request(`${p.url}/api/x`, bearer(await t.sign(keys.HS256)))).status, 200);
    await p.waitForLog(/JWKS http:\/\/127\.0\.0\.1:\d+\/jwks\.json: fetch failed: no response within 2000 ms/);
  } finally {
    await p.stop();
    sockets.forEach((s) => s.destroy());
    hung.close();
  }
});

test('token sources: a header, a cookie or a query parameter, tried in order', async () => {
  const jwksServer = await startJwksServer(t.jwks(keys));
  const p = await Portico.start(config(jwksServer.url, '      from: ["header:X-Token", "cookie:session", "query:access_token"]'));
  try {
    const token = await t.sign(keys.ES384);
    assert.equal((await request(`${p.url}/api/x`, { headers: { 'x-token': token } })).status, 200);
    assert.equal((await request(`${p.url}/api/x`, { headers: { cookie: `theme=dark; session=${token}` } })).status, 200);
    assert.equal((await request(`${p.url}/api/x?access_token=${token}`)).status, 200);
    // Bearer is not among the sources here.
    const r = await json(`${p.url}/api/x`, bearer(token));
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'authentication required: a token in header:X-Token or a token in cookie:session or a token in query:access_token');
  } finally {
    await p.stop();
    await jwksServer.kill();
  }
});

test('the verified-token cache: a hot token is verified once per worker; cache off verifies every time', async () => {
  const jwksServer = await startJwksServer(t.jwks(keys));
  for (const [extra, expectHits] of [['', true], ['      cache: off', false]]) {
    const p = await Portico.start(config(jwksServer.url, extra));
    try {
      const token = await t.sign(keys.RS256);
      for (let i = 0; i < 50; i++) assert.equal((await request(`${p.url}/api/x`, bearer(token))).status, 200);
      const m = await p.metrics();
      const hits = metric(m, 'portico_auth_token_cache_total', 'method="users",result="hit"');
      const misses = metric(m, 'portico_auth_token_cache_total', 'method="users",result="miss"');
      if (expectHits) {
        assert.ok(misses <= 2, `${misses} misses: one per worker at most`);
        assert.equal(hits + misses, 50);
      } else {
        assert.equal(hits, 0);
        assert.equal(misses, 50);
      }
    } finally {
      await p.stop();
    }
  }
  await jwksServer.kill();
});

test('scopes and claims required by a route: 403 insufficient_scope, with the challenge', async () => {
  const jwksServer = await startJwksServer(t.jwks(keys));
  const p = await Portico.start(config(jwksServer.url, '', `    require: {scopes: ["orders:read"], claims: {tenant: [acme, initech]}}
    name: orders`));
  try {
    const ok = await t.sign(keys.ES256, { scope: 'profile orders:read', tenant: 'acme' });
    assert.equal((await request(`${p.url}/api/x`, bearer(ok))).status, 200);
    const scp = await t.sign(keys.ES256, { scp: ['orders:read'], tenant: 'initech' });  // the list form
    assert.equal((await request(`${p.url}/api/x`, bearer(scp))).status, 200);

    const noScope = await json(`${p.url}/api/x`, bearer(await t.sign(keys.ES256, { scope: 'orders:write', tenant: 'acme' })));
    assert.equal(noScope.status, 403);
    assert.equal(noScope.json.error, 'insufficient scope: this route needs orders:read');
    assert.equal(noScope.headers['www-authenticate'], 'Bearer realm="portico", error="insufficient_scope", scope="orders:read"');

    const wrongTenant = await json(`${p.url}/api/x`, bearer(await t.sign(keys.ES256, { scope: 'orders:read', tenant: 'globex' })));
    assert.equal(wrongTenant.status, 403);
    assert.equal(wrongTenant.json.error, 'the token\'s "tenant" claim does not allow this route');
    assert.equal(metric(await p.metrics(), 'portico_auth_decisions_total', 'method="users",result="forbidden"'), 2);
  } finally {
    await p.stop();
    await jwksServer.kill();
  }
});

test('config: secrets are redacted in /config; key mistakes are config errors', async () => {
  const jwksServer = await startJwksServer(t.jwks(keys));
  const p = await Portico.start(config(jwksServer.url));
  try {
    const text = (await request(`${p.adminUrl}/config`)).body.toString();
    for (const a of ['HS256', 'HS384', 'HS512']) assert.ok(!text.includes(keys[a].publicJwk.k), `${a} secret leaked`);
    const cfg = JSON.parse(text);
    assert.deepEqual(cfg.auth.users.jwt.keys[0], { type: '<redacted>', kid: 'HS256-1', alg: 'HS256' });
  } finally {
    await p.stop();
    await jwksServer.kill();
  }
  const bad = await Portico.start(`
auth:
  jwt:
    users:
      jwks_url: {url: http://id.example.com/jwks.json, ca_file: /nonexistent.pem}
      keys: [{kty: oct, k: c2hvcnQ, alg: HS256}, "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----"]
routes:
  - match: {path: /x}
    echo: true
    auth: usrs
`, { expectFailure: true });
  assert.match(bad.stderr, /auth\.jwt\.users\.jwks_url\.ca_file: only used with an https URL/);
  assert.match(bad.stderr, /auth\.jwt\.users\.keys\[0\]: an HS256 secret must be at least 32 bytes \(RFC 7518 3\.2\); this one has 5/);
  assert.match(bad.stderr, /auth\.jwt\.users\.keys\[1\]: not a PEM public key/);
  assert.match(bad.stderr, /routes\[0\]\.auth: unknown auth method "usrs" \(did you mean "users"\?\)/);
});

test('JWKS over https: the server certificate must chain to the CA and match the name', async () => {
  const ca = makeCa();
  const jwksServer = await startJwksServer(t.jwks(keys), { tls: { ...ca.cert(['127.0.0.1']), ca: ca.ca } });
  const token = await t.sign(keys.ES256);
  let p = await Portico.start(config(jwksServer.url, '', '', `, ca_file: "${ca.ca}"`));
  try {
    const r = await json(`${p.url}/api/x`, bearer(token));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(await jwksServer.fetches(), 1);
  } finally {
    await p.stop();
  }
  // The system's trust store does not know this CA: refused, and said why.
  p = await Portico.start(config(jwksServer.url));
  try {
    const r = await json(`${p.url}/api/x`, bearer(token));
    assert.equal(r.status, 503);
    await p.waitForLog(/fetch failed: TLS handshake failed: certificate verify failed: unable to get local issuer certificate/);
  } finally {
    await p.stop();
  }
  await jwksServer.kill();
  // A certificate for another name: refused.
  const other = await startJwksServer(t.jwks(keys), { tls: { ...ca.cert(['jwks.example.com']), ca: ca.ca } });
  p = await Portico.start(config(other.url, '', '', `, ca_file: "${ca.ca}"`));
  try {
    const r = await json(`${p.url}/api/x`, bearer(token));
    assert.equal(r.status, 503);
    await p.waitForLog(/fetch failed: TLS handshake failed: certificate verify failed: IP address mismatch/);
  } finally {
    await p.stop();
    await other.kill();
  }
});
