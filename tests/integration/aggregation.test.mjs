// Aggregation (Backend-for-Frontend): one route calls several backends — upstreams on
// the usual upstream machinery, and functions — in parallel or one after another, and
// answers one JSON document: grouped, merged or as an array; partial answers flagged
// when a backend is slow or dead; on_failure: fail; colliding keys; `portico check`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Portico, check, json, metric, request, startUpstream, tempDir } from './lib/harness.mjs';
import { writeFunction } from './lib/functions.mjs';

const root = tempDir('portico-agg-');
const running = [];
after(async () => { for (const p of running) await p.stop(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const send = (res, status, body, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

// Identity: users by id. Billing: invoices by user (a query parameter), slow on demand.
const seen = { users: [], billing: [] };
const users = await startUpstream((req, res) => {
  seen.users.push({ url: req.url, headers: req.headers });
  const m = req.url.match(/^\/users\/([^/?]+)/);
  if (!m) return send(res, 404, { message: 'no route' });
  const id = decodeURIComponent(m[1]);
  if (id === 'ghost') return send(res, 404, { message: 'no such user' });
  send(res, 200, { id, name: `User ${id}`, email: `${id}@example.com`, password_hash: 'x', plan: 'pro', updated: 1 });
});
const billing = await startUpstream(async (req, res) => {
  seen.billing.push({ url: req.url, headers: req.headers });
  const u = new URL(req.url, 'http://x');
  if (u.searchParams.get('user') === 'slow') await sleep(1500);
  send(res, 200, { invoices: [{ id: 'inv-1', user: u.searchParams.get('user'), total: 12 }], updated: 2 });
});
const dead = await startUpstream(() => {});
const deadAddress = dead.address;
await dead.stop();  // nothing listens there now

writeFunction(root, 'recs', {
  'index.mjs': `
export const handler = async (event) => ({ items: ['a', 'b'], for: event.queryStringParameters?.user ?? null,
                                          path: event.rawPath, tier: event.headers['x-tier'] ?? null,
                                          consumer: event.headers['x-consumer'] ?? null });
`,
});

const config = `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
upstreams:
  users: {endpoints: ["${users.address}"]}
  billing: {endpoints: ["${billing.address}"]}
  dead: {endpoints: ["${deadAddress}"]}
auth:
  api_keys:
    keys: {from: ["header:X-API-Key"]}
consumers:
  acme: {keys: ["k-0123456789abcdef"]}
functions:
  recs: {runtime: nodejs20.x, handler: index.handler, code: ./recs}
routes:
  - match: {path: "/overview/{user}", methods: [GET]}
    aggregate:
      - {upstream: users, path: "/users/{user}", as: user, select: [/id, /name, /email], rename: {/email: /contact}}
      - {upstream: billing, path: /invoices, query: {user: "\${param.user}"}, as: invoices, target: /invoices, timeout: 400ms}
      - {function: recs, path: /recs, query: {user: "\${param.user}"}, headers: {x-tier: gold}, as: recommendations}
  - match: {path: "/merged/{user}"}
    aggregate:
      combine: merge
      backends:
        - {upstream: users, path: "/users/{user}"}
        - {upstream: billing, path: /invoices, query: {user: "\${param.user}"}}
  - match: {path: "/array/{user}"}
    aggregate:
      combine: array
      backends:
        - {upstream: users, path: "/users/{user}", select: [/id]}
        - {upstream: dead, path: /x, as: nothing}
  - match: {path: "/strict/{user}"}
    aggregate:
      - {upstream: users, path: "/users/{user}", as: user, on_failure: fail}
      - {upstream: billing, path: /invoices, query: {user: "\${param.user}"}, as: invoices}
  - match: {path: "/dead-fails"}
    aggregate:
      - {upstream: users, path: /users/ada, as: user}
      - {upstream: dead, path: /x, as: billing, on_failure: fail}
  - match: {path: "/chain/{user}"}
    aggregate:
      sequential: true
      backends:
        - {upstream: users, path: "/users/{user}", as: user}
        - {upstream: billing, path: /invoices, query: {user: "\${responses.user.name}", plan: "\${responses.0.plan}"}, as: invoices}
  - match: {path: "/mine/{user}"}
    auth: keys
    timeouts: {total: 300ms}
    validate: {path: {properties: {user: {pattern: "^[a-z]+$"}}}}
    request: {headers: {set: {X-Consumer: "\${consumer}"}}}
    response: {envelope: {data: "\${body}", meta: {request_id: "\${request_id}"}}}
    aggregate:
      - {upstream: users, path: "/users/{user}", as: user, select: [/id]}
      - {upstream: billing, path: /invoices, query: {user: "\${param.user}"}, as: invoices}
      - {function: recs, path: /recs, as: recs, select: [/consumer]}
  - match: {path: "/all-dead"}
    timeouts: {total: 2s}
    aggregate:
      - {upstream: dead, path: /a, as: a}
      - {upstream: dead, path: /b, as: b}
`;
const p = await Portico.start(config, { dir: root });
running.push(p);

test('parallel, grouped: upstreams and a function, each with its own path, query, headers and field selection', async () => {
  seen.users.length = seen.billing.length = 0;
  const r = await json(`${p.url}/overview/ada%20l`, { headers: { authorization: 'Bearer t', 'accept-encoding': 'gzip' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-portico-partial'], undefined);
  assert.deepEqual(r.json, {
    user: { id: 'ada l', name: 'User ada l', contact: 'ada l@example.com' },
    invoices: [{ id: 'inv-1', user: 'ada l', total: 12 }],
    recommendations: { items: ['a', 'b'], for: 'ada l', path: '/recs', tier: 'gold', consumer: null },
  });
  assert.equal(seen.users[0].url, '/users/ada%20l', 'a parameter is percent-encoded into the path');
  assert.equal(seen.billing[0].url, '/invoices?user=ada%20l');
  const rid = r.headers['x-request-id'];
  assert.equal(seen.users[0].headers['x-request-id'], rid, 'one request id across the calls');
  assert.equal(seen.users[0].headers.authorization, 'Bearer t', 'the client\'s headers go to the backends');
  assert.equal(seen.users[0].headers['accept-encoding'], undefined, 'answers must come as plain JSON');
  const head = await request(`${p.url}/overview/ada`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0, 'HEAD: the head alone');
  assert.equal(head.headers['content-type'], 'application/json');
  const m = await p.metrics();
  assert.ok(metric(m, 'portico_upstream_requests_total', 'upstream="users"') >= 1, 'calls go through the upstream machinery');
});

test('a slow backend past its timeout: a partial answer, flagged, after about the timeout (not the sum)', async () => {
  const t0 = Date.now();
  const r = await json(`${p.url}/overview/slow`);
  const took = Date.now() - t0;
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-portico-partial'], 'invoices');
  assert.deepEqual(r.json._partial, ['invoices']);
  assert.equal(r.json.invoices, undefined);
  assert.equal(r.json.user.id, 'slow');
  assert.ok(took >= 380 && took < 1200, `answered after ${took} ms; the timeout is 400 ms, the backend takes 1500`);
  await p.waitForLog(/backend invoices failed \(answered without it\): no answer within 400 ms/);
});

test('merge: members in one object, a colliding key taken from the backend listed last', async () => {
  const r = await json(`${p.url}/merged/bo`);
  assert.equal(r.status, 200);
  assert.equal(r.json.id, 'bo');
  assert.equal(r.json.name, 'User bo');
  assert.deepEqual(r.json.invoices.map((i) => i.user), ['bo']);
  assert.equal(r.json.updated, 2, 'both answers have "updated": the later backend (billing) wins');
});

test('array: answers in the order listed, a dead backend\'s place null', async () => {
  const r = await json(`${p.url}/array/cy`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, [{ id: 'cy' }, null]);
  assert.equal(r.headers['x-portico-partial'], 'nothing');
});

test('on_failure: fail — a dead backend fails the request; a backend\'s own 404 is the answer', async () => {
  let r = await json(`${p.url}/dead-fails`);
  assert.ok([502, 503].includes(r.status), `${r.status}: as a proxied route would answer`);
  // 502 (connection refused), or 503 once passive health has ejected the endpoint.
  assert.match(r.json.error, /^backend billing failed: 50[23] /);
  r = await json(`${p.url}/strict/ghost`);
  assert.equal(r.status, 404);
  assert.deepEqual(r.json, { message: 'no such user' });
  r = await json(`${p.url}/strict/dee`);
  assert.equal(r.status, 200);
  assert.equal(r.json.user.id, 'dee');
});

test('sequential: a later call uses fields of earlier answers (by name and by index)', async () => {
  seen.billing.length = 0;
  const r = await json(`${p.url}/chain/eve`);
  assert.equal(r.status, 200);
  assert.equal(seen.billing.at(-1).url, '/invoices?user=User%20eve&plan=pro');
  assert.equal(r.json.invoices.invoices[0].user, 'User eve');
  // An earlier failure: the later call is not made on a guess.
  seen.billing.length = 0;
  const g = await json(`${p.url}/chain/ghost`);
  assert.equal(g.status, 502);
  assert.match(g.json.error, /every backend of the route failed: user: it answered 404; invoices: not called: user failed/);
  assert.equal(seen.billing.length, 0);
});

test('an aggregate route is a normal route: auth, validation, request shaping, formatting, the route\'s total timeout', async () => {
  let r = await json(`${p.url}/mine/ada`);
  assert.equal(r.status, 401);
  r = await json(`${p.url}/mine/Ada1`, { headers: { 'x-api-key': 'k-0123456789abcdef' } });
  assert.equal(r.status, 400);
  seen.users.length = 0;
  r = await json(`${p.url}/mine/ada`, { headers: { 'x-api-key': 'k-0123456789abcdef' } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.data, { user: { id: 'ada' }, invoices: { invoices: [{ id: 'inv-1', user: 'ada', total: 12 }], updated: 2 },
    recs: { consumer: 'acme' } }, 'request shaping reaches function calls too');
  assert.equal(r.json.meta.request_id, r.headers['x-request-id']);
  assert.equal(seen.users[0].headers['x-consumer'], 'acme', 'request shaping reaches the calls');
  assert.equal(seen.users[0].headers['x-api-key'], undefined, 'the credential does not');
  // timeouts.total bounds all the calls: billing for "slow" takes 1500 ms.
  const t0 = Date.now();
  r = await json(`${p.url}/mine/slow`, { headers: { 'x-api-key': 'k-0123456789abcdef' } });
  const took = Date.now() - t0;
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-portico-partial'], 'invoices');
  assert.deepEqual(r.json.data._partial, ['invoices']);
  assert.ok(took >= 280 && took < 1000, `answered after ${took} ms; the route's total is 300 ms`);
});

test('a client that goes away mid-aggregate: the calls are dropped and the route keeps serving', async () => {
  await assert.rejects(json(`${p.url}/overview/slow`, { timeoutMs: 100 }));
  await sleep(50);
  const r = await json(`${p.url}/overview/fay`);
  assert.equal(r.status, 200);
  assert.equal(r.json.user.id, 'fay');
});

test('every backend dead: 502 naming each', async () => {
  const r = await json(`${p.url}/all-dead`);
  assert.equal(r.status, 502);
  assert.match(r.json.error, /a: 50[23] .*; b: 50[23] /);
});

test('portico check: backends that exist, known parameters, templates and pointers that compile', () => {
  const dir = tempDir('portico-agg-check-');
  const head = `upstreams:
  users: {endpoints: ["127.0.0.1:1"]}
routes:
  - match: {path: "/o/{id}"}
    aggregate:
`;
  const cases = [
    ['      - {upstream: nosuch}\n', /portico\.yaml:6:.*aggregate\[0\]\.upstream: unknown upstream "nosuch"/],
    ['      - {upstream: users, path: "/u/{idd}"}\n', /unknown parameter \{idd\} \(the route's path has id\)/],
    ['      - {upstream: users, as: a}\n      - {upstream: users, as: a}\n', /two backends are called "a"/],
    ['      - {upstream: users, query: {x: "${nosuch}"}}\n', /portico\.yaml:6: query\.x: .*unknown name "nosuch"/],
    ['      - {upstream: users, select: [id]}\n', /portico\.yaml:6: select: /],
    ['      - {upstream: users, query: {x: "${responses.a.id}"}}\n', /needs sequential: true/],
    ['      - {upstream: users, on_failure: maybe}\n', /expected partial or fail/],
  ];
  for (const [backends, want] of cases) {
    const file = path.join(dir, 'portico.yaml');
    fs.writeFileSync(file, head + backends);
    const r = check(file);
    assert.notEqual(r.code, 0, backends);
    assert.match(r.stderr, want, `${backends}\n${r.stderr}`);
  }
  fs.writeFileSync(path.join(dir, 'portico.yaml'), head + '      - {upstream: users, path: "/u/{id}", as: u}\n');
  const r = check(path.join(dir, 'portico.yaml'));
  assert.equal(r.code, 0, r.stderr);
});

after(async () => { await users.stop(); await billing.stop(); });
