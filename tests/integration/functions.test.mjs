// Functions: unmodified Lambda handlers run as local processes through the Runtime API
// — a bash + curl custom runtime, Node handlers under npm aws-lambda-ric, Python
// handlers under Portico's runtime client — reached through routes with API Gateway's
// payload format 2.0 and 1.0; scaling from zero and back, concurrency limits, and the
// failure cases (crash, init failure, timeout) with their exact errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Portico, PORTICO_BIN, request, json, waitFor, sleep, tempDir, metric } from './lib/harness.mjs';
import { writeFunction, BASH_BOOTSTRAP, childPids } from './lib/functions.mjs';

const root = tempDir('portico-fn-');
const running = [];
after(async () => { for (const p of running) await p.stop(); });

async function start(yaml, opts = {}) {
  const p = await Portico.start(yaml, { dir: root, file: `portico-${running.length}.yaml`, ...opts });
  running.push(p);
  return p;
}

const base = (extra = '') => `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
${extra}`;

// --- the three kinds of runtime ---

test('a bash + curl custom runtime (AWS tutorial) gets the 2.0 event and answers', async () => {
  writeFunction(root, 'bash-echo', {
    bootstrap: BASH_BOOTSTRAP,
    'function.sh': 'handler () { echo "$1"; }\n',
  });
  const p = await start(base(`
functions:
  echo: {runtime: provided.al2023, handler: function.handler, code: ./bash-echo}
routes:
  - {match: {path: "/items/{id}", methods: [POST]}, function: echo}
`));
  const r = await request(`${p.url}/items/42?color=red&color=blue&q=a%20b`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-multi': 'one', cookie: 'a=1; b=2' },
    body: '{"n":1}',
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  const e = JSON.parse(r.body.toString());
  assert.equal(e.version, '2.0');
  assert.equal(e.routeKey, 'POST /items/{id}');
  assert.equal(e.rawPath, '/items/42');
  assert.equal(e.rawQueryString, 'color=red&color=blue&q=a%20b');
  assert.deepEqual(e.queryStringParameters, { color: 'red,blue', q: 'a b' });
  assert.deepEqual(e.pathParameters, { id: '42' });
  assert.deepEqual(e.cookies, ['a=1', 'b=2']);
  assert.equal(e.headers['x-multi'], 'one');
  assert.equal(e.headers.cookie, undefined);
  assert.equal(e.requestContext.http.method, 'POST');
  assert.equal(e.requestContext.http.path, '/items/42');
  assert.equal(e.requestContext.http.sourceIp, '127.0.0.1');
  assert.equal(e.requestContext.routeKey, 'POST /items/{id}');
  assert.equal(e.requestContext.stage, '$default');
  assert.equal(e.requestContext.requestId, r.headers['x-request-id']);
  assert.ok(Math.abs(e.requestContext.timeEpoch - Date.now()) < 10000);
  assert.equal(e.body, '{"n":1}');
  assert.equal(e.isBase64Encoded, false);
});

test('a Node handler under aws-lambda-ric: result shapes as API Gateway maps them', async () => {
  writeFunction(root, 'node-shapes', {
    'index.mjs': `
export const handler = async (event, context) => {
  switch (event.rawPath) {
    case '/string': return 'Hello from Lambda!';
    case '/number': return 42;
    case '/object': return { message: 'hi' };
    case '/binary': return { statusCode: 200, headers: { 'content-type': 'application/octet-stream' },
                             body: Buffer.from([0, 1, 2, 255]).toString('base64'), isBase64Encoded: true };
    case '/cookies': return { statusCode: 201, cookies: ['a=1; Path=/', 'b=2'], body: 'made' ,
                              headers: { 'content-type': 'text/plain' } };
    case '/missing': return { statusCode: 404, headers: { 'x-reason': 'no such item', 'content-type': 'application/json' },
                              body: JSON.stringify({ error: 'not found' }) };
    case '/context': return { name: context.functionName, version: context.functionVersion,
                              memory: context.memoryLimitInMB, group: context.logGroupName,
                              arn: context.invokedFunctionArn, remaining: context.getRemainingTimeInMillis(),
                              requestId: context.awsRequestId };
    case '/env': return { keys: Object.keys(process.env).sort(), env: process.env };
    case '/echo': return event;
    case '/throw': throw new TypeError('boom');
    case '/exit': process.exit(3);
  }
  return { statusCode: 400, body: 'unknown path' };
};
`,
  });
  const p = await start(base(`
functions:
  shapes: {runtime: nodejs20.x, handler: index.handler, code: ./node-shapes, memory: 256MiB, timeout: 5s,
           environment: {GREETING: hello, FROM_PORTICO_env: PORTICO_TEST_PASSED}}
routes:
  - {match: {path: "/{rest...}"}, function: shapes}
`), { env: { PORTICO_TEST_SECRET: 'must-not-leak', PORTICO_TEST_PASSED: 'passed-on', NODE_OPTIONS: '--no-warnings' } });

  let r = await request(`${p.url}/string`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.body.toString(), 'Hello from Lambda!');
  r = await request(`${p.url}/number`);
  assert.equal(r.body.toString(), '42');
  r = await request(`${p.url}/object`);
  assert.deepEqual(JSON.parse(r.body.toString()), { message: 'hi' });
  r = await request(`${p.url}/binary`);
  assert.equal(r.headers['content-type'], 'application/octet-stream');
  assert.deepEqual([...r.body], [0, 1, 2, 255]);
  r = await request(`${p.url}/cookies`);
  assert.equal(r.status, 201);
  assert.deepEqual(r.headers['set-cookie'], ['a=1; Path=/', 'b=2']);
  assert.equal(r.body.toString(), 'made');
  r = await request(`${p.url}/missing`);
  assert.equal(r.status, 404);
  assert.equal(r.headers['x-reason'], 'no such item');
  assert.deepEqual(JSON.parse(r.body.toString()), { error: 'not found' });

  const c = (await json(`${p.url}/context`)).json;
  assert.equal(c.name, 'shapes');
  assert.equal(c.version, '$LATEST');
  assert.equal(String(c.memory), '256');
  assert.equal(c.group, '/aws/lambda/shapes');
  assert.equal(c.arn, 'arn:aws:lambda:us-east-1:000000000000:function:shapes');
  assert.ok(c.remaining > 3000 && c.remaining <= 5000, `remaining ${c.remaining}`);
  assert.match(c.requestId, /^[0-9a-f-]{36}$/);

  // Only Lambda's variables and the configured ones: never Portico's own environment.
  const env = (await json(`${p.url}/env`)).json.env;
  assert.equal(env.GREETING, 'hello');
  assert.equal(env.FROM_PORTICO, 'passed-on');
  assert.equal(env.PORTICO_TEST_SECRET, undefined);
  assert.equal(env.NODE_OPTIONS, undefined);
  assert.equal(env.AWS_LAMBDA_FUNCTION_NAME, 'shapes');
  assert.equal(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, '256');
  assert.equal(env.AWS_LAMBDA_INITIALIZATION_TYPE, 'on-demand');
  assert.equal(env.AWS_EXECUTION_ENV, 'AWS_Lambda_nodejs20.x');
  assert.equal(env.TZ, ':UTC');
  assert.match(env.AWS_LAMBDA_LOG_STREAM_NAME, /^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
  assert.match(env._X_AMZN_TRACE_ID, /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}/);

  // A binary request body arrives base64-encoded.
  const e = (await json(`${p.url}/echo`, { method: 'PUT', headers: { 'content-type': 'image/png' },
    body: Buffer.from([137, 80, 78, 71]) })).json;
  assert.equal(e.isBase64Encoded, true);
  assert.deepEqual([...Buffer.from(e.body, 'base64')], [137, 80, 78, 71]);

  // A handler error: 502 naming the error; the instance keeps serving.
  r = await json(`${p.url}/throw`);
  assert.equal(r.status, 502);
  assert.match(r.json.error, /TypeError/);
  assert.match(r.json.error, /boom/);
  assert.equal((await request(`${p.url}/number`)).status, 200);

  // A crash fails its invocation at once with Lambda's message; the instance is replaced.
  const before = childPids(p.proc.pid);
  const t0 = Date.now();
  r = await json(`${p.url}/exit`);
  assert.equal(r.status, 502);
  assert.match(r.json.error, /Runtime\.ExitError/);
  assert.match(r.json.error, /Runtime exited with error: exit status 3/);
  assert.ok(Date.now() - t0 < 3000, 'the crash is reported at once, not at the timeout');
  assert.equal((await request(`${p.url}/number`)).status, 200);
  const afterPids = childPids(p.proc.pid);
  assert.equal(afterPids.length, 1);
  assert.notDeepEqual(afterPids, before);
  // Lambda's REPORT line, in the function's log store (Portico's own log has it at debug).
  const report = /^REPORT RequestId: [0-9a-f-]{36}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms$/;
  await waitFor(async () => (await json(`${p.adminUrl}/logs/shapes?limit=10000`)).json.events.some((e) => report.test(e.message)),
    { what: 'a REPORT line with Init Duration' });

  // Metrics: the invocations so far (13, 2 of them failed), two cold starts.
  const m = await p.metrics();
  const f = 'function="shapes"';
  assert.equal(metric(m, 'portico_function_invocations_total', f), 13);
  assert.equal(metric(m, 'portico_function_errors_total', f), 2);
  assert.equal(metric(m, 'portico_function_cold_starts_total', f), 2);
  assert.equal(metric(m, 'portico_function_instances', f), 1);
  assert.equal(metric(m, 'portico_function_concurrent_executions', f), 0);
  assert.equal(metric(m, 'portico_function_duration_seconds_count', f), 13);
  assert.equal(metric(m, 'portico_function_init_duration_seconds_count', f), 2);
  assert.ok(metric(m, 'portico_function_billed_gb_seconds_total', f) >= 13 * 0.25 / 1000, 'at least 1 ms x 256 MB each');
  // Lambda's own lines stay out of Portico's log at info (they are in the log store).
  assert.ok(!/info function shapes \S+: START RequestId/.test(p.stderr));
});

test('a Python handler under Portico\'s runtime client', async () => {
  writeFunction(root, 'py-app', {
    'app.py': `import json, os, logging
logger = logging.getLogger()
logger.setLevel(logging.INFO)

def handler(event, context):
    path = event["rawPath"]
    if path == "/boom":
        raise ValueError("bad value")
    if path == "/text":
        return "plain text"
    logger.info("serving %s", path)
    print("printed line")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({
            "path": path,
            "name": context.function_name,
            "memory": context.memory_limit_in_mb,
            "request_id": context.aws_request_id,
            "remaining": context.get_remaining_time_in_millis(),
            "q": event.get("queryStringParameters"),
            "env": os.environ.get("GREETING"),
        }),
    }
`,
  });
  writeFunction(root, 'py-broken', { 'app.py': 'import no_such_module\ndef handler(e, c):\n    return 1\n' });
  const p = await start(base(`
functions:
  py: {runtime: python3.11, handler: app.handler, code: ./py-app, environment: {GREETING: hi}}
  pybroken: {runtime: python, handler: app.handler, code: ./py-broken}
routes:
  - {match: {path: /broken}, function: pybroken}
  - {match: {path: "/{any}"}, function: py}
`));
  let r = await json(`${p.url}/hello?x=1`);
  assert.equal(r.status, 200);
  assert.equal(r.json.path, '/hello');
  assert.equal(r.json.name, 'py');
  assert.equal(r.json.memory, '128');
  assert.deepEqual(r.json.q, { x: '1' });
  assert.equal(r.json.env, 'hi');
  assert.ok(r.json.remaining > 1000 && r.json.remaining <= 3000);
  assert.match(r.json.request_id, /^[0-9a-f-]{36}$/);
  r = await request(`${p.url}/text`);
  assert.equal(r.body.toString(), 'plain text');
  r = await json(`${p.url}/boom`);
  assert.equal(r.status, 502);
  assert.match(r.json.error, /ValueError: bad value/);
  r = await json(`${p.url}/broken`);
  assert.equal(r.status, 502);
  assert.match(r.json.error, /Runtime\.ImportModuleError/);
  assert.match(r.json.error, /Unable to import module 'app': No module named 'no_such_module'/);
  await p.waitForLog(/\[INFO\]\t\S+Z\t[0-9a-f-]{36}\tserving \/hello/);
  await p.waitForLog(/printed line/);
});

test('payload format 1.0: the REST API event and a structured result', async () => {
  writeFunction(root, 'node-v1', {
    'index.js': `exports.handler = async (event) => ({ statusCode: 200, headers: { 'content-type': 'application/json' },
      multiValueHeaders: { 'x-many': ['a', 'b'] }, body: JSON.stringify(event) });`,
  });
  const p = await start(base(`
functions:
  v1: {runtime: nodejs, handler: index.handler, code: ./node-v1}
routes:
  - {match: {path: "/users/{user}", methods: [GET]}, function: v1, payload_format: "1.0"}
`));
  const r = await request(`${p.url}/users/ann?x=1&x=2`, { headers: { 'x-one': 'v' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-many'], 'a, b');
  const e = JSON.parse(r.body.toString());
  assert.equal(e.version, '1.0');
  assert.equal(e.resource, '/users/{user}');
  assert.equal(e.path, '/users/ann');
  assert.equal(e.httpMethod, 'GET');
  assert.deepEqual(e.pathParameters, { user: 'ann' });
  assert.deepEqual(e.multiValueQueryStringParameters.x, ['1', '2']);
  assert.equal(e.queryStringParameters.x, '2');
  assert.equal(e.headers['x-one'], 'v');
  assert.equal(e.requestContext.httpMethod, 'GET');
  assert.equal(e.body, null);
});

// --- scaling ---

test('scales from zero, and back to zero after idle_timeout', async () => {
  writeFunction(root, 'bash-hello', {
    bootstrap: BASH_BOOTSTRAP,
    'function.sh': 'handler () { echo \'{"statusCode":200,"body":"hi"}\'; }\n',
  });
  const p = await start(base(`
functions:
  hello: {runtime: provided, handler: function.handler, code: ./bash-hello, idle_timeout: 1s}
routes:
  - {match: {path: /hello}, function: hello}
`));
  await sleep(300);
  assert.equal(childPids(p.proc.pid).length, 0, 'no process before the first invocation');
  for (let i = 0; i < 5; i++) {
    const r = await request(`${p.url}/hello`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'hi');
  }
  assert.equal(childPids(p.proc.pid).length, 1, 'one instance serves sequential requests');
  await waitFor(() => childPids(p.proc.pid).length === 0, { timeoutMs: 5000, what: 'scale to zero' });
  assert.equal((await request(`${p.url}/hello`)).status, 200, 'and from zero again');
});

test('min_instances are started before any request and kept', async () => {
  const p = await start(base(`
functions:
  warm: {runtime: provided, handler: function.handler, code: ./bash-hello, min_instances: 2, idle_timeout: 300ms}
routes:
  - {match: {path: /warm}, function: warm}
`));
  await waitFor(() => childPids(p.proc.pid).length === 2, { what: 'two provisioned instances' });
  await sleep(1000);
  assert.equal(childPids(p.proc.pid).length, 2, 'kept past idle_timeout');
  assert.equal((await request(`${p.url}/warm`)).status, 200);
});

test('max_concurrency instances at most; a bounded queue, then 429', async () => {
  writeFunction(root, 'node-slow', {
    'index.mjs': `export const handler = async () => { await new Promise((r) => setTimeout(r, 700)); return { ok: process.pid }; };`,
  });
  const p = await start(base(`
functions:
  slow: {runtime: nodejs, handler: index.handler, code: ./node-slow, max_concurrency: 2, max_queue: 2, timeout: 10s}
routes:
  - {match: {path: /slow}, function: slow}
`));
  let maxChildren = 0;
  const poll = setInterval(() => { maxChildren = Math.max(maxChildren, childPids(p.proc.pid).length); }, 20);
  const results = await Promise.all(Array.from({ length: 8 }, () => json(`${p.url}/slow`)));
  clearInterval(poll);
  const ok = results.filter((r) => r.status === 200);
  const throttled = results.filter((r) => r.status === 429);
  // Two run, two wait for them; the other four are refused at once.
  assert.equal(ok.length, 4, results.map((r) => r.status).join(','));
  assert.equal(throttled.length, 4);
  // The function's own limit, not one worker's share of it.
  assert.match(throttled[0].json.error, /concurrency limit: Rate Exceeded: all 2 instances are busy/);
  assert.equal(metric(await p.metrics(), 'portico_function_throttles_total', 'function="slow"'), 4);
  assert.equal(throttled[0].headers['retry-after'], '1');
  assert.equal(new Set(ok.map((r) => r.json.ok)).size, 2, 'served by two instances');
  assert.ok(maxChildren <= 2, `at most 2 instances (saw ${maxChildren})`);
});

test('one max_concurrency over both workers: pools on each, and no request waits while an instance is free', async () => {
  writeFunction(root, 'node-nap', {
    'index.mjs': `export const handler = async (e) => { await new Promise((r) => setTimeout(r, Number(e.pathParameters.ms))); return { pid: process.pid }; };`,
  });
  // Two workers, max_concurrency 3: a pool of 2 on one worker and of 1 on the other.
  const p = await start(base(`
functions:
  nap: {runtime: nodejs, handler: index.handler, code: ./node-nap, max_concurrency: 3, max_queue: 20, timeout: 10s}
routes:
  - {match: {path: "/nap/{ms}"}, function: nap}
`));
  let maxChildren = 0;
  const poll = setInterval(() => { maxChildren = Math.max(maxChildren, childPids(p.proc.pid).length); }, 20);
  try {
    const burst = await Promise.all(Array.from({ length: 9 }, () => json(`${p.url}/nap/300`)));
    assert.deepEqual(burst.map((r) => r.status), Array(9).fill(200));
    assert.equal(new Set(burst.map((r) => r.json.pid)).size, 3, 'three instances served the burst');
    assert.equal(metric(await p.metrics(), 'portico_function_cold_starts_total', 'function="nap"'), 3);
    assert.equal(metric(await p.metrics(), 'portico_function_instances', 'function="nap"'), 3);
    // Every instance busy, one for long: a request that has to wait is run by the first
    // instance to come free, whichever worker's pool it waited in.
    for (let round = 0; round < 4; round++) {
      const long = json(`${p.url}/nap/2500`);
      const short = [json(`${p.url}/nap/150`), json(`${p.url}/nap/150`)];
      await sleep(50);
      const t0 = Date.now();
      const waiting = await json(`${p.url}/nap/10`);
      const took = Date.now() - t0;
      assert.equal(waiting.status, 200);
      assert.ok(took < 1200, `round ${round}: the waiting request took ${took} ms (an instance was free after ~150)`);
      await Promise.all([long, ...short]);
    }
  } finally {
    clearInterval(poll);
  }
  assert.ok(maxChildren <= 3, `at most 3 instances (saw ${maxChildren})`);
});

// --- failures ---

test('a timeout kills the instance and answers 504 with Lambda\'s message', async () => {
  writeFunction(root, 'node-sleepy', {
    'index.mjs': `export const handler = async (e) => { if (e.rawPath === '/sleep') await new Promise((r) => setTimeout(r, 5000)); return 'awake'; };`,
  });
  const p = await start(base(`
functions:
  sleepy: {runtime: nodejs, handler: index.handler, code: ./node-sleepy, timeout: 500ms}
routes:
  - {match: {path: "/{any}"}, function: sleepy}
`));
  assert.equal((await request(`${p.url}/fast`)).status, 200);
  const [first] = childPids(p.proc.pid);
  const t0 = Date.now();
  const r = await json(`${p.url}/sleep`);
  const took = Date.now() - t0;
  assert.equal(r.status, 504);
  assert.match(r.json.error, /Task timed out after 0\.50 seconds/);
  assert.ok(took >= 450 && took < 2500, `answered after ${took} ms`);
  await waitFor(() => !childPids(p.proc.pid).includes(first), { what: 'the timed-out instance stopped' });
  assert.equal((await request(`${p.url}/fast`)).status, 200, 'a new instance serves');
});

test('init failures: a runtime that exits before asking for work, a Node module that throws', async () => {
  writeFunction(root, 'bash-dies', { bootstrap: '#!/bin/bash\necho "cannot start: missing thing" >&2\nexit 7\n' });
  writeFunction(root, 'node-broken', { 'index.mjs': 'throw new Error("bad init");\nexport const handler = async () => 1;\n' });
  const p = await start(base(`
functions:
  dies: {runtime: provided, code: ./bash-dies}
  broken: {runtime: nodejs, handler: index.handler, code: ./node-broken}
routes:
  - {match: {path: /dies}, function: dies}
  - {match: {path: /broken}, function: broken}
`));
  let r = await json(`${p.url}/dies`);
  assert.equal(r.status, 502);
  assert.match(r.json.error, /Runtime exited with error: exit status 7/);
  await p.waitForLog(/cannot start: missing thing/);
  r = await json(`${p.url}/broken`);
  assert.equal(r.status, 502);
  assert.match(r.json.error, /bad init/);
  // The service stays up and each request tries again.
  r = await json(`${p.url}/dies`);
  assert.equal(r.status, 502);
});

test('the memory limit is enforced: out of memory fails the invocation, the instance is replaced', async () => {
  writeFunction(root, 'node-hungry', {
    'index.mjs': `export const handler = async (e) => {
  if (e.rawPath === '/eat') { const keep = []; for (;;) keep.push(Buffer.alloc(8 << 20, 1)); }
  return 'fine';
};`,
  });
  const p = await start(base(`
functions:
  hungry: {runtime: nodejs, handler: index.handler, code: ./node-hungry, memory: 128MiB, timeout: 20s}
routes:
  - {match: {path: "/{any}"}, function: hungry}
`));
  assert.equal((await request(`${p.url}/small`)).status, 200);
  const r = await json(`${p.url}/eat`, { timeoutMs: 30000 });
  assert.equal(r.status, 502);
  assert.match(r.json.error, /Runtime\.OutOfMemory/);
  assert.match(r.json.error, /Runtime exited with error: signal: killed/);
  assert.match(r.json.error, /more than its 128 MB/);
  await p.waitForLog(/ran out of memory \(limit 128 MB\)/);
  assert.equal((await request(`${p.url}/small`)).status, 200, 'a new instance serves');
  const reports = await waitFor(async () => {
    const lines = (await json(`${p.adminUrl}/logs/hungry`)).json.events.map((e) => e.message).filter((l) => /Max Memory Used/.test(l));
    return lines.length >= 2 && lines;
  }, { what: 'the REPORT lines' });
  const used = reports.map((l) => Number(l.match(/Max Memory Used: (\d+) MB/)[1]));
  assert.ok(used.every((mb) => mb > 10 && mb <= 128), `measured ${used}`);
});

test('portico check names missing code, runtimes and handler files', () => {
  writeFunction(root, 'no-bootstrap', { 'README': 'nothing to run' });
  const cases = [
    ['{runtime: nodejs, handler: index.handler, code: ./does-not-exist}', /functions\.f\.code: ".*does-not-exist" is not a directory/],
    ['{runtime: ruby3.3, handler: index.handler, code: ./node-v1}', /functions\.f\.runtime: unknown runtime "ruby3\.3"/],
    ['{runtime: nodejs, handler: missing.handler, code: ./node-v1}', /functions\.f\.handler: no handler file missing\.js, \.mjs or \.cjs in/],
    ['{runtime: python3.11, handler: app.handler, code: ./node-v1}', /functions\.f\.handler: no handler file app\.py in/],
    ['{runtime: provided, code: ./no-bootstrap}', /functions\.f\.code: a provided runtime needs an executable file "bootstrap"/],
    ['{runtime: nodejs, handler: index, code: ./node-v1}', /functions\.f\.handler: expected FILE\.FUNCTION/],
    ['{runtime: nodejs, handler: index.handler, code: ./node-v1, timeout: 20m}', /functions\.f\.timeout: must be between 1ms and 15m/],
    ['{runtime: nodejs, handler: index.handler, code: ./node-v1, environment: {AWS_LAMBDA_RUNTIME_API: x}}', /is set by Portico for every instance/],
    ['{runtime: nodejs, handler: index.handler, code: ./node-v1, max_event_age: 10ms}', /functions\.f\.max_event_age: must be at least 1s/],
    ['{runtime: nodejs, handler: index.handler, code: ./node-v1, retry_attempts: -1}', /functions\.f\.retry_attempts: /],
    ['{runtime: nodejs, handler: index.handler, code: ./node-v1, retry_delay: soon}', /functions\.f\.retry_delay: /],
  ];
  for (const [def, expected] of cases) {
    const file = path.join(root, 'check.yaml');
    fs.writeFileSync(file, `functions:\n  f: ${def}\nroutes:\n  - {match: {path: /f}, function: f}\n`);
    const r = spawnSync(PORTICO_BIN, ['check', file], { encoding: 'utf8' });
    assert.equal(r.status, 1, def);
    assert.match(r.stderr, /check\.yaml:2:\d+: /, r.stderr);
    assert.match(r.stderr, expected, r.stderr);
  }
  const file = path.join(root, 'check.yaml');
  fs.writeFileSync(file, 'functions:\n  f: {runtime: nodejs, handler: index.handler, code: ./node-v1}\nroutes:\n  - {match: {path: /f}, function: g}\n');
  const r = spawnSync(PORTICO_BIN, ['check', file], { encoding: 'utf8' });
  assert.match(r.stderr, /routes\[0\]\.function: unknown function "g"/);
});

test('a reload keeps warm instances of unchanged functions and replaces changed ones', async () => {
  const yaml = (greeting) => base(`
functions:
  hello: {runtime: provided, handler: function.handler, code: ./bash-hello, environment: {G: ${greeting}}}
  other: {runtime: nodejs, handler: index.handler, code: ./node-v1}
routes:
  - {match: {path: /hello}, function: hello}
  - {match: {path: /other}, function: other}
`);
  const p = await start(yaml('one'));
  assert.equal((await request(`${p.url}/hello`)).status, 200);
  assert.equal((await request(`${p.url}/other`)).status, 200);
  const before = childPids(p.proc.pid).sort();
  assert.equal(before.length, 2);
  p.writeConfig(yaml('two'));
  await p.waitForLog(/function hello changed/);
  await waitFor(() => childPids(p.proc.pid).length === 1, { what: 'the old hello instance stopped' });
  const kept = childPids(p.proc.pid);
  assert.ok(before.includes(kept[0]), 'the unchanged function kept its instance');
  assert.equal((await request(`${p.url}/hello`)).status, 200);
  assert.equal((await request(`${p.url}/other`)).status, 200);
  assert.ok(childPids(p.proc.pid).includes(kept[0]));
});
