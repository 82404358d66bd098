// Asynchronous invocation (the Invoke API's Event type): accepted with 202 once the
// event is stored, run once with the request id the caller got, retried on failure
// (retry_attempts, retry_delay doubling) while younger than max_event_age, then kept
// as a dead letter that `portico dlq` and the admin API list, replay and purge; and
// nothing accepted is lost when Portico is killed with SIGKILL mid-flight.
// Driven by the SDK for JavaScript v3, Debian's boto3 and AWS CLI, and `portico invoke`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { LambdaClient, InvokeCommand } from '../node/lambda.mjs';
import { Portico, PORTICO_BIN, json, request, waitFor, sleep, tempDir, metric } from './lib/harness.mjs';
import { writeFunction } from './lib/functions.mjs';

const run = promisify(execFile);
const root = tempDir('portico-async-');
const running = [];
after(async () => { for (const p of running) await p.stop(); });

// Records each attempt ("start ID EVENT") and each success ("done ID") in RECORD; fails
// while the event asks to and the file OK_FLAG does not exist.
writeFunction(root, 'recorder', {
  'app.py': `import json, os, time

def handler(event, context):
    record = os.environ["RECORD"]
    with open(record, "a") as f:
        f.write("start %s %s\\n" % (context.aws_request_id, json.dumps(event, sort_keys=True)))
    time.sleep(event.get("sleep", 0))
    if event.get("fail") and not os.path.exists(os.environ["OK_FLAG"]):
        raise ValueError("asked to fail")
    with open(record, "a") as f:
        f.write("done %s\\n" % context.aws_request_id)
    return {"ok": True}
`,
});

const recordFile = (name) => path.join(root, `${name}.log`);
const records = (name) => {
  try {
    return fs.readFileSync(recordFile(name), 'utf8').split('\n').filter(Boolean).map((l) => {
      const [kind, id, ...rest] = l.split(' ');
      return { kind, id, event: rest.length ? JSON.parse(rest.join(' ')) : undefined };
    });
  } catch { return []; }
};
const fn = (name, extra = '') =>
  `  ${name}: {runtime: python3.11, handler: app.handler, code: ./recorder, environment: {RECORD: ${recordFile(name)}, OK_FLAG: ${path.join(root, `${name}.ok`)}}${extra}}`;

const config = (dataDir, functions) => `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2, data_dir: ${dataDir}}
services:
  listen: 127.0.0.1:0
  credentials:
    - {access_key_id: AKIDASYNC, secret_access_key: async-secret}
functions:
${functions.join('\n')}
routes:
  - {match: {path: /none}, respond: {body: none}}
`;

async function start(yaml, file) {
  const p = await Portico.start(yaml, { dir: root, file });
  running.push(p);
  p.endpoint = p.stderr.match(/services listening on (http:\/\/\S+)/)[1];
  return p;
}

const awsEnv = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDASYNC', AWS_SECRET_ACCESS_KEY: 'async-secret',
  AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
const client = (endpoint) => new LambdaClient({ endpoint, region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDASYNC', secretAccessKey: 'async-secret' } });

test('asynchronous invocation', async (t) => {
  const p = await start(config(path.join(root, 'data'), [
    fn('plain'),
    fn('flaky', ', retry_delay: 100ms'),
    fn('aged', ', retry_delay: 2s, max_event_age: 1s'),
    fn('once', ', retry_attempts: 0'),
  ]), 'portico.yaml');
  const lambda = client(p.endpoint);

  await t.test('SDK v3, boto3, the AWS CLI and portico invoke --async: 202, run once under the id the caller got', async () => {
    const r = await lambda.send(new InvokeCommand({ FunctionName: 'plain', InvocationType: 'Event', Payload: JSON.stringify({ via: 'sdk' }) }));
    assert.equal(r.StatusCode, 202);
    assert.equal(r.FunctionError, undefined);
    const sdkId = r.$metadata.requestId;
    assert.match(sdkId, /^[0-9a-f-]{36}$/);

    const script = `
import boto3, json, sys
c = boto3.client("lambda", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="AKIDASYNC", aws_secret_access_key="async-secret")
r = c.invoke(FunctionName="plain", InvocationType="Event", Payload=json.dumps({"via": "boto3"}))
print(json.dumps({"status": r["StatusCode"], "id": r["ResponseMetadata"]["RequestId"]}))
`;
    const boto = JSON.parse((await run('/usr/bin/python3', ['-c', script, p.endpoint], { env: awsEnv })).stdout);
    assert.equal(boto.status, 202);

    const outFile = path.join(root, 'cli-out.json');
    const cli = JSON.parse((await run('/usr/bin/aws', ['lambda', 'invoke', '--endpoint-url', p.endpoint, '--function-name', 'plain',
      '--invocation-type', 'Event', '--cli-binary-format', 'raw-in-base64-out', '--payload', '{"via":"cli"}', outFile],
    { env: awsEnv })).stdout);
    assert.equal(cli.StatusCode, 202);

    const { stdout } = await run(PORTICO_BIN, ['invoke', 'plain', '--async', '--payload', '{"via":"portico"}', '--admin', p.adminAddress]);
    const cliId = stdout.match(/accepted: request id ([0-9a-f-]{36})/)[1];

    await waitFor(() => records('plain').filter((x) => x.kind === 'done').length === 4, { what: 'four events run' });
    const starts = records('plain').filter((x) => x.kind === 'start');
    assert.deepEqual(starts.map((x) => x.event.via).sort(), ['boto3', 'cli', 'portico', 'sdk']);
    assert.equal(starts.find((x) => x.event.via === 'sdk').id, sdkId);
    assert.equal(starts.find((x) => x.event.via === 'boto3').id, boto.id);
    assert.equal(starts.find((x) => x.event.via === 'portico').id, cliId);
    await sleep(300);
    assert.equal(records('plain').filter((x) => x.kind === 'start').length, 4, 'no event ran twice');
    const m = await p.metrics();
    assert.equal(metric(m, 'portico_function_async_events_received_total', 'function="plain"'), 4);
    await waitFor(async () => metric(await p.metrics(), 'portico_function_async_events_pending', 'function="plain"') === 0,
      { what: 'no event pending' });
  });

  await t.test('refusals: over 1 MB, no such function, not JSON', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(1024 * 1024) });
    await assert.rejects(lambda.send(new InvokeCommand({ FunctionName: 'plain', InvocationType: 'Event', Payload: big })),
      (e) => e.name === 'RequestTooLargeException' && e.$metadata.httpStatusCode === 413 && /1048576 bytes/.test(e.message));
    await assert.rejects(lambda.send(new InvokeCommand({ FunctionName: 'nope', InvocationType: 'Event', Payload: '{}' })),
      (e) => e.name === 'ResourceNotFoundException');
    await assert.rejects(lambda.send(new InvokeCommand({ FunctionName: 'plain', InvocationType: 'Event', Payload: 'not json' })),
      (e) => e.name === 'InvalidRequestContentException');
    // A synchronous payload may be up to 6 MB; an asynchronous one only 1 MB.
    const r = await lambda.send(new InvokeCommand({ FunctionName: 'plain', Payload: big }));
    assert.equal(r.StatusCode, 200);
  });

  await t.test('a failing event runs 1 + retry_attempts times under one id, then becomes a dead letter', async () => {
    const r = await lambda.send(new InvokeCommand({ FunctionName: 'flaky', InvocationType: 'Event', Payload: JSON.stringify({ fail: true, n: 1 }) }));
    const id = r.$metadata.requestId;
    const dead = await waitFor(async () => {
      const d = await json(`${p.adminUrl}/dead-letters?function=flaky`);
      return d.json.DeadLetters.length === 1 && d.json.DeadLetters[0];
    }, { what: 'a dead letter' });
    const attempts = records('flaky').filter((x) => x.kind === 'start');
    assert.equal(attempts.length, 3);
    assert.ok(attempts.every((x) => x.id === id));
    // Lambda's on-failure destination record.
    assert.equal(dead.version, '1.0');
    assert.equal(dead.requestContext.requestId, id);
    assert.equal(dead.requestContext.functionArn, 'arn:aws:lambda:us-east-1:000000000000:function:flaky:$LATEST');
    assert.equal(dead.requestContext.condition, 'RetriesExhausted');
    assert.equal(dead.requestContext.approximateInvokeCount, 3);
    assert.deepEqual(dead.requestPayload, { fail: true, n: 1 });
    assert.equal(dead.responseContext.functionError, 'Unhandled');
    assert.equal(dead.responsePayload.errorType, 'ValueError');
    assert.equal(dead.responsePayload.errorMessage, 'asked to fail');
    assert.match(dead.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const m = await p.metrics();
    assert.equal(metric(m, 'portico_function_async_retries_total', 'function="flaky"'), 2);
    assert.equal(metric(m, 'portico_function_async_events_dropped_total', 'function="flaky"'), 1);
    await p.waitForLog(/asynchronous invocation \S+ of flaky failed for good \(RetriesExhausted, ValueError\) after 3 attempts/);

    // portico dlq list shows it; replay runs it again (now it succeeds) under a new id.
    const list = (await run(PORTICO_BIN, ['dlq', 'list', '--admin', p.adminAddress])).stdout;
    assert.match(list, new RegExp(`${id}\\s+flaky\\s+RetriesExhausted\\s+3\\s+\\S+\\s+ValueError: asked to fail`));
    fs.writeFileSync(path.join(root, 'flaky.ok'), '');
    const replay = (await run(PORTICO_BIN, ['dlq', 'replay', 'flaky', '--admin', p.adminAddress])).stdout;
    const newId = replay.match(new RegExp(`flaky ${id} -> ([0-9a-f-]{36})`))[1];
    assert.match(replay, /1 event replayed/);
    await waitFor(() => records('flaky').some((x) => x.kind === 'done' && x.id === newId), { what: 'the replayed event to succeed' });
    assert.deepEqual(records('flaky').find((x) => x.kind === 'start' && x.id === newId).event, { fail: true, n: 1 });
    assert.equal((await json(`${p.adminUrl}/dead-letters`)).json.DeadLetters.filter((d) => d.requestContext.functionArn.includes(':flaky:')).length, 0);
  });

  await t.test('max_event_age: an event too old for its next retry is a dead letter (EventAgeExceeded); retry_attempts 0', async () => {
    await lambda.send(new InvokeCommand({ FunctionName: 'aged', InvocationType: 'Event', Payload: JSON.stringify({ fail: true }) }));
    await lambda.send(new InvokeCommand({ FunctionName: 'once', InvocationType: 'Event', Payload: JSON.stringify({ fail: true }) }));
    const dead = await waitFor(async () => {
      const d = (await json(`${p.adminUrl}/dead-letters`)).json.DeadLetters;
      return d.length === 2 && d;
    }, { what: 'two dead letters' });
    const byFn = Object.fromEntries(dead.map((d) => [d.requestContext.functionArn.split(':')[6], d]));
    assert.equal(byFn.aged.requestContext.condition, 'EventAgeExceeded');
    assert.equal(byFn.aged.requestContext.approximateInvokeCount, 1);
    assert.equal(byFn.once.requestContext.condition, 'RetriesExhausted');
    assert.equal(byFn.once.requestContext.approximateInvokeCount, 1);
    assert.equal(records('aged').filter((x) => x.kind === 'start').length, 1);
    assert.equal(records('once').filter((x) => x.kind === 'start').length, 1);

    // Purge: by function, then everything; the JSON listing through the CLI agrees.
    assert.match((await run(PORTICO_BIN, ['dlq', 'purge', 'aged', '--admin', p.adminAddress])).stdout, /^1 dead letter purged/);
    const left = JSON.parse((await run(PORTICO_BIN, ['dlq', 'list', '--json', '--admin', p.adminAddress])).stdout);
    assert.deepEqual(left.DeadLetters.map((d) => d.requestContext.functionArn.split(':')[6]), ['once']);
    const del = await request(`${p.adminUrl}/dead-letters`, { method: 'DELETE' });
    assert.equal(JSON.parse(del.body).Purged, 1);
    assert.match((await run(PORTICO_BIN, ['dlq', 'list', '--admin', p.adminAddress])).stdout, /no dead letters/);
    const bad = await request(`${p.adminUrl}/dead-letters/replay`, { method: 'GET' });
    assert.equal(bad.status, 405);
  });
});

test('kill -9 mid-flight: every accepted event runs after the restart, none lost', async () => {
  const dataDir = path.join(root, 'data-kill');
  const yaml = config(dataDir, [fn('slow', ', max_concurrency: 2')]);
  const p = await start(yaml, 'kill.yaml');
  const lambda = client(p.endpoint);
  const ids = [];
  for (let i = 0; i < 24; i++) {
    const r = await lambda.send(new InvokeCommand({ FunctionName: 'slow', InvocationType: 'Event', Payload: JSON.stringify({ i, sleep: 0.15 }) }));
    assert.equal(r.StatusCode, 202);
    ids.push(r.$metadata.requestId);
  }
  await waitFor(() => records('slow').filter((x) => x.kind === 'done').length >= 4, { what: 'some events to finish' });
  p.proc.kill('SIGKILL');
  await waitFor(() => p.exitSignal === 'SIGKILL', { what: 'portico to die' });
  const doneBefore = new Set(records('slow').filter((x) => x.kind === 'done').map((x) => x.id));
  assert.ok(doneBefore.size < ids.length, 'the kill came before the backlog was done');

  const q = await start(yaml, 'kill.yaml');
  await q.waitForLog(/asynchronous invocation: \d+ unfinished events? from before the restart run again/);
  await waitFor(() => new Set(records('slow').filter((x) => x.kind === 'done').map((x) => x.id)).size === ids.length,
    { timeoutMs: 30000, what: 'every accepted event to finish' });
  await sleep(500);
  const starts = records('slow').filter((x) => x.kind === 'start');
  assert.deepEqual([...new Set(starts.map((x) => x.id))].sort(), [...ids].sort(), 'exactly the accepted events ran');
  // At least once: an event runs again only if it was running (or finishing) at the kill,
  // at most max_concurrency of them, each of which may also have been just done.
  const extra = starts.length - ids.length;
  assert.ok(extra <= 4, `${extra} events ran twice`);
  for (const id of doneBefore) {
    const n = starts.filter((x) => x.id === id).length;
    assert.ok(n <= 2, `event ${id} finished before the kill and ran ${n} times`);
  }
  await waitFor(async () => metric(await q.metrics(), 'portico_function_async_events_pending', 'function="slow"') === 0,
    { what: 'no event pending' });
});
