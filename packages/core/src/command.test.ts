import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MaskString, QuoteString, quote, quoteBytes, StringCommand, sh } from './command.js';
import { QuoteError } from './errors.js';

/** A deterministic generator, so a failing string can be found again. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 0x100000000;
  };
}

const TRICKY = [
  '',
  ' ',
  "'",
  '"',
  '\\',
  '$HOME',
  '$(id)',
  '`id`',
  '-rf',
  '--',
  '=',
  'a=b',
  '\n',
  '\t',
  ';',
  '&&',
  '|',
  '>',
  '<',
  '*',
  '?',
  '[a]',
  '~',
  '#',
  '!',
  '{a,b}',
  "it's",
  "''",
  '\r\n',
  'é',
  '日本語',
  '🚀',
  '\u00a0',
  '\u2028',
  '%s',
  '\\n',
  'a\'b"c$d`e\\f',
];

function generateStrings(count: number): string[] {
  const next = random(42);
  const pieces = [...TRICKY, ...Array.from({ length: 255 }, (_, i) => String.fromCharCode(i + 1))];
  const out = [
    ...TRICKY.filter((s) => s !== ''),
    ...Array.from({ length: 255 }, (_, i) => String.fromCharCode(i + 1)),
  ];
  while (out.length < count) {
    const length = 1 + Math.floor(next() * 8);
    let s = '';
    for (let i = 0; i < length; i++) {
      const roll = next();
      if (roll < 0.6) s += pieces[Math.floor(next() * pieces.length)];
      else if (roll < 0.8) s += String.fromCodePoint(0x80 + Math.floor(next() * 0x2000));
      else s += String.fromCodePoint(0x1f300 + Math.floor(next() * 0x200));
    }
    out.push(s);
  }
  return out;
}

function generateByteStrings(count: number): Buffer[] {
  const next = random(7);
  const out = Array.from({ length: 255 }, (_, i) => Buffer.from([i + 1]));
  out.push(Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1)));
  while (out.length < count) {
    const length = 1 + Math.floor(next() * 12);
    out.push(Buffer.from(Array.from({ length }, () => 1 + Math.floor(next() * 255))));
  }
  return out;
}

function shellAvailable(shell: string[]): boolean {
  return spawnSync(shell[0]!, [...shell.slice(1), '-c', 'true']).status === 0;
}

const SHELLS: [string, string[]][] = [
  ['dash', ['dash']],
  ['bash', ['bash']],
  ['busybox sh', ['busybox', 'sh']],
];

/**
 * One script prints every quoted value followed by a NUL; the shell's output is
 * split on NUL and compared byte for byte. One process per shell keeps it fast.
 */
function roundTrip(shell: string[], quoted: Buffer[]): Buffer[] {
  const script = Buffer.concat(
    quoted.flatMap((q) => [Buffer.from("printf '%s\\0' "), q, Buffer.from('\n')]),
  );
  const result = spawnSync(shell[0]!, [...shell.slice(1), '-s'], {
    input: script,
    env: { PATH: process.env.PATH, LC_ALL: 'C' },
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(result.stderr.toString()).toBe('');
  expect(result.status).toBe(0);
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < result.stdout.length; i++) {
    if (result.stdout[i] === 0) {
      parts.push(result.stdout.subarray(start, i));
      start = i + 1;
    }
  }
  return parts;
}

describe('quote', () => {
  it('follows shlex.quote: safe words unquoted, everything else single-quoted', () => {
    expect(quote('')).toBe("''");
    expect(quote('abc-1.2_/x:y,z=w@%+')).toBe('abc-1.2_/x:y,z=w@%+');
    expect(quote('a b')).toBe("'a b'");
    expect(quote("it's")).toBe(`'it'"'"'s'`);
    expect(quote('$(id)')).toBe("'$(id)'");
  });

  it('refuses NUL with a QuoteError that says why', () => {
    expect(() => quote('a\0b')).toThrow(QuoteError);
    expect(() => new QuoteString('a\0b')).toThrow(/NUL byte/);
    expect(() => quoteBytes(Buffer.from([0x61, 0]))).toThrow(QuoteError);
  });

  for (const [label, shell] of SHELLS) {
    const available = shellAvailable(shell);
    it.skipIf(!available && !process.env.CI)(
      `round-trips 2000+ generated strings through ${label} -c, byte for byte`,
      () => {
        const strings = generateStrings(2000);
        expect(strings.length).toBeGreaterThanOrEqual(2000);
        // Through `-c`: the way connectors send commands.
        const quoted = strings.map((s) => `printf '%s\\0' ${quote(s)}`).join('\n');
        const result = spawnSync(shell[0]!, [...shell.slice(1), '-c', quoted], {
          env: { PATH: process.env.PATH, LC_ALL: 'C.UTF-8' },
          maxBuffer: 64 * 1024 * 1024,
        });
        expect(result.status).toBe(0);
        const back = result.stdout.toString('utf8').split('\0').slice(0, -1);
        expect(back).toHaveLength(strings.length);
        back.forEach((value, i) => {
          if (value !== strings[i])
            expect({ index: i, value }).toEqual({ index: i, value: strings[i] });
        });
      },
    );

    it.skipIf(!available && !process.env.CI)(
      `round-trips every byte 1-255 and 2000 byte strings through ${label}`,
      () => {
        const values = generateByteStrings(2000);
        const back = roundTrip(shell, values.map(quoteBytes));
        expect(back).toHaveLength(values.length);
        values.forEach((value, i) => {
          if (!back[i]!.equals(value))
            expect({ i, got: [...back[i]!] }).toEqual({ i, got: [...value] });
        });
      },
    );
  }
});

describe('MaskString', () => {
  const secret = new MaskString('hunter2 $(x)');

  it('shows *** in String(), JSON and inspect, raw only when asked', () => {
    const command = StringCommand.of('echo', new QuoteString(secret), secret);
    expect(String(command)).toBe("echo '***' ***");
    expect(`${secret}`).toBe('***');
    expect(JSON.stringify({ command, secret })).not.toContain('hunter2');
    expect(command.getRawValue()).toBe("echo 'hunter2 $(x)' hunter2 $(x)");
    expect(command.hasSecrets()).toBe(true);
    expect(StringCommand.of('echo', 'hi').hasSecrets()).toBe(false);
  });

  it('is masked inside nested commands and quotes', () => {
    const nested = StringCommand.of('sh', '-c', new QuoteString(StringCommand.of('echo', secret)));
    expect(String(nested)).toBe("sh -c 'echo ***'");
    expect(nested.getRawValue()).toBe(`sh -c 'echo hunter2 $(x)'`);
    expect(nested.hasSecrets()).toBe(true);
  });
});

describe('sh tagged template', () => {
  it('quotes every interpolation and keeps the literal parts', () => {
    const file = "my file's name";
    const command = sh`grep -r ${'a b'} ${file} | wc -l`;
    expect(command.getRawValue()).toBe(`grep -r 'a b' 'my file'"'"'s name' | wc -l`);
  });

  it('inserts commands as they are, arrays as quoted words, masks secrets', () => {
    const inner = sh`echo ${'x y'}`;
    const command = sh`${inner} && ls ${['a b', 'c']} ${new MaskString('pw')} ${3}`;
    expect(command.getRawValue()).toBe(`echo 'x y' && ls 'a b' c pw 3`);
    expect(String(command)).toBe(`echo 'x y' && ls 'a b' c '***' 3`);
  });

  it('runs in a real shell as written', () => {
    const value = `a'b"c $HOME \`id\` \\ \n end`;
    const result = spawnSync('sh', ['-c', sh`printf %s ${value}`.getRawValue()]);
    expect(result.stdout.toString()).toBe(value);
  });
});
