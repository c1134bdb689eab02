import { QuoteError } from './errors.js';

/**
 * The pieces a shell command is made of. A plain string is put in the command as
 * written (code from the program, never user input); a `QuoteString` is quoted; a
 * `MaskString` is a secret shown as `***` everywhere but in what is sent.
 */
export type CommandPart = string | number | Buffer | QuoteString | MaskString | StringCommand;

/** How a command is rendered: `raw` for sending, `masked` for every human or log. */
type RenderMode = 'raw' | 'masked';

export const MASK = '***';

const SAFE_UNQUOTED = /^[A-Za-z0-9_@%+=:,./-]+$/;
const SINGLE_QUOTE = 0x27;

/** POSIX single-quote quoting, the rule of Python's `shlex.quote`. NUL is refused. */
export function quote(value: string): string {
  if (value.includes('\0')) {
    throw new QuoteError(
      'Cannot put a NUL byte in a shell command: no shell argument can hold it. Remove it from the value.',
    );
  }
  if (value === '') return "''";
  if (SAFE_UNQUOTED.test(value)) return value;
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/** `quote` for raw bytes (file names that are not UTF-8). */
export function quoteBytes(value: Buffer): Buffer {
  if (value.includes(0)) {
    throw new QuoteError(
      'Cannot put a NUL byte in a shell command: no shell argument can hold it. Remove it from the value.',
    );
  }
  if (value.length === 0) return Buffer.from("''");
  const parts: Buffer[] = [Buffer.from("'")];
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    if (value[i] === SINGLE_QUOTE) {
      parts.push(value.subarray(start, i), Buffer.from(`'"'"'`));
      start = i + 1;
    }
  }
  parts.push(value.subarray(start), Buffer.from("'"));
  return Buffer.concat(parts);
}

/**
 * Brands: `MaskString.is(x)`, `QuoteString.is(x)` and `StringCommand.is(x)` check a
 * registry symbol rather than the class, so values built by one copy of `@infra/core`
 * are recognised by another (a bundled CLI beside the connectors it imports at run time).
 */
const MASK_BRAND: unique symbol = Symbol.for('infra.MaskString') as never;
const QUOTE_BRAND: unique symbol = Symbol.for('infra.QuoteString') as never;
const COMMAND_BRAND: unique symbol = Symbol.for('infra.StringCommand') as never;

function hasBrand(value: unknown, brand: symbol): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true
  );
}

function renderPart(part: CommandPart, mode: RenderMode): string {
  if (typeof part === 'string') return part;
  if (typeof part === 'number') return String(part);
  if (Buffer.isBuffer(part)) return part.toString('utf8');
  return part.render(mode);
}

function renderPartBuffer(part: CommandPart): Buffer {
  if (Buffer.isBuffer(part)) return part;
  if (QuoteString.is(part) || StringCommand.is(part)) return part.toBuffer();
  return Buffer.from(renderPart(part, 'raw'), 'utf8');
}

/** A secret (password, token, passphrase): `***` in every string but the one sent. */
export class MaskString {
  readonly [MASK_BRAND] = true as const;
  readonly #value: string;

  /** True for a `MaskString` of any copy of `@infra/core` (use it, not `instanceof`). */
  static is(value: unknown): value is MaskString {
    return hasBrand(value, MASK_BRAND);
  }

  constructor(value: string) {
    this.#value = value;
  }

  render(mode: RenderMode): string {
    return mode === 'raw' ? this.#value : MASK;
  }

  /** The secret itself. Only a connector about to send the command calls this. */
  getRawValue(): string {
    return this.#value;
  }

  toString(): string {
    return MASK;
  }

  toJSON(): string {
    return MASK;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `MaskString(${MASK})`;
  }
}

/** A value quoted for a POSIX shell when the command is rendered. */
export class QuoteString {
  readonly [QUOTE_BRAND] = true as const;
  readonly value: string | Buffer | MaskString | StringCommand;

  /** True for a `QuoteString` of any copy of `@infra/core` (use it, not `instanceof`). */
  static is(value: unknown): value is QuoteString {
    return hasBrand(value, QUOTE_BRAND);
  }

  constructor(value: string | Buffer | MaskString | StringCommand) {
    this.value = value;
    // Fail at build time, not when sending: a NUL can never be quoted.
    if (typeof value === 'string') quote(value);
    else if (Buffer.isBuffer(value)) quoteBytes(value);
  }

  render(mode: RenderMode): string {
    if (Buffer.isBuffer(this.value)) return quote(this.value.toString('utf8'));
    if (typeof this.value === 'string') return quote(this.value);
    return quote(this.value.render(mode));
  }

  toBuffer(): Buffer {
    if (Buffer.isBuffer(this.value)) return quoteBytes(this.value);
    if (StringCommand.is(this.value)) return quoteBytes(this.value.toBuffer());
    return Buffer.from(this.render('raw'), 'utf8');
  }

  toString(): string {
    return this.render('masked');
  }

  toJSON(): string {
    return this.render('masked');
  }
}

/**
 * A shell command made of parts, joined by a separator (a space by default).
 * `String(command)` and `JSON.stringify(command)` are masked; `getRawValue()` is
 * what a connector sends.
 */
export class StringCommand {
  readonly [COMMAND_BRAND] = true as const;
  readonly parts: readonly CommandPart[];
  readonly separator: string;

  /** True for a `StringCommand` of any copy of `@infra/core` (use it, not `instanceof`). */
  static is(value: unknown): value is StringCommand {
    return hasBrand(value, COMMAND_BRAND);
  }

  constructor(parts: readonly CommandPart[], separator = ' ') {
    this.parts = parts;
    this.separator = separator;
  }

  /** `new StringCommand([...parts])` with the default separator. */
  static of(...parts: CommandPart[]): StringCommand {
    return new StringCommand(parts);
  }

  render(mode: RenderMode): string {
    return this.parts
      .map((part) => renderPart(part, mode))
      .filter((text) => text !== '')
      .join(this.separator);
  }

  /** The command as sent, secrets included. Never log this. */
  getRawValue(): string {
    return this.render('raw');
  }

  /** The raw command as bytes, keeping `Buffer` parts byte for byte. */
  toBuffer(): Buffer {
    const out: Buffer[] = [];
    const separator = Buffer.from(this.separator);
    for (const part of this.parts) {
      const bytes = renderPartBuffer(part);
      if (bytes.length === 0) continue;
      if (out.length > 0) out.push(separator);
      out.push(bytes);
    }
    return Buffer.concat(out);
  }

  /** True when any part, however deep, is a secret. */
  hasSecrets(): boolean {
    return this.parts.some(
      (part) =>
        MaskString.is(part) ||
        (StringCommand.is(part) && part.hasSecrets()) ||
        (QuoteString.is(part) &&
          (MaskString.is(part.value) || (StringCommand.is(part.value) && part.value.hasSecrets()))),
    );
  }

  toString(): string {
    return this.render('masked');
  }

  toJSON(): string {
    return this.render('masked');
  }
}

/** A user's command: a string of shell (used as written) or a built command. */
export type CommandInput = string | StringCommand;

export function toStringCommand(command: CommandInput): StringCommand {
  return typeof command === 'string' ? new StringCommand([command]) : command;
}

/** Anything `sh` accepts between `${...}`. Arrays become space-separated quoted words. */
export type ShValue = string | number | Buffer | MaskString | QuoteString | StringCommand;

function shPart(value: ShValue): CommandPart {
  if (StringCommand.is(value) || QuoteString.is(value)) return value;
  if (typeof value === 'number') return value;
  return new QuoteString(value);
}

/**
 * Tagged template that quotes every interpolation:
 * `` sh`grep -r ${pattern} ${dir}` `` -> `grep -r 'a b' /srv`. A `StringCommand` is
 * inserted as is, a `MaskString` is quoted and masked, an array gives one quoted
 * word per element.
 */
export function sh(
  strings: TemplateStringsArray,
  ...values: (ShValue | readonly ShValue[])[]
): StringCommand {
  const parts: CommandPart[] = [];
  strings.forEach((literal, index) => {
    if (literal !== '') parts.push(literal);
    if (index >= values.length) return;
    const value = values[index] as ShValue | readonly ShValue[];
    if (Array.isArray(value)) {
      parts.push(new StringCommand((value as readonly ShValue[]).map(shPart)));
    } else {
      parts.push(shPart(value as ShValue));
    }
  });
  return new StringCommand(parts, '');
}
