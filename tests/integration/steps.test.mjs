// Pipelines of steps (`steps:` routes): a business function (Node, under npm
// aws-lambda-ric) → a schema check of its result → a formatter function (Python, under
// Portico's runtime client), each step's output the next one's input, under the route's
// timeout; and every way the chain stops early — a failing function, a result outside
// its schema, a function's own error answer, the route's timeout, a bad request — with
// the step named in the answer and the log.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Portico, check, json, request, tempDir } from './lib/harness.mjs';
import { writeFunction } from './lib/functions.mjs';

const root = tempDir('portico-steps-');
const running = [];
after(async () => { for (const p of running) await p.stop(); });

// The business logic: prices an order. {"fail": "throw"} throws, "invalid" answers a
// result its schema refuses, "missing" answers its own 404, "slow" takes 3 s.
writeFunction(root, 'business', {
  'index.mjs': `
export const handler = async (event) => {
  const order = JSON.parse(event.body || '{}');
  if (order.fail === 'throw') throw new Error('the price list is unavailable');
  if (order.fail === 'missing') return { statusCode: 404, body: JSON.stringify({ message: 'no such customer' }) };
  if (order.fail === 'slow') await new Promise((r) => setTimeout(r, 3000));
  const total = order.items.reduce((sum, i) => sum + i.qty * i.price, 0);
  if (order.fail === 'invalid') return { id: 17, total: 'a lot' };
  return {
    statusCode: 201,
    headers: { 'x-order-id': 'ord-1' },
    body: JSON.stringify({ id: 'ord-1', total, customer: order.customer }),
  };
};
`,
});
// The formatter: gets the business result (statusCode, headers, body) and the
// request's requestContext; answers the client's shape. It records each call.
writeFunction(root, 'formatter', {
  'app.py': `
import json, os

def handler(event, context):
    with open(os.environ["CALLS"], "a") as f:
        f.write(json.dumps(event) + "\\n")
    result = json.loads(event["body"])
    return {
        "statusCode": event["statusCode"],
        "headers": {"content-type": "application/json", "x-formatted": "yes",
                    "x-order-id": event["headers"].get("x-order-id", "")},
        "body": json.dumps({"data": result,
                            "meta": {"request_id": event["requestContext"]["requestId"],
                                     "route": event["requestContext"]["routeKey"]}}),
    }
`,
});
const calls = path.join(root, 'formatter-calls.jsonl');
const formatterCalls = () =>
  fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').split('\n').filter(Boolean).map(JSON.parse) : [];

const config = `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
functions:
  business: {runtime: nodejs20.x, handler: index.handler, code: ./business, timeout: 5s}
  formatter: {runtime: python3.11, handler: app.handler, code: ./formatter, environment: {CALLS: ${calls}}}
routes:
  - match: {path: /orders, methods: [POST]}
    timeouts: {total: 1500ms}
    steps:
      - validate:
          body:
            type: object
            required: [customer, items]
            properties:
              customer: {type: string, minLength: 1}
              items:
                type: array
                minItems: 1
                items:
                  type: object
                  required: [qty, price]
                  properties: {qty: {type: integer, minimum: 1}, price: {type: number}}
      - function: business
      - name: result contract
        validate:
          body:
            type: object
            required: [id, total]
            properties: {id: {type: string}, total: {type: number}}
      - function: formatter
`;
let portico;
async function start() {
  if (!portico) {
    portico = await Portico.start(config, { dir: root });
    running.push(portico);
  }
  return portico;
}
const order = (extra = {}) => JSON.stringify({ customer: 'ada', items: [{ qty: 2, price: 2.5 }, { qty: 1, price: 10 }], ...extra });
const post = (p, body, headers = { 'content-type': 'application/json' }) =>
  json(`${p.url}/orders`, { method: 'POST', headers, body });

test('function → validate → function: each output the next input, the formatter sees the result and the request', async () => {
  const p = await start();
  const before = formatterCalls().length;
  const r = await post(p, order());
  assert.equal(r.status, 201, 'the business function\'s status, carried through the formatter');
  assert.equal(r.headers['x-formatted'], 'yes');
  assert.equal(r.headers['x-order-id'], 'ord-1', 'the business result\'s headers reach the formatter');
  assert.deepEqual(r.json.data, { id: 'ord-1', total: 15, customer: 'ada' });
  assert.equal(r.json.meta.request_id, r.headers['x-request-id']);
  assert.equal(r.json.meta.route, 'POST /orders');
  const seen = formatterCalls().slice(before);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].statusCode, 201);
  assert.equal(seen[0].isBase64Encoded, false);
  assert.equal(seen[0].headers['content-type'], 'application/json');
  assert.equal(JSON.parse(seen[0].body).total, 15);
});

test('a result outside its schema stops the chain in the middle: 502, the formatter never runs, the log names the step', async () => {
  const p = await start();
  const before = formatterCalls().length;
  const r = await post(p, order({ fail: 'invalid' }));
  assert.equal(r.status, 502);
  assert.match(r.json.error, /function business answered outside the route's contract \(result contract failed\)/);
  assert.equal(r.json.request_id, r.headers['x-request-id']);
  await p.waitForLog(/step 3 of 4 \(result contract\): the result of step 2 of 4 \(function business\) does not match its schema: 2 violations: \/id .*\(type\); \/total .*\(type\)/);
  assert.equal(formatterCalls().length, before, 'no step after the failing one ran');
});

test('a function that throws stops the chain: 502 naming the step; its own 404 is the answer as it is', async () => {
  const p = await start();
  const before = formatterCalls().length;
  let r = await post(p, order({ fail: 'throw' }));
  assert.equal(r.status, 502);
  assert.match(r.json.error, /^function business failed: Error: the price list is unavailable \(step 2 of 4 \(function business\)\)$/);
  await p.waitForLog(/request \S+: step 2 of 4 \(function business\) failed: Error: the price list is unavailable/);
  r = await post(p, order({ fail: 'missing' }));
  assert.equal(r.status, 404);
  assert.deepEqual(r.json, { message: 'no such customer' });
  await p.waitForLog(/step 2 of 4 \(function business\) answered 404; the steps after it did not run/);
  assert.equal(formatterCalls().length, before);
});

test('all steps run under the route\'s timeout: a slow step is cut off at it (504 naming the step)', async () => {
  const p = await start();
  const t0 = Date.now();
  const r = await post(p, order({ fail: 'slow' }));
  const took = Date.now() - t0;
  assert.equal(r.status, 504);
  assert.match(r.json.error, /the route's steps did not finish within 1500 ms \(step 2 of 4 \(function business\) was running\)/);
  assert.ok(took >= 1400 && took < 2800, `answered after ${took} ms, the timeout is 1500 ms`);
  // The instance busy with the slow call is not reused before it is done; the route still serves.
  const ok = await post(p, order());
  assert.equal(ok.status, 201);
});

test('a validate step before any function checks the request: every violation listed, 415, malformed JSON', async () => {
  const p = await start();
  const before = formatterCalls().length;
  let r = await post(p, JSON.stringify({ customer: '', items: [{ qty: 0, price: 'x' }] }));
  assert.equal(r.status, 400);
  assert.deepEqual(r.json.violations.map((v) => [v.in, v.location, v.keyword]).sort(), [
    ['body', '/customer', 'minLength'],
    ['body', '/items/0/price', 'type'],
    ['body', '/items/0/qty', 'minimum'],
  ]);
  r = await post(p, order(), { 'content-type': 'text/plain' });
  assert.equal(r.status, 415);
  r = await post(p, '{"customer": "ada", ');
  assert.equal(r.status, 400);
  assert.match(r.json.error, /not valid JSON \(at byte \d+/);
  assert.equal(formatterCalls().length, before, 'no function ran for a bad request');
});

test('portico check: steps name a function that exists, one kind each, and a schema that compiles', () => {
  const dir = tempDir('portico-steps-check-');
  fs.mkdirSync(path.join(dir, 'business'));
  fs.writeFileSync(path.join(dir, 'business', 'index.mjs'), 'export const handler = async () => 1;\n');
  const head = `functions:
  business: {runtime: nodejs, handler: index.handler, code: ./business}
routes:
  - match: {path: /x}
`;
  const cases = [
    ['    steps: [{function: nosuch}]\n', /portico\.yaml:5:.*steps\[0\]\.function: unknown function "nosuch"/],
    ['    steps: [{function: business, validate: {body: {type: object}}}]\n', /portico\.yaml:5:.*steps\[0\]: a step is one of: function, validate/],
    ['    steps: [{validate: {body: {type: object}}}]\n', /steps need at least one function/],
    ['    steps: [{function: business}, {validate: {body: {type: objekt}}}]\n', /steps\[1\]\.validate.*objekt/],
    ['    steps: [{function: business}, {validate: missing.json}]\n', /cannot read the schema file/],
    ['    steps: [{function: business}]\n    upstream: x\n', /a route takes only one of/],
  ];
  for (const [steps, want] of cases) {
    const file = path.join(dir, 'portico.yaml');
    fs.writeFileSync(file, head + steps);
    const r = check(file);
    assert.notEqual(r.code, 0, steps);
    assert.match(r.stderr, want, `${steps}\n${r.stderr}`);
  }
  fs.writeFileSync(path.join(dir, 'portico.yaml'), head + '    steps: [{function: business}, {validate: {body: {type: object}}}]\n');
  const r = check(path.join(dir, 'portico.yaml'));
  assert.equal(r.code, 0, r.stderr);
});
