// The functions' log store: every line an instance writes (Node's console.log through
// aws-lambda-ric, Python's print) and Lambda's START/END/REPORT lines, kept per
// function under data_dir with timestamps, the request id and the instance's log
// stream; read back with `portico logs NAME [--since] [--follow]` and GET /logs/NAME,
// also after a restart.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { Portico, PORTICO_BIN, json, request, waitFor, sleep, tempDir } from './lib/harness.mjs';
import { writeFunction } from './lib/functions.mjs';

const run = promisify(execFile);
const root = tempDir('portico-logs-');
const running = [];
after(async () => { for (const p of running) await p.stop(); });

writeFunction(root, 'node-talker', {
  'index.mjs': `export const handler = async (event, context) => {
  console.log('node says', event.word);
  console.error('node warns');
  return { statusCode: 200, body: context.awsRequestId };
};`,
});
writeFunction(root, 'py-talker', {
  'app.py': `def handler(event, context):
    print("python says", event.get("queryStringParameters", {}).get("word"), flush=True)
    return {"statusCode": 200, "body": context.aws_request_id}
`,
});

const yaml = `
server: {listen: [127.0.0.1:0], admin: 127.0.0.1:0, workers: 2, data_dir: ${path.join(root, 'data')}}
functions:
  talker: {runtime: nodejs20.x, handler: index.handler, code: ./node-talker}
  pytalker: {runtime: python3.11, handler: app.handler, code: ./py-talker}
routes:
  - {match: {path: /talk}, function: talker}
  - {match: {path: /py}, function: pytalker}
`;

const logs = async (p, ...args) => (await run(PORTICO_BIN, ['logs', ...args, '--admin', p.adminAddress])).stdout;

test('function logs', async (t) => {
  const p = await Portico.start(yaml, { dir: root });
  running.push(p);
  let nodeId, pyId;

  await t.test('a Node function: console output, START/END/REPORT, with the request id', async () => {
    const r = await request(`${p.url}/talk`);
    assert.equal(r.status, 200);
    nodeId = r.body.toString();
    const out = await waitFor(async () => {
      const text = await logs(p, 'talker');
      return /REPORT RequestId/.test(text) && text;
    }, { what: 'the REPORT line in portico logs' });
    const lines = out.trim().split('\n');
    const ts = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
    assert.match(lines[0], new RegExp(`^${ts} ${nodeId} START RequestId: ${nodeId} Version: \\$LATEST$`));
    // aws-lambda-ric formats console.log as TIMESTAMP \t REQUEST_ID \t LEVEL \t message.
    assert.ok(lines.some((l) => new RegExp(`^${ts} ${nodeId} ${ts}\\t${nodeId}\\tINFO\\tnode says undefined$`).test(l)), out);
    assert.ok(lines.some((l) => /\tERROR\tnode warns$/.test(l)), out);
    assert.match(lines.at(-2), new RegExp(`${nodeId} END RequestId: ${nodeId}$`));
    assert.match(lines.at(-1), /REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms$/);
  });

  await t.test('a Python function; GET /logs/NAME with the log stream; unknown names are 404', async () => {
    const r = await request(`${p.url}/py?word=hi`);
    pyId = r.body.toString();
    const events = await waitFor(async () => {
      const j = (await json(`${p.adminUrl}/logs/pytalker`)).json.events;
      return j.some((e) => /^REPORT/.test(e.message)) && j;
    }, { what: 'the python REPORT line' });
    const said = events.find((e) => e.message === 'python says hi');
    assert.ok(said, JSON.stringify(events));
    assert.equal(said.requestId, pyId);
    assert.match(said.stream, /^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/);
    assert.ok(events.every((e, i) => i === 0 || e.seq > events[i - 1].seq));
    // The other function's lines are not mixed in.
    assert.ok(!events.some((e) => /node says/.test(e.message)));
    assert.equal((await request(`${p.adminUrl}/logs/nosuch`)).status, 404);
    await assert.rejects(run(PORTICO_BIN, ['logs', 'nosuch', '--admin', p.adminAddress]), (e) => e.code === 1 && /no function nosuch/.test(e.stderr));
    const limited = (await json(`${p.adminUrl}/logs/pytalker?limit=1`)).json.events;
    assert.equal(limited.length, 1);
    assert.equal((await request(`${p.adminUrl}/logs/pytalker?after=x`)).status, 400);
  });

  await t.test('--follow prints new lines as they come; --since narrows', async () => {
    const follower = spawn(PORTICO_BIN, ['logs', 'talker', '--follow', '--since', '0', '--admin', p.adminAddress]);
    let out = '';
    follower.stdout.on('data', (d) => { out += d; });
    try {
      await waitFor(() => out.includes(nodeId), { what: 'the old lines' });
      const r = await request(`${p.url}/talk?w=2`);
      const id = r.body.toString();
      await waitFor(() => new RegExp(`REPORT RequestId: ${id}`).test(out), { what: 'the new invocation followed' });
    } finally {
      follower.kill();
    }
    await sleep(1100);
    const recent = await logs(p, 'talker', '--since', '1s');
    assert.equal(recent.trim(), '', 'nothing in the last second');
    await assert.rejects(run(PORTICO_BIN, ['logs', 'talker', '--since', 'soon', '--admin', p.adminAddress]), (e) => e.code === 2);
  });

  await t.test('the lines are still there after a restart', async () => {
    await p.stop();
    running.length = 0;
    const q = await Portico.start(yaml, { dir: root });
    running.push(q);
    const text = await logs(q, 'talker', '--since', '1h');
    assert.match(text, new RegExp(`START RequestId: ${nodeId}`));
    assert.match(await logs(q, 'pytalker', '--since', '0'), /python says hi/);
  });
});
