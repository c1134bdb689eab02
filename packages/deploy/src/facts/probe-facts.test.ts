import { describe, expect, it } from 'vitest';
import { parseNpmList, parseNpmOutdated } from './npm-facts.js';
import {
  normalizePipName,
  parsePipFreeze,
  parseWouldInstall,
  pipInstallPlanFact,
} from './pip-facts.js';
import { parseListeningPorts, parseOsRelease } from './probe-facts.js';

describe('server.linuxDistribution', () => {
  it('reads Debian os-release, quotes and all', () => {
    const debian = parseOsRelease(
      'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n',
    );
    expect(debian).toMatchObject({
      name: 'Debian GNU/Linux',
      id: 'debian',
      idLike: [],
      version: '12',
      major: 12,
      minor: null,
      codename: 'bookworm',
    });
    expect(debian?.releaseMeta.PRETTY_NAME).toBe('Debian GNU/Linux 12 (bookworm)');
  });

  it('reads a two-part version, ID_LIKE and single quotes; nothing is null', () => {
    expect(
      parseOsRelease(
        'NAME=\'Rocky Linux\'\nID=rocky\nID_LIKE="rhel centos fedora"\nVERSION_ID=9.3\n',
      ),
    ).toMatchObject({
      id: 'rocky',
      idLike: ['rhel', 'centos', 'fedora'],
      major: 9,
      minor: 3,
      codename: null,
    });
    expect(parseOsRelease('')).toBeNull();
  });
});

describe('server.listeningPorts', () => {
  it('reads /proc/net/tcp hex ports and netstat lines, each port once', () => {
    expect(
      parseListeningPorts([
        'hex 0016',
        'hex 1F90',
        'hex 0016',
        'tcp        0      0 0.0.0.0:5432            0.0.0.0:*               LISTEN',
        'tcp4       0      0  *.8443                 *.*                    LISTEN',
      ]),
    ).toEqual([22, 5432, 8080, 8443]);
  });
});

describe('pip and npm facts', () => {
  it('pip freeze by normalized name; Would install words', () => {
    expect(normalizePipName('Flask_Login.ext')).toBe('flask-login-ext');
    expect(
      parsePipFreeze([
        'Flask-Login==0.6.3',
        'pip==23.0.1',
        '-e git+https://x#egg=y',
        'z @ file:///w',
      ]),
    ).toEqual({ 'flask-login': ['0.6.3'], pip: ['23.0.1'] });
    expect(parseWouldInstall(['Collecting a', 'Would install a-1.0 b-2.0'])).toEqual([
      'a-1.0',
      'b-2.0',
    ]);
    expect(parseWouldInstall(['Requirement already satisfied: a in ./lib'])).toEqual([]);
  });

  it('pip.installPlan: what would be installed, or the error of a failed dry run', () => {
    const read = (lines: string[]) =>
      pipInstallPlanFact.parse({ stdoutLines: lines, stdout: lines.join('\n') } as never, {
        pip: 'pip',
        args: [],
      });
    expect(read(['Would install demo-1.1', '--infra-pip-exit=0'])).toEqual({
      install: ['demo-1.1'],
      error: null,
    });
    expect(read(['Requirement already satisfied: demo', '--infra-pip-exit=0'])).toEqual({
      install: [],
      error: null,
    });
    expect(
      read([
        'WARNING: Location is ignored',
        'ERROR: Could not find a version that satisfies the requirement demo==9',
        '--infra-pip-exit=1',
      ]),
    ).toEqual({
      install: [],
      error: 'ERROR: Could not find a version that satisfies the requirement demo==9',
    });
  });

  it('npm ls and npm outdated JSON; empty output is nothing', () => {
    expect(
      parseNpmList(
        '{"dependencies":{"is-number":{"version":"6.0.0"},"@scope/x":{"version":"1.0.0"}}}',
      ),
    ).toEqual({ 'is-number': ['6.0.0'], '@scope/x': ['1.0.0'] });
    expect(parseNpmList('')).toEqual({});
    expect(
      parseNpmOutdated('{"is-number":{"current":"6.0.0","wanted":"6.0.0","latest":"7.0.0"}}'),
    ).toEqual({ 'is-number': { current: '6.0.0', latest: '7.0.0' } });
  });
});
