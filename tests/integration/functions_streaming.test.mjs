// Response streaming: a Node handler wrapped in awslambda.streamifyResponse (npm
// aws-lambda-ric) posts its response chunked with Lambda-Runtime-Function-Response-Mode:
// streaming; Portico passes each piece to the route's client as it arrives, reads the
// HttpResponseStream prelude (status, headers, cookies), cuts the response short when
// the function fails part way (the error trailers), and collects the stream whole for
// the Invoke API, as Lambda's Invoke does.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { LambdaClient, InvokeCommand } from '../node/lambda.mjs';
import { Portico, request, waitFor, tempDir } from './lib/harness.mjs';
import { writeFunction } from './lib/functions.mjs';

const root = tempDir('portico-stream-');
let p;
after(async () => { if (p) await p.stop(); });

writeFunction(root, 'streamer', {
  'index.mjs': `const pause = (ms) => new Promise((r) => setTimeout(r, ms));
export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const path = event.rawPath ?? '';
  if (path === '/prelude') {
    responseStream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 201, headers: { 'content-type': 'text/plain', 'x-kind': 'prelude' }, cookies: ['a=1; Path=/'] });
    responseStream.write('made ');
    responseStream.end('here');
    return;
  }
  responseStream.setContentType('text/plain');
  responseStream.write('first\\n');
  await pause(400);
  if (path === '/fail') throw new TypeError('broke part way');
  responseStream.write('second\\n');
  responseStream.end();
});`,
});

// The response as it arrives: each chunk with the time it came, and how it ended.
function timedGet(url) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const chunks = [];
    const req = http.get(url, (res) => {
      res.on('data', (d) => chunks.push({ at: Date.now() - started, text: d.toString() }));
      res.on('end', () => resolve({ res, chunks, complete: res.complete, at: Date.now() - started }));
      res.on('error', () => resolve({ res, chunks, complete: false, at: Date.now() - started }));
      res.on('aborted', () => {});
    });
    req.on('error', reject);
  });
}

test('response streaming', async (t) => {
  p = await Portico.start(`
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2}
services:
  listen: 127.0.0.1:0
  credentials: [{access_key_id: AKIDSTREAM, secret_access_key: stream-secret}]
functions:
  streamer: {runtime: nodejs20.x, handler: index.handler, code: ./streamer, timeout: 5s}
routes:
  - {match: {path: /stream}, function: streamer}
  - {match: {path: /prelude}, function: streamer}
  - {match: {path: /fail}, function: streamer}
`, { dir: root });

  await t.test('each piece reaches the client as the function writes it', async () => {
    await request(`${p.url}/stream`);  // a warm instance: the timing below is the stream's
    const r = await timedGet(`${p.url}/stream`);
    assert.equal(r.res.statusCode, 200);
    assert.equal(r.res.headers['content-type'], 'text/plain');
    assert.equal(r.res.headers['transfer-encoding'], 'chunked');
    assert.ok(r.complete);
    assert.equal(r.chunks.map((c) => c.text).join(''), 'first\nsecond\n');
    const first = r.chunks.find((c) => c.text.includes('first'));
    assert.ok(!first.text.includes('second'), 'the first piece came alone');
    assert.ok(r.at - first.at >= 300, `first piece at ${first.at} ms, end at ${r.at} ms`);
  });

  await t.test('an HttpResponseStream prelude sets the status, headers and cookies', async () => {
    const r = await request(`${p.url}/prelude`);
    assert.equal(r.status, 201);
    assert.equal(r.headers['x-kind'], 'prelude');
    assert.equal(r.headers['content-type'], 'text/plain');
    assert.deepEqual(r.headers['set-cookie'], ['a=1; Path=/']);
    assert.equal(r.body.toString(), 'made here');
  });

  await t.test('a failure part way cuts the response short (the error trailers)', async () => {
    const r = await timedGet(`${p.url}/fail`);
    assert.equal(r.res.statusCode, 200);
    assert.equal(r.complete, false, 'the client can tell the response is incomplete');
    assert.equal(r.chunks.map((c) => c.text).join(''), 'first\n');
    await p.waitForLog(/TypeError: broke part way/);
    assert.equal((await request(`${p.url}/stream`)).body.toString(), 'first\nsecond\n', 'still serving');
  });

  await t.test('the Invoke API gets the stream collected whole', async () => {
    const endpoint = p.stderr.match(/services listening on (http:\/\/\S+)/)[1];
    const lambda = new LambdaClient({ endpoint, region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDSTREAM', secretAccessKey: 'stream-secret' } });
    const r = await lambda.send(new InvokeCommand({ FunctionName: 'streamer', Payload: JSON.stringify({ rawPath: '/stream' }) }));
    assert.equal(r.StatusCode, 200);
    assert.equal(Buffer.from(r.Payload).toString(), 'first\nsecond\n');
    const f = await lambda.send(new InvokeCommand({ FunctionName: 'streamer', Payload: JSON.stringify({ rawPath: '/fail' }) }));
    assert.equal(f.FunctionError, 'Unhandled');
    const doc = JSON.parse(Buffer.from(f.Payload).toString());
    assert.equal(doc.errorType, 'TypeError');
    assert.equal(doc.errorMessage, 'broke part way');
  });
});
