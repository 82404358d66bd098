// A throwaway CA and server certificates for TLS tests, made with the openssl CLI.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './harness.mjs';

const openssl = (args, cwd) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });

// {dir, ca, cert(names) -> {cert, key}}: names become subjectAltNames (DNS or IP).
export function makeCa() {
  const dir = tempDir('portico-ca-');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=Portico Test CA', '-keyout', 'ca.key', '-out', 'ca.pem'], dir);
  let n = 0;
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    cert(names) {
      const base = `server${n++}`;
      const san = names.map((x) => (/^[\d.]+$/.test(x) ? `IP:${x}` : `DNS:${x}`)).join(',');
      fs.writeFileSync(path.join(dir, `${base}.ext`), `subjectAltName=${san}\n`);
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${names[0]}`,
        '-keyout', `${base}.key`, '-out', `${base}.csr`], dir);
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
        '-extfile', `${base}.ext`, '-out', `${base}.pem`], dir);
      return { cert: path.join(dir, `${base}.pem`), key: path.join(dir, `${base}.key`) };
    },
  };
}
