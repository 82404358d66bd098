// Authorizer functions (API Gateway's Lambda authorizers): allow with a context that
// reaches the business function and the upstream, deny (403), a missing identity
// source (401, not invoked), failures and nonsense (500, never an allow), the decision
// cache (one invocation for many requests within the TTL, shared by concurrent
// requests, again after the TTL), IAM policies matched per route, and rate limits
// keyed on the authorizer's context.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Portico, request, json, sleep, tempDir } from './lib/harness.mjs';
import { writeFunction } from './lib/functions.mjs';
import { startService } from './lib/peers.mjs';

const root = tempDir('portico-authz-');
const countFile = path.join(root, 'invocations.log');
const invocations = () => (fs.existsSync(countFile) ? fs.readFileSync(countFile, 'utf8').split('\n').filter(Boolean) : []);

// The authorizer counts its own invocations (one line each) in a file.
writeFunction(root, 'authz', {
  'index.mjs': `import fs from 'node:fs';
export const handler = async (event) => {
  const token = event.type === 'TOKEN' ? event.authorizationToken : event.identitySource[0];
  fs.appendFileSync(process.env.COUNT_FILE, JSON.stringify({ type: event.type, token, arn: event.routeArn || event.methodArn,
    routeKey: event.routeKey, path: event.rawPath }) + '\\n');
  const who = token.replace(/^Bearer /, '');
  if (who === 'crash') throw new Error('authorizer bug');
  if (who === 'nonsense') return 'hello';
  if (event.type === 'TOKEN') {
    return { principalId: 'user-' + who, context: { user: who },
      policyDocument: { Version: '2012-10-17', Statement: [
        { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn.replace(/\\/GET\\/.*$/, '/GET/items/*') },
        { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: '*/GET/items/secret' } ] } };
  }
  return { isAuthorized: who.startsWith('good'), context: { user: who, tier: 'gold', n: 7 } };
};`,
});
writeFunction(root, 'business', {
  'index.mjs': `export const handler = async (event) => ({ authorizer: event.requestContext.authorizer, path: event.rawPath });`,
});

writeFunction(root, 'headers', {
  'index.mjs': `export const handler = async (event) => ({ headers: event.headers, query: event.queryStringParameters ?? {},
  raw: event.rawQueryString });`,
});

const yaml = (upstream) => `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
upstreams:
  svc: {endpoints: [${upstream}]}
functions:
  authz: {runtime: nodejs, handler: index.handler, code: ./authz, environment: {COUNT_FILE: ${countFile}}}
  business: {runtime: nodejs, handler: index.handler, code: ./business}
  headers: {runtime: nodejs, handler: index.handler, code: ./headers}
auth:
  authorizers:
    custom: {function: authz, identity: [header:authorization], cache_ttl: 1500ms, forward: {user: X-User}}
    nocache: {function: authz, identity: [header:authorization], cache_ttl: 0}
    policy: {function: authz, type: token, identity: [header:authorization], cache_ttl: 10s}
rate_limits:
  per-user: {rate: 2/s, burst: 2, key: claim:user}
routes:
  - {match: {path: /orders, methods: [GET]}, auth: custom, function: business}
  - {match: {path: /upstream}, auth: custom, upstream: svc}
  - {match: {path: /fresh}, auth: nocache, function: business}
  - {match: {path: "/items/{id}", methods: [GET]}, auth: policy, function: business}
  - {match: {path: /limited}, auth: custom, rate_limit: per-user, respond: {body: ok}}
  - match: {path: /shaped}
    auth: custom
    function: headers
    request:
      headers: {set: {X-Tier: "\${claims.tier}"}, remove: [X-Debug]}
      query: {set: {v: "2"}, remove: [secret]}
`;

let p, svc;
after(async () => {
  if (p) await p.stop();
  if (svc) await svc.kill();
});

test('authorizer functions', async (t) => {
  svc = await startService('svc');
  p = await Portico.start(yaml(svc.address), { dir: root });
  const url = p.url;
  const auth = (token) => ({ headers: { authorization: `Bearer ${token}` } });

  await t.test('a missing identity source is 401 without invoking', async () => {
    const r = await json(`${url}/orders`);
    assert.equal(r.status, 401);
    assert.match(r.json.error, /header:authorization/);
    assert.equal(invocations().length, 0);
  });

  await t.test('allowed: the context reaches the function and the upstream', async () => {
    const r = await json(`${url}/orders`, auth('good-ann'));
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.authorizer, { lambda: { user: 'good-ann', tier: 'gold', n: 7 } });
    const [first] = invocations().map((l) => JSON.parse(l));
    assert.equal(first.type, 'REQUEST');
    assert.equal(first.token, 'Bearer good-ann');
    assert.equal(first.routeKey, 'GET /orders');
    assert.equal(first.path, '/orders');
    assert.match(first.arn, /^arn:aws:execute-api:us-east-1:000000000000:portico\/\$default\/GET\/orders$/);
    // In front of an upstream: the context forwarded as a header; a client's copy is dropped.
    const u = await json(`${url}/upstream`, { headers: { authorization: 'Bearer good-ann', 'x-user': 'forged' } });
    assert.equal(u.status, 200);
    assert.equal(u.json.headers['x-user'], 'good-ann');
  });

  await t.test('denied is 403; failures and nonsense are 500, never an allow', async () => {
    let r = await json(`${url}/orders`, auth('bad'));
    assert.equal(r.status, 403);
    assert.match(r.json.error, /denied/);
    r = await json(`${url}/orders`, auth('crash'));
    assert.equal(r.status, 500);
    assert.match(r.json.error, /authorizer custom failed.*authorizer bug/);
    r = await json(`${url}/orders`, auth('nonsense'));
    assert.equal(r.status, 500);
    assert.match(r.json.error, /not a JSON object/);
    const before = invocations().length;
    r = await json(`${url}/orders`, auth('crash'));
    assert.equal(r.status, 500);
    assert.equal(invocations().length, before + 1, 'failures are not cached');
  });

  await t.test('invoked once for N requests with the same token within the TTL, again after it', async () => {
    const before = invocations().length;
    for (let i = 0; i < 20; i++) assert.equal((await request(`${url}/orders`, auth('good-bob'))).status, 200);
    assert.equal(invocations().length, before + 1);
    // Concurrent requests with a new token share one invocation.
    const rs = await Promise.all(Array.from({ length: 10 }, () => request(`${url}/orders`, auth('good-cy'))));
    assert.ok(rs.every((r) => r.status === 200));
    assert.equal(invocations().length, before + 2);
    await sleep(1700);
    assert.equal((await request(`${url}/orders`, auth('good-bob'))).status, 200);
    assert.equal(invocations().length, before + 3, 'the TTL ran out');
    // cache_ttl 0: every request asks.
    const n = invocations().length;
    for (let i = 0; i < 3; i++) assert.equal((await request(`${url}/fresh`, auth('good-dee'))).status, 200);
    assert.equal(invocations().length, n + 3);
  });

  await t.test('a TOKEN authorizer answering an IAM policy, matched per route from the cache', async () => {
    const before = invocations().length;
    let r = await json(`${url}/items/1`, auth('eve'));
    assert.equal(r.status, 200);
    assert.equal(r.json.authorizer.lambda.user, 'eve');
    const call = JSON.parse(invocations().at(-1));
    assert.equal(call.type, 'TOKEN');
    assert.equal(call.token, 'Bearer eve');
    assert.match(call.arn, /portico\/\$default\/GET\/items\/1$/);
    r = await json(`${url}/items/2`, auth('eve'));
    assert.equal(r.status, 200);
    r = await json(`${url}/items/secret`, auth('eve'));
    assert.equal(r.status, 403, 'an explicit Deny wins');
    assert.equal(invocations().length, before + 1, 'one invocation decided all three');
  });

  await t.test('a function\'s event carries the request as the route shaped it, forwarded values unforgeable', async () => {
    const r = await json(`${url}/shaped?q=1&secret=x`, {
      headers: { authorization: 'Bearer good-hal', 'x-user': 'admin', 'x-tier': 'platinum', 'x-debug': '1' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.json.headers['x-user'], 'good-hal', 'the authorizer\'s forwarded value, not the client\'s copy');
    assert.equal(r.json.headers['x-tier'], 'gold', 'request shaping sets headers in the event');
    assert.equal(r.json.headers['x-debug'], undefined, 'and removes them');
    assert.equal(r.json.headers.authorization, 'Bearer good-hal', 'the credential stays, as API Gateway passes it');
    assert.deepEqual(r.json.query, { q: '1', v: '2' });
  });

  await t.test('rate limits keyed on the authorizer\'s context', async () => {
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await request(`${url}/limited`, auth('good-fay'))).status);
    assert.deepEqual(codes.slice(0, 2), [200, 200]);
    assert.ok(codes.slice(2).includes(429), codes.join(','));
    assert.equal((await request(`${url}/limited`, auth('good-gus'))).status, 200, 'another user has their own bucket');
  });
});
