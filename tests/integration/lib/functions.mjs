// Function code for the functions tests, written into a temporary directory: AWS's
// bash + curl custom runtime, Node handlers (run by npm aws-lambda-ric) and Python
// handlers (run by Portico's Python runtime client).
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempDir } from './harness.mjs';

// Writes files ({name: content}) into dir/name; `bootstrap` is made executable.
export function writeFunction(root, name, files) {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, file), content, { mode: file === 'bootstrap' ? 0o755 : 0o644 });
  }
  return dir;
}

// The custom runtime of AWS's tutorial ("Building a custom runtime"), with bash: the
// tutorial's #!/bin/sh is dash on Debian, which rejects `set -o pipefail`. The
// handler is a bash function in handler.sh that prints its answer.
export const BASH_BOOTSTRAP = `#!/bin/bash
set -euo pipefail
source "$LAMBDA_TASK_ROOT/$(echo $_HANDLER | cut -d. -f1).sh"
while true; do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  RESPONSE=$($(echo "$_HANDLER" | cut -d. -f2) "$EVENT_DATA")
  curl -sS "http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" -d "$RESPONSE" > /dev/null
  rm -f "$HEADERS"
done
`;

// Direct children of a process (the function instances Portico started).
export function childPids(pid) {
  const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

export { tempDir };
