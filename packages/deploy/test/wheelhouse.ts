import { execFileSync } from 'node:child_process';

/**
 * Python that writes a pure-Python wheel by hand (a zip with the module, METADATA,
 * WHEEL and RECORD): no index, no `wheel` package, no build backend needed.
 */
const WRITE_WHEEL = `
import base64, hashlib, sys, zipfile
out, name, version = sys.argv[1:4]
source = sys.argv[4] if len(sys.argv) > 4 else f'VERSION = {version!r}\\n'
module = name.replace('-', '_')
info = f'{module}-{version}.dist-info'
files = {
    f'{module}.py': source,
    f'{info}/METADATA': f'Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n',
    f'{info}/WHEEL': 'Wheel-Version: 1.0\\nGenerator: infra-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
}
record = []
path = f'{out}/{module}-{version}-py3-none-any.whl'
with zipfile.ZipFile(path, 'w') as wheel:
    for file, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
        record.append(f'{file},sha256={digest},{len(data)}')
        wheel.writestr(file, data)
    record.append(f'{info}/RECORD,,')
    wheel.writestr(f'{info}/RECORD', '\\n'.join(record) + '\\n')
print(path)
`;

/**
 * Write `name-version` as a py3-none-any wheel of one module (`name` with `_`) into
 * `dir`; its source is `VERSION = 'version'` unless given. Returns the wheel's path.
 */
export function writeWheel(dir: string, name: string, version: string, source?: string): string {
  const args = [dir, name, version, ...(source === undefined ? [] : [source])];
  return execFileSync('python3', ['-c', WRITE_WHEEL, ...args], {
    encoding: 'utf8',
  }).trim();
}

/** Why the pip tests cannot run here (no python3 with venv on this machine), or undefined. */
export function pythonMissingReason(): string | undefined {
  try {
    execFileSync('python3', ['-c', 'import venv, ensurepip, zipfile'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'python3 with venv and ensurepip is not installed (apt-get install -y python3-venv)';
  }
}
