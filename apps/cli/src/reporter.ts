import type { OutputLine } from '@infra/core';
import type { OutputOptions } from './args.js';
import {
  colourEnabled,
  describeOutcome,
  formatHostMessage,
  formatOutputLine,
  formatSummary,
  type HostOutcome,
  type JsonError,
  type JsonEvent,
  paint,
  type RunSummary,
  resultEvent,
} from './output-format.js';
import type { SecretRedactor } from './secret-redactor.js';

export interface TextSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface CliStreams {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly env: NodeJS.ProcessEnv;
}

/** `notice`: a result shown at normal verbosity, without the `warning:` label. */
export type LogLevel = 'debug' | 'info' | 'notice' | 'warn';

/** A view drawn at the bottom of the terminal that lines must be printed above. */
export interface LiveView {
  above(write: () => void): void;
}

/**
 * Everything a run prints goes through here: command output with host prefixes,
 * results, the summary, logs. Text for people, or NDJSON events with `--json`.
 * Every string is passed through the redactor before it is written.
 */
export class Reporter {
  readonly #streams: CliStreams;
  readonly #options: OutputOptions;
  readonly #redactor: SecretRedactor;
  readonly #stdoutColour: boolean;
  readonly #stderrColour: boolean;

  constructor(streams: CliStreams, options: OutputOptions, redactor: SecretRedactor) {
    this.#streams = streams;
    this.#options = options;
    this.#redactor = redactor;
    this.#stdoutColour = !options.json && colourEnabled(streams.stdout, streams.env);
    this.#stderrColour = colourEnabled(streams.stderr, streams.env);
  }

  get json(): boolean {
    return this.#options.json;
  }

  #live: LiveView | undefined;

  /** Print every line above a live view from now on (undefined: stop). */
  setLiveView(view: LiveView | undefined): void {
    this.#live = view;
  }

  #write(sink: TextSink, text: string): void {
    const line = `${this.#redactor.redact(text)}\n`;
    if (this.#live) this.#live.above(() => sink.write(line));
    else sink.write(line);
  }

  #out(text: string): void {
    this.#write(this.#streams.stdout, text);
  }

  #err(text: string): void {
    this.#write(this.#streams.stderr, text);
  }

  event(event: JsonEvent): void {
    this.#out(JSON.stringify(event));
  }

  /** A plain line for stdout (listings); ignored in JSON mode, where callers send events. */
  line(text: string): void {
    this.#out(text);
  }

  connected(host: string, connector: string): void {
    if (this.json) this.event({ type: 'connect', host, connector, success: true });
    else if (this.#options.verbosity >= 1 || this.#options.debug) {
      this.#err(formatHostMessage(host, 'connected', this.#stderrColour, 'dim'));
    }
  }

  connectFailed(host: string, connector: string, error: JsonError): void {
    if (this.json) this.event({ type: 'connect', host, connector, success: false, error });
  }

  output(host: string, line: OutputLine): void {
    if (this.json) {
      this.event({ type: 'output', host, stream: line.stream, line: line.line });
    } else if (line.stream === 'stderr') {
      this.#err(formatOutputLine(host, 'stderr', line.line, this.#stderrColour));
    } else {
      this.#out(formatOutputLine(host, 'stdout', line.line, this.#stdoutColour));
    }
  }

  result(outcome: HostOutcome): void {
    if (this.json) {
      this.event(resultEvent(outcome));
      return;
    }
    if (outcome.status === 'succeeded') {
      if (this.#options.verbosity >= 1 || this.#options.debug) {
        this.#err(
          formatHostMessage(outcome.host, describeOutcome(outcome), this.#stderrColour, 'green'),
        );
      }
      return;
    }
    const tone =
      outcome.status === 'interrupted' || outcome.status === 'not-started' ? 'yellow' : 'red';
    this.#err(formatHostMessage(outcome.host, describeOutcome(outcome), this.#stderrColour, tone));
  }

  summary(summary: RunSummary, exitCode: number): void {
    if (this.json) this.event({ type: 'summary', exitCode, ...summary });
    else this.#err(formatSummary(summary, this.#stderrColour));
  }

  /** A connector's log message, or the CLI's own debug line; `host` undefined for the run. */
  log(level: LogLevel, host: string | undefined, message: string): void {
    const shown =
      level === 'warn' ||
      level === 'notice' ||
      (level === 'info' && (this.#options.verbosity >= 1 || this.#options.debug)) ||
      (level === 'debug' && (this.#options.verbosity >= 2 || this.#options.debug));
    if (!shown) return;
    const text = host === undefined ? message : `[${host}] ${message}`;
    if (level === 'notice') {
      this.#err(text);
      return;
    }
    const label = level === 'warn' ? paint('warning:', 'yellow', this.#stderrColour) : `${level}:`;
    this.#err(`${label} ${text}`);
  }

  /** An error that ends the run: its message (already masked), and its stack with --debug. */
  fatal(error: JsonError & { stack?: string | undefined }): void {
    if (this.json) this.event({ type: 'error', code: error.code, message: error.message });
    this.#err(`${paint('error:', 'red', this.#stderrColour)} ${error.message}`);
    if (this.#options.debug && error.stack) this.#err(error.stack);
  }
}
