// Response formatting (envelope, select / drop / rename / set, jq with $request and
// $principal, status and headers, one error shape for the terminal's errors) and request
// shaping (headers and query parameters added, removed, renamed; the principal injected
// into headers, the query and the body), against a real upstream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Portico, check, json, readBody, startUpstream, tempDir, waitFor } from './lib/harness.mjs';

const KEY = 'acme-live-6f0c2b9e4d7a1358';
const USER = { id: 7, name: 'Ada', email: 'ada@example.com', password_hash: 'x', address: { city: 'Paris', zip: '75001' } };

// Answers /users/* with USER, /fail/N with status N and an upstream-specific error body,
// /items with a list, and anything else with what it received.
async function upstream() {
  const seen = [];
  const up = await startUpstream(async (req, res) => {
    const body = (await readBody(req)).toString();
    seen.push({ method: req.method, url: req.url, headers: req.headers, body });
    const send = (status, payload, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-upstream-internal': 'secret', ...headers });
      res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
    };
    if (req.url.startsWith('/users/')) return send(200, USER);
    if (req.url.startsWith('/fail/')) {
      const status = Number(req.url.split('/')[2]);
      return send(status, status === 404 ? { message: 'user not found' } : { err: { detail: 'database down' } });
    }
    if (req.url === '/text') return send(200, 'plain words', { 'content-type': 'text/plain' });
    if (req.url.startsWith('/items')) return send(200, { items: [{ id: 1, price: 5, tags: ['a'] }, { id: 2, price: 15, tags: [] }], next: null });
    return send(200, { received: body });
  });
  return { ...up, seen };
}

function config(up) {
  return `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
upstreams:
  svc: {endpoints: ["${up.address}"]}
  dead: {endpoints: ["127.0.0.1:1"]}
auth:
  api_keys:
    keys: {from: ["header:X-API-Key"]}
consumers:
  acme: {keys: ["${KEY}"], groups: [partners]}
routes:
  - match: {path: "/users/{id}"}
    upstream: svc
    response:
      select: [/id, /name, /email, /address/city]
      rename: {/name: /display_name, /address/city: /city}
      drop: [/address]
      set: {/links/self: "/users/\${param.id}", /kind: user}
      envelope: {data: "\${body}", meta: {request_id: "\${request_id}", status: "\${status}"}}
      headers: {remove: [X-Upstream-Internal], set: {Cache-Control: "private, max-age=60", X-Shaped-For: "\${query.client|'anon'}"}}
  - match: {path: "/fail/{code}"}
    upstream: svc
    response:
      envelope: {data: "\${body}"}
      errors: {error: {status: "\${status}", message: "\${body.message|body.err.detail|reason}", request_id: "\${request_id}"}}
  - match: {path: /dead}
    upstream: dead
    response:
      errors: {error: {status: "\${status}", message: "\${body.message|body.error|reason}"}}
  - match: {path: /items}
    upstream: svc
    auth: keys
    response:
      jq: '{data: [.items[] | select(.price > ($request.query.min_price | tonumber)) | {id, price}], count: (.items | length), who: $principal.consumer, status: $status}'
      status: 203
  - match: {path: /text}
    upstream: svc
    response: {envelope: {data: "\${body}"}}
  - match: {path: "/orders/{shop}", methods: [POST, GET]}
    upstream: svc
    auth: keys
    request:
      headers:
        set: {X-Consumer: "\${consumer}", X-Groups: "\${groups}", X-Shop: "shop-\${param.shop}"}
        remove: [X-Debug]
        rename: {X-Old-Name: X-New-Name}
      query:
        set: {owner: "\${consumer}"}
        remove: [debug]
        rename: {q: search}
      body:
        set: {/owner: "\${consumer}", /meta/shop: "\${param.shop}", /meta/via: portico}
`;
}

test('response formatting: envelope, select / rename / drop / set, headers, jq, error mapping', async () => {
  const up = await upstream();
  const p = await Portico.start(config(up));
  try {
    let r = await json(`${p.url}/users/7?client=web`, { headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(r.status, 200);
    assert.equal(up.seen.at(-1).headers['accept-encoding'], undefined, 'a body to format must not come compressed');
    assert.deepEqual(r.json, {
      data: { id: 7, display_name: 'Ada', email: 'ada@example.com', city: 'Paris', links: { self: '/users/7' }, kind: 'user' },
      meta: { request_id: r.headers['x-request-id'], status: 200 },
    });
    assert.equal(r.headers['x-upstream-internal'], undefined, 'a removed header');
    assert.equal(r.headers['cache-control'], 'private, max-age=60');
    assert.equal(r.headers['x-shaped-for'], 'web');
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(JSON.stringify(r.json))));

    // Error mapping: each upstream's own error shape becomes one shape.
    r = await json(`${p.url}/fail/404`);
    assert.equal(r.status, 404);
    assert.deepEqual(r.json, { error: { status: 404, message: 'user not found', request_id: r.headers['x-request-id'] } });
    r = await json(`${p.url}/fail/503`);
    assert.equal(r.status, 503);
    assert.deepEqual(r.json.error.message, 'database down');
    r = await json(`${p.url}/fail/500`);
    assert.equal(r.json.error.message, 'database down');
    r = await json(`${p.url}/fail/200`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { data: { err: { detail: 'database down' } } }, 'a success is enveloped, not mapped');

    r = await json(`${p.url}/dead`);
    assert.equal(r.status, 502);
    assert.deepEqual(r.json, { error: { status: 502, message: 'cannot connect to upstream "dead": Connection refused' } },
      "Portico's own answer for a dead upstream takes the same shape");

    // jq with $request, $principal and $status; the status set for successes.
    r = await json(`${p.url}/items?min_price=10`, { headers: { 'x-api-key': KEY } });
    assert.equal(r.status, 203, p.stderr.split('\n').filter((l) => /formatter/.test(l)).join('\n'));
    assert.deepEqual(r.json, { data: [{ id: 2, price: 15 }], count: 2, who: 'acme', status: 200 });
    r = await json(`${p.url}/items`, { headers: { 'x-api-key': KEY } });
    assert.equal(r.status, 502, 'a jq error is a 502');
    assert.equal(r.json.error, 'the response could not be formatted');
    await waitFor(() => /the response formatter failed: jq: .*null/.test(p.stderr), { what: 'the jq error in the log' });

    r = await json(`${p.url}/text`);
    assert.deepEqual(r.json, { data: 'plain words' }, 'a body that is not JSON is its text');
    assert.match(r.headers['content-type'], /^application\/json/);
  } finally {
    await p.stop();
    await up.stop();
  }
});

test('request shaping: headers and query parameters set, removed, renamed; the principal in headers, query and body', async () => {
  const up = await upstream();
  const p = await Portico.start(config(up));
  try {
    const body = JSON.stringify({ item: 'book', owner: 'someone-else' });
    let r = await json(`${p.url}/orders/north?q=tea&debug=1&owner=mallory&keep=a%20b`, {
      method: 'POST',
      headers: {
        'x-api-key': KEY, 'content-type': 'application/json', 'x-debug': '1', 'x-old-name': 'v',
        'x-consumer': 'forged',
      },
      body,
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const got = up.seen.at(-1);
    assert.equal(got.url, '/orders/north?search=tea&keep=a%20b&owner=acme');
    assert.equal(got.headers['x-consumer'], 'acme', 'the client cannot forge an injected header');
    assert.equal(got.headers['x-groups'], '["partners"]');
    assert.equal(got.headers['x-shop'], 'shop-north');
    assert.equal(got.headers['x-debug'], undefined);
    assert.equal(got.headers['x-old-name'], undefined);
    assert.equal(got.headers['x-new-name'], 'v');
    assert.deepEqual(JSON.parse(got.body), { item: 'book', owner: 'acme', meta: { shop: 'north', via: 'portico' } });
    assert.equal(got.headers['content-length'], String(Buffer.byteLength(got.body)));

    r = await json(`${p.url}/orders/north`, {
      method: 'POST', headers: { 'x-api-key': KEY, 'content-type': 'application/json' }, body: '[1,2]',
    });
    assert.equal(r.status, 415, 'fields go into a JSON object only');
    r = await json(`${p.url}/orders/south`, { headers: { 'x-api-key': KEY } });
    assert.equal(r.status, 200, 'a request without a body passes without one');
    assert.equal(up.seen.at(-1).body, '');
    assert.equal(up.seen.at(-1).url, '/orders/south?owner=acme');
  } finally {
    await p.stop();
    await up.stop();
  }
});

test('portico check: a template naming an unknown value, a bad pointer, a jq program that does not compile', () => {
  const dir = tempDir();
  const cases = [
    ['response: {envelope: {data: "${bdy}"}}', /response\.envelope: "\$\{bdy\}": unknown name "bdy" \(known: body, status/],
    ['response: {select: [id]}', /response\.select: "id" is not a JSON Pointer/],
    ['response: {jq: ".items | map(."}', /response\.jq: jq: .*syntax error/],
    ['request: {headers: {set: {X-A: "${param}"}}}', /request\.headers\.set\.X-A: "\$\{param\}": param takes one name/],
  ];
  for (const [route, expected] of cases) {
    fs.writeFileSync(path.join(dir, 'c.yaml'), `
server: {listen: [127.0.0.1:0]}
routes:
  - match: {path: "/x/{id}"}
    respond: {status: 200}
    ${route}
`);
    const r = check(path.join(dir, 'c.yaml'));
    assert.equal(r.code, 1, route);
    assert.match(r.stderr, expected);
    assert.match(r.stderr, /c\.yaml:6: /);
  }
});
