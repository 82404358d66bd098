// Resource exhaustion: running out of file descriptors must not crash or wedge Portico.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Portico, SANITIZED, request, startUpstream, sleep, waitFor } from './lib/harness.mjs';

// Sends `text` on a socket and resolves with what comes back within ms.
function ask(sock, text, ms = 1500) {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d) => { buf += d; };
    sock.on('data', onData);
    sock.write(text);
    setTimeout(() => { sock.off('data', onData); resolve(buf); }, ms);
  });
}

// Not under the sanitizers: UBSan's vptr check probes memory through a pipe(), so with no
// descriptors left it reports every virtual call as invalid and aborts. This test runs
// on the release build.
test('out of file descriptors: connections wait, errors are clear, service resumes',
  { skip: SANITIZED && 'UBSan needs file descriptors of its own (vptr check uses pipe())' }, async () => {
  const up = await startUpstream((req, res) => res.end('up'));
  const p = await Portico.start(`
server: {listen: 127.0.0.1:0, admin: 127.0.0.1:0, workers: 1}
upstreams: {u: {endpoints: [${up.address}]}}
routes:
  - match: {path: /hello}
    respond: {body: hi}
  - match: {path: /up}
    upstream: u
`, { maxFiles: 64 });
  const held = [];
  try {
    // More connections than the descriptor limit allows.
    for (let i = 0; i < 100; i++) {
      const s = net.connect(p.port, '127.0.0.1');
      s.on('error', () => {});
      held.push(s);
    }
    await waitFor(() => /accept: Too many open files/.test(p.stderr), { what: 'the EMFILE warning' });
    // The connections that did get in are served...
    const answers = await Promise.all(held.map((s) => ask(s, 'GET /hello HTTP/1.1\r\nHost: a\r\n\r\n')));
    const served = held.filter((s, i) => answers[i].startsWith('HTTP/1.1 200'));
    assert.ok(served.length > 0, 'some connections were accepted and answered');
    assert.ok(served.length < held.length, 'not all could be accepted');
    // ...and proxying, which needs one more descriptor for the upstream, fails clearly.
    const proxied = await ask(served[0], 'GET /up HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.match(proxied, /^HTTP\/1.1 502 [\s\S]*Too many open files/);
  } finally {
    for (const s of held) s.destroy();
  }
  // With the descriptors free again, everything works.
  await sleep(300);
  const r = await waitFor(async () => {
    try { return await request(`${p.url}/up`, { timeoutMs: 2000 }); } catch { return null; }
  }, { what: 'service to resume' });
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'up');
  const warnings = p.stderr.match(/accept: Too many open files/g).length;
  assert.ok(warnings <= 10, `the warning is rate-limited (${warnings} lines)`);
  assert.equal(await p.stop(), 0);
  await up.stop();
});
