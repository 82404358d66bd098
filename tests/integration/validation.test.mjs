// JSON Schema validation on routes: request bodies (every failing location listed, 415,
// malformed JSON with its byte offset, no body, chunked bodies, size limits), schemas in
// files with $refs to their neighbours or inline in YAML, response validation (a 2xx
// outside the contract becomes a 502 and a log line), and `portico check` on schemas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { Portico, check, json, readBody, request, startUpstream, tempDir, waitFor } from './lib/harness.mjs';

const ORDER = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['id', 'customer', 'items'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^ord_[0-9]+$' },
    customer: {
      type: 'object', required: ['email'],
      properties: { email: { type: 'string', format: 'email' }, tier: { enum: ['basic', 'gold'] } },
    },
    items: {
      type: 'array', minItems: 1,
      items: {
        type: 'object', required: ['sku', 'qty'],
        properties: { sku: { type: 'string' }, qty: { type: 'integer', minimum: 1 }, price: { $ref: 'money.json' } },
      },
    },
  },
};
const MONEY = { type: 'number', exclusiveMinimum: 0, multipleOf: 0.01 };
const GOOD = { id: 'ord_1', customer: { email: 'ada@example.com' }, items: [{ sku: 'A', qty: 2, price: 9.99 }] };

function writeSchemas(dir) {
  fs.mkdirSync(path.join(dir, 'schemas'));
  fs.writeFileSync(path.join(dir, 'schemas', 'order.json'), JSON.stringify(ORDER));
  fs.writeFileSync(path.join(dir, 'schemas', 'money.json'), JSON.stringify(MONEY));
}

// An upstream that answers with what it was sent (and counts), or with a set answer.
async function echoUpstream() {
  const seen = [];
  const up = await startUpstream(async (req, res) => {
    const body = await readBody(req);
    seen.push({ method: req.method, url: req.url, headers: req.headers, body: body.toString() });
    if (req.url === '/answer-big') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"id":"ord_1","total":1,"note":"${'x'.repeat(17 << 20)}"}`);
      return;
    }
    if (req.url.startsWith('/answer/')) {
      const [status, payload] = JSON.parse(decodeURIComponent(req.url.slice('/answer/'.length)));
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(payload);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ received: body.toString() }));
  });
  return { ...up, seen };
}

// Portico with POST /orders validated against schemas/order.json, in front of echoUpstream.
async function startOrders({ workers, bodyLimit }) {
  const up = await echoUpstream();
  const dir = tempDir();
  writeSchemas(dir);
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: ${workers}}
upstreams:
  orders: {endpoints: ["${up.address}"]}
routes:
  - match: {path: /orders, methods: [POST]}
    upstream: orders
    validate: {body: schemas/order.json}
    limits: {body: ${bodyLimit}}
`, { dir });
  return { up, p };
}

test('request bodies: valid ones reach the upstream unchanged; invalid ones get every failing location', async () => {
  const { up, p } = await startOrders({ workers: 2, bodyLimit: '64KiB' });
  try {
    const body = JSON.stringify(GOOD);
    const ok = await json(`${p.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.received, body, 'the upstream got the body byte for byte');
    assert.equal(up.seen.at(-1).headers['content-length'], String(Buffer.byteLength(body)));

    const bad = {
      id: 'x1', customer: { tier: 'platinum' },
      items: [{ sku: 'A', qty: 1 }, { sku: 'B', qty: 0 }, { qty: '2', price: 0.001 }], extra: true,
    };
    const before = up.seen.length;
    const r = await json(`${p.url}/orders`, {
      method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(bad),
    });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, "the request body does not match the route's schema");
    assert.match(r.json.request_id, /^[0-9a-f-]{36}$/);
    const where = r.json.violations.map((v) => `${v.location} ${v.keyword}`);
    assert.deepEqual(where, [
      '/id pattern', '/customer/email required', '/customer/tier enum',
      '/items/1/qty minimum', '/items/2/sku required', '/items/2/qty type', '/items/2/price multipleOf',
      '/extra additionalProperties',
    ]);
    for (const v of r.json.violations) assert.ok(v.message.length > 0, `a message for ${v.location}`);
    assert.equal(up.seen.length, before, 'an invalid body never reaches the upstream');

    // chunked (no Content-Length): read whole, validated, passed on
    const chunked = await new Promise((resolve, reject) => {
      const req = http.request(`${p.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        const parts = [];
        res.on('data', (c) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString() }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 50);
    });
    assert.equal(chunked.status, 200);
    assert.equal(JSON.parse(chunked.body).received, body);
  } finally {
    await p.stop();
    await up.stop();
  }
});

test('415 for a body that is not JSON, 400 for malformed JSON (with the byte offset) and for no body, 413 past the limit', async () => {
  const { up, p } = await startOrders({ workers: 1, bodyLimit: '1KiB' });
  try {
    let r = await json(`${p.url}/orders`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    assert.equal(r.status, 415);
    assert.match(r.json.error, /must be JSON \(Content-Type: application\/json\), not text\/plain/);
    r = await json(`${p.url}/orders`, { method: 'POST', body: '{}' });
    assert.equal(r.status, 415, 'no Content-Type is not JSON either');
    r = await json(`${p.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id": "ord_1",, }' });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /^the request body is not valid JSON \(at byte 15: /);
    r = await json(`${p.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'this route expects a JSON request body');
    r = await json(`${p.url}/orders`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...GOOD, pad: 'x'.repeat(2000) }),
    });
    assert.equal(r.status, 413);
    assert.equal(up.seen.length, 0, 'none of these reached the upstream');
    // and the connection still serves
    r = await json(`${p.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(GOOD) });
    assert.equal(r.status, 200);
  } finally {
    await p.stop();
    await up.stop();
  }
});

test('inline schemas in YAML; response validation turns a 2xx outside the contract into a 502 and a log line', async () => {
  const up = await echoUpstream();
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 1}
upstreams:
  svc: {endpoints: ["${up.address}"]}
routes:
  - match: {path: "/answer/{rest...}"}
    upstream: svc
    validate:
      response:
        type: object
        required: [id, total]
        properties:
          id: {type: string, pattern: "^ord_"}
          total: {type: number, minimum: 0}
          note: {type: string, maxLength: 5}
  - match: {path: /answer-big}
    upstream: svc
    validate: {response: {type: object}}
  - match: {path: /inline, methods: [POST]}
    upstream: svc
    validate:
      body: {type: object, required: [n], properties: {n: {type: integer, maximum: 10}, tag: {const: "007"}}}
`);
  try {
    const answer = (status, payload) => `${p.url}/answer/${encodeURIComponent(JSON.stringify([status, payload]))}`;
    let r = await json(answer(200, '{"id":"ord_7","total":12.5}'), { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { id: 'ord_7', total: 12.5 });
    assert.equal(up.seen.at(-1).headers['accept-encoding'], undefined, 'a body to check must not come compressed');
    r = await json(answer(200, '{"id":"x","total":-1,"note":"too long"}'));
    assert.equal(r.status, 502);
    assert.equal(r.json.error, "the response does not match the route's response schema");
    await waitFor(() => /response does not match the route's response schema: 3 violations: \/id/.test(p.stderr),
      { what: 'the log line with the details' });
    r = await json(answer(200, 'not json'));
    assert.equal(r.status, 502);
    r = await json(`${p.url}/answer-big`);
    assert.equal(r.status, 502, 'a body too big to read whole is refused, not passed unchecked');
    assert.match(r.json.error, /larger than 16 MiB/);
    r = await json(answer(404, '{"error":"no such order"}'));
    assert.equal(r.status, 404, 'an error answer has no contract to check');
    assert.deepEqual(r.json, { error: 'no such order' });

    r = await json(`${p.url}/inline`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":11,"tag":"7"}' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json.violations.map((v) => `${v.location} ${v.keyword}`), ['/n maximum', '/tag const'],
      'a quoted YAML scalar stays a string ("007"), a plain one is a number');
    r = await json(`${p.url}/inline`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":3,"tag":"007"}' });
    assert.equal(r.status, 200);
  } finally {
    await p.stop();
    await up.stop();
  }
});

test('a changed schema file (or a file it references) reloads the config; a broken one keeps the old schema', async () => {
  const { up, p } = await startOrders({ workers: 1, bodyLimit: '64KiB' });
  const post = (body) => json(`${p.url}/orders`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  try {
    const cheap = { ...GOOD, items: [{ sku: 'A', qty: 1, price: 0.5 }] };
    assert.equal((await post(cheap)).status, 200);
    // money.json is only reached through a $ref from order.json: it is watched too.
    fs.writeFileSync(path.join(p.dir, 'schemas', 'money.json'), JSON.stringify({ ...MONEY, minimum: 1 }));
    await waitFor(async () => (await post(cheap)).status === 400, { what: 'the stricter money.json in force' });
    const r = await post(cheap);
    assert.deepEqual(r.json.violations.map((v) => `${v.location} ${v.keyword}`), ['/items/0/price minimum']);
    fs.writeFileSync(path.join(p.dir, 'schemas', 'order.json'), '{"type": ');
    await waitFor(() => /not JSON/.test(p.stderr), { what: 'the refused reload' });
    assert.equal((await post(cheap)).status, 400, 'the last good schema still applies');
    assert.equal((await post(GOOD)).status, 200);
  } finally {
    await p.stop();
    await up.stop();
  }
});

test('portico check: a schema that does not compile names its file and JSON Pointer; a missing file its line', () => {
  const dir = tempDir();
  writeSchemas(dir);
  fs.writeFileSync(path.join(dir, 'schemas', 'broken.json'),
    JSON.stringify({ properties: { code: { type: 'string', pattern: '(?<=x)y' } } }));
  const base = `
server: {listen: [127.0.0.1:0]}
routes:
  - match: {path: /ok}
    respond: {status: 200}
    validate: {body: schemas/order.json}
`;
  fs.writeFileSync(path.join(dir, 'good.yaml'), base);
  let r = check(path.join(dir, 'good.yaml'));
  assert.equal(r.code, 0, r.stderr);
  fs.writeFileSync(path.join(dir, 'broken.yaml'), base.replace('order.json', 'broken.json'));
  r = check(path.join(dir, 'broken.yaml'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^\/.*\/broken\.yaml:6: validate\.body: file:\/\/.*\/schemas\/broken\.json#\/properties\/code\/pattern: pattern "\(\?<=x\)y" does not compile: .* \(route \* \/ok, filter request_validation\)$/m);
  fs.writeFileSync(path.join(dir, 'missing.yaml'), base.replace('order.json', 'nope.json'));
  r = check(path.join(dir, 'missing.yaml'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /missing\.yaml:6:\d+: routes\[0\]\.validate\.body: cannot read the schema file ".*\/schemas\/nope\.json"/);
});

test('query, path and header validation: strings read as the declared types, every failing parameter listed with where it is', async () => {
  const up = await echoUpstream();
  const p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
upstreams:
  orders: {endpoints: ["${up.address}"]}
routes:
  - match: {path: "/shops/{shop}/orders/{id}", methods: [GET, POST]}
    upstream: orders
    validate:
      path:
        type: object
        properties:
          shop: {type: string, pattern: "^[a-z]+$"}
          id: {type: integer, minimum: 1}
      query:
        type: object
        additionalProperties: false
        properties:
          limit: {type: integer, minimum: 1, maximum: 100}
          expand: {type: boolean}
          tag: {type: array, items: {type: string, enum: [new, paid]}, maxItems: 2}
          q: {type: string, maxLength: 5}
          code: {type: string}
      headers:
        type: object
        required: [X-Api-Version]
        properties:
          X-Api-Version: {type: integer, enum: [1, 2]}
          accept: {type: array, items: {type: string}, minItems: 1}
  - match: {path: "/shops/{shop}/bodies", methods: [POST]}
    upstream: orders
    validate:
      path: {properties: {shop: {type: string, minLength: 3}}}
      body: {type: object, required: [n], properties: {n: {type: integer}}}
`);
  const get = (url, headers = { 'x-api-version': '2' }) => json(`${p.url}${url}`, { headers });
  try {
    let r = await get('/shops/acme/orders/42?limit=10&expand=true&tag=new&tag=paid&q=a%20b&code=007');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(up.seen.at(-1).url, '/shops/acme/orders/42?limit=10&expand=true&tag=new&tag=paid&q=a%20b&code=007',
      'a valid request reaches the upstream unchanged');
    r = await get('/shops/acme/orders/7?q=a+b+c');
    assert.equal(r.status, 200, '"+" is a space, so "a b c" is five characters');
    r = await get('/shops/acme/orders/7?tag=new');
    assert.equal(r.status, 200, 'one value of an array parameter is an array of one');

    const before = up.seen.length;
    r = await get('/shops/ACME/orders/0?limit=abc&expand=yes&tag=new&tag=old&tag=paid&q=toolong&other=1',
      { 'x-api-version': '3' });
    assert.equal(r.status, 400);
    assert.equal(up.seen.length, before, 'nothing invalid reached the upstream');
    assert.equal(r.json.error, "the request's path, query and headers do not match the route's schemas");
    const found = r.json.violations.map((v) => `${v.in} ${v.location} ${v.keyword}`);
    assert.deepEqual(found.map((v) => v.split(' ')[0]), ['path', 'path', 'query', 'query', 'query', 'query', 'query',
      'query', 'headers'], 'grouped by part, in the order path, query, headers');
    assert.deepEqual([...found].sort(), [
      'headers /X-Api-Version enum',
      'path /id minimum',
      'path /shop pattern',
      'query /expand type',
      'query /limit type',
      'query /other additionalProperties',
      'query /q maxLength',
      'query /tag maxItems',
      'query /tag/1 enum',
    ]);
    for (const v of r.json.violations) assert.ok(v.message.length > 0);
    assert.match(r.json.violations.find((v) => v.location === '/limit').message, /integer/);

    r = await get('/shops/acme/orders/5', {});
    assert.equal(r.status, 400);
    assert.deepEqual(r.json.violations.map((v) => `${v.in} ${v.location} ${v.keyword}`), ['headers /X-Api-Version required'],
      'a required header that is missing');
    assert.equal(r.json.violations[0].message, 'is required');
    r = await get('/shops/acme/orders/5', { 'X-API-VERSION': '1', accept: 'application/json, text/plain' });
    assert.equal(r.status, 200, 'header names match without regard to case; a list is an array');
    r = await get('/shops/acme/orders/5?limit=1&limit=2');
    assert.equal(r.status, 400, 'a repeated parameter that is not an array');
    assert.deepEqual(r.json.violations.map((v) => `${v.location} ${v.keyword}`), ['/limit type']);
    r = await get('/shops/acme/orders/5?q=%FF');
    assert.equal(r.status, 400);
    assert.deepEqual(r.json.violations.map((v) => `${v.in} ${v.keyword}`), ['query encoding']);

    // Parameters and body in one answer.
    r = await json(`${p.url}/shops/ab/bodies`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":"1"}' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json.violations.map((v) => `${v.in} ${v.location} ${v.keyword}`), ['path /shop minLength', 'body /n type']);
    assert.equal(r.json.error, "the request's path and body do not match the route's schemas");
    r = await json(`${p.url}/shops/abc/bodies`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
    assert.equal(r.status, 200);
    r = await json(`${p.url}/shops/ab/bodies`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(r.status, 400, 'bad parameters are answered even when the body is not checkable');
    assert.deepEqual(r.json.violations.map((v) => `${v.in} ${v.location}`), ['path /shop']);
  } finally {
    await p.stop();
    await up.stop();
  }
});

test('portico check: a path schema naming a parameter the path does not have', () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'p.yaml'), `
server: {listen: [127.0.0.1:0]}
routes:
  - match: {path: "/items/{id}"}
    respond: {status: 200}
    validate: {path: {properties: {ident: {type: integer}}}}
`);
  const r = check(path.join(dir, 'p.yaml'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /p\.yaml:6: validate\.path: "ident" is not a parameter of the path \/items\/\{id\}/);
});
