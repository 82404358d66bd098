// The services listener and Lambda's Invoke API, driven by the clients people use:
// the AWS SDK for JavaScript v3 (@aws-sdk/client-lambda), Debian's boto3 and AWS CLI.
// SigV4 is verified (a wrong secret or an unknown key is refused), and a function
// calls Portico with the credentials and endpoint its instance was given.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LambdaClient, InvokeCommand, ListFunctionsCommand, GetFunctionCommand } from '../node/lambda.mjs';
import { Portico, PORTICO_BIN, waitFor, tempDir } from './lib/harness.mjs';
import { writeFunction } from './lib/functions.mjs';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const sdkPath = path.resolve(here, '../node/node_modules/@aws-sdk/client-lambda/dist-cjs/index.js');
const root = tempDir('portico-invoke-');

writeFunction(root, 'echo', {
  'index.mjs': `export const handler = async (event, context) => {
  console.log('echo got', JSON.stringify(event));
  if (event.fail) throw new RangeError('asked to fail');
  return { event, clientContext: context.clientContext ?? null, requestId: context.awsRequestId };
};`,
});
// Calls `echo` through Portico's Invoke API with its instance's own key and endpoint.
writeFunction(root, 'caller', {
  'index.mjs': `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { LambdaClient, InvokeCommand } = require(${JSON.stringify(sdkPath)});
const client = new LambdaClient({});
export const handler = async () => {
  const r = await client.send(new InvokeCommand({ FunctionName: 'echo', Payload: JSON.stringify({ from: 'caller' }) }));
  return { status: r.StatusCode, payload: JSON.parse(Buffer.from(r.Payload).toString()),
           endpoint: process.env.AWS_ENDPOINT_URL, key: process.env.AWS_ACCESS_KEY_ID };
};`,
});

const yaml = `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
services:
  listen: 127.0.0.1:0
  region: eu-west-1
  account_id: "123456789012"
  credentials:
    - {access_key_id: AKIDTESTKEY, secret_access_key: test-secret-1}
functions:
  echo: {runtime: nodejs20.x, handler: index.handler, code: ./echo, memory: 256MiB, timeout: 5s}
  caller: {runtime: nodejs, handler: index.handler, code: ./caller, timeout: 10s}
routes:
  - {match: {path: /none}, respond: {body: none}}
`;

let p, endpoint;
after(async () => { if (p) await p.stop(); });

const client = (secret = 'test-secret-1', key = 'AKIDTESTKEY') => new LambdaClient({
  endpoint, region: 'eu-west-1', credentials: { accessKeyId: key, secretAccessKey: secret },
});
const decode = (bytes) => JSON.parse(Buffer.from(bytes).toString());
const awsEnv = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDTESTKEY', AWS_SECRET_ACCESS_KEY: 'test-secret-1',
  AWS_DEFAULT_REGION: 'eu-west-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };

test('the Invoke API', async (t) => {
  p = await Portico.start(yaml, { dir: root });
  const m = await waitFor(() => p.stderr.match(/services listening on (http:\/\/\S+)/), { what: 'services listener' });
  endpoint = m[1];

  await t.test('SDK v3: RequestResponse, Tail logs, client context, DryRun', async () => {
    const c = client();
    let r = await c.send(new InvokeCommand({ FunctionName: 'echo', Payload: JSON.stringify({ a: 1 }), LogType: 'Tail',
      ClientContext: Buffer.from(JSON.stringify({ custom: { app: 'test' } })).toString('base64') }));
    assert.equal(r.StatusCode, 200);
    assert.equal(r.ExecutedVersion, '$LATEST');
    assert.equal(r.FunctionError, undefined);
    const out = decode(r.Payload);
    assert.deepEqual(out.event, { a: 1 });
    assert.deepEqual(out.clientContext.custom, { app: 'test' });
    const log = Buffer.from(r.LogResult, 'base64').toString();
    assert.match(log, new RegExp(`START RequestId: ${out.requestId} Version: \\$LATEST`));
    assert.match(log, /echo got \{"a":1\}/);
    assert.match(log, new RegExp(`END RequestId: ${out.requestId}\\nREPORT RequestId: ${out.requestId}\\tDuration:`));
    r = await c.send(new InvokeCommand({ FunctionName: 'arn:aws:lambda:eu-west-1:123456789012:function:echo', Payload: '{}' }));
    assert.equal(r.StatusCode, 200);
    r = await c.send(new InvokeCommand({ FunctionName: 'echo', InvocationType: 'DryRun' }));
    assert.equal(r.StatusCode, 204);
  });

  await t.test('SDK v3: function errors, unknown functions, bad payloads', async () => {
    const c = client();
    const r = await c.send(new InvokeCommand({ FunctionName: 'echo', Payload: JSON.stringify({ fail: true }) }));
    assert.equal(r.StatusCode, 200);
    assert.equal(r.FunctionError, 'Unhandled');
    const err = decode(r.Payload);
    assert.equal(err.errorType, 'RangeError');
    assert.equal(err.errorMessage, 'asked to fail');
    await assert.rejects(c.send(new InvokeCommand({ FunctionName: 'nope', Payload: '{}' })),
      (e) => e.name === 'ResourceNotFoundException' && /Function not found: arn:aws:lambda:eu-west-1:123456789012:function:nope/.test(e.message));
    await assert.rejects(c.send(new InvokeCommand({ FunctionName: 'echo', Payload: 'not json' })),
      (e) => e.name === 'InvalidRequestContentException' && e.$metadata.httpStatusCode === 400);
    await assert.rejects(c.send(new InvokeCommand({ FunctionName: 'echo', Payload: 'x'.repeat(6 * 1024 * 1024 + 10) })),
      (e) => e.name === 'RequestTooLargeException' && e.$metadata.httpStatusCode === 413);
  });

  await t.test('SDK v3: ListFunctions and GetFunction', async () => {
    const c = client();
    const list = await c.send(new ListFunctionsCommand({}));
    assert.deepEqual(list.Functions.map((f) => f.FunctionName).sort(), ['caller', 'echo']);
    const g = await c.send(new GetFunctionCommand({ FunctionName: 'echo' }));
    assert.equal(g.Configuration.FunctionArn, 'arn:aws:lambda:eu-west-1:123456789012:function:echo');
    assert.equal(g.Configuration.Runtime, 'nodejs20.x');
    assert.equal(g.Configuration.Handler, 'index.handler');
    assert.equal(g.Configuration.MemorySize, 256);
    assert.equal(g.Configuration.Timeout, 5);
    assert.equal(g.Configuration.State, 'Active');
  });

  await t.test('SigV4: a wrong secret, an unknown key and an unsigned request are refused', async () => {
    await assert.rejects(client('wrong-secret').send(new InvokeCommand({ FunctionName: 'echo', Payload: '{}' })),
      (e) => e.name === 'InvalidSignatureException' && e.$metadata.httpStatusCode === 403);
    await assert.rejects(client('x', 'AKIDUNKNOWN').send(new InvokeCommand({ FunctionName: 'echo', Payload: '{}' })),
      (e) => e.name === 'UnrecognizedClientException' && e.$metadata.httpStatusCode === 403);
    const r = await fetch(`${endpoint}/2015-03-31/functions/echo/invocations`, { method: 'POST', body: '{}' });
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
  });

  await t.test('a function calls the Invoke API with its own key and endpoint', async () => {
    const r = await client().send(new InvokeCommand({ FunctionName: 'caller', Payload: '{}' }));
    assert.equal(r.FunctionError, undefined, Buffer.from(r.Payload).toString());
    const out = decode(r.Payload);
    assert.equal(out.status, 200);
    assert.deepEqual(out.payload.event, { from: 'caller' });
    assert.equal(out.endpoint, endpoint);
    assert.match(out.key, /^ASIA[A-Z2-7]{16}$/);
  });

  await t.test('boto3 (Debian python3-boto3)', async () => {
    const script = `
import boto3, json, sys
c = boto3.client("lambda", endpoint_url=sys.argv[1], region_name="eu-west-1",
                 aws_access_key_id="AKIDTESTKEY", aws_secret_access_key="test-secret-1")
r = c.invoke(FunctionName="echo", Payload=json.dumps({"from": "boto3"}), LogType="Tail")
out = json.loads(r["Payload"].read())
names = sorted(f["FunctionName"] for f in c.list_functions()["Functions"])
dry = c.invoke(FunctionName="echo", InvocationType="DryRun")["StatusCode"]
try:
    c.invoke(FunctionName="missing")
    missing = None
except c.exceptions.ResourceNotFoundException as e:
    missing = e.response["Error"]["Code"]
print(json.dumps({"status": r["StatusCode"], "event": out["event"], "names": names, "dry": dry, "missing": missing,
                  "tail": "LogResult" in r}))
`;
    const { stdout } = await run('/usr/bin/python3', ['-c', script, endpoint], { env: awsEnv });
    const out = JSON.parse(stdout);
    assert.equal(out.status, 200);
    assert.deepEqual(out.event, { from: 'boto3' });
    assert.deepEqual(out.names, ['caller', 'echo']);
    assert.equal(out.dry, 204);
    assert.equal(out.missing, 'ResourceNotFoundException');
    assert.equal(out.tail, true);
  });

  await t.test('portico invoke: the result on stdout, the log on stderr, exit 1 on a function error', async () => {
    const { stdout, stderr } = await run(PORTICO_BIN, ['invoke', 'echo', '--payload', '{"via":"cli"}', '--admin', p.adminAddress]);
    assert.deepEqual(JSON.parse(stdout).event, { via: 'cli' });
    assert.match(stderr, /START RequestId: [0-9a-f-]{36} Version: \$LATEST/);
    assert.match(stderr, /echo got \{"via":"cli"\}/);
    assert.match(stderr, /REPORT RequestId: .*Billed Duration: \d+ ms/);
    const fs = await import('node:fs');
    const file = path.join(root, 'payload.json');
    fs.writeFileSync(file, '{"fail": true}');
    await assert.rejects(run(PORTICO_BIN, ['invoke', 'echo', '--payload', `@${file}`, '--admin', p.adminAddress]),
      (e) => e.code === 1 && /RangeError/.test(e.stdout));
    await assert.rejects(run(PORTICO_BIN, ['invoke', 'nope', '--admin', p.adminAddress]),
      (e) => e.code === 1 && /Function not found/.test(e.stdout));
  });

  await t.test('the AWS CLI (Debian awscli): invoke, list-functions, get-function', async () => {
    const outFile = path.join(root, 'cli-out.json');
    const { stdout } = await run('/usr/bin/aws', ['lambda', 'invoke', '--endpoint-url', endpoint, '--function-name', 'echo',
      '--cli-binary-format', 'raw-in-base64-out', '--payload', '{"from":"cli"}', outFile], { env: awsEnv });
    assert.equal(JSON.parse(stdout).StatusCode, 200);
    const fs = await import('node:fs');
    assert.deepEqual(JSON.parse(fs.readFileSync(outFile, 'utf8')).event, { from: 'cli' });
    const list = JSON.parse((await run('/usr/bin/aws', ['lambda', 'list-functions', '--endpoint-url', endpoint], { env: awsEnv })).stdout);
    assert.equal(list.Functions.length, 2);
    const got = JSON.parse((await run('/usr/bin/aws', ['lambda', 'get-function', '--endpoint-url', endpoint, '--function-name', 'caller'], { env: awsEnv })).stdout);
    assert.equal(got.Configuration.FunctionName, 'caller');
    await assert.rejects(run('/usr/bin/aws', ['lambda', 'invoke', '--endpoint-url', endpoint, '--function-name', 'echo', outFile],
      { env: { ...awsEnv, AWS_SECRET_ACCESS_KEY: 'bad' } }), /InvalidSignatureException/);
  });
});
