import type { RunEvent } from '@infra/deploy';
import { paint } from './output-format.js';

/** A terminal stream: written to, with its size when it has one. */
export interface TerminalSink {
  write(text: string): unknown;
  readonly columns?: number;
  readonly rows?: number;
}

type HostState = 'connecting' | 'waiting' | 'running' | 'done' | 'failed';

interface HostProgress {
  state: HostState;
  /** Operations planned for the host (known after the plan pass). */
  planned: number;
  /** Operations finished in the current pass. */
  finished: number;
  /** What runs now: the name (or label) of the operation that sent the last command. */
  current: string | undefined;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const REDRAW_MS = 100;
const PHASE_TITLE = {
  connect: 'Connecting',
  plan: 'Planning',
  execute: 'Applying changes',
  disconnect: 'Disconnecting',
} as const;

/** Running hosts first, then failed, then the rest, in inventory order within each. */
const ORDER: Record<HostState, number> = {
  running: 0,
  failed: 1,
  connecting: 2,
  waiting: 3,
  done: 4,
};

/**
 * The live view of a deploy on a terminal: a few lines at the bottom of the
 * screen (the phase, counts, and one line per busy host) redrawn as events
 * arrive, with the ordinary `[host]` lines printed above it. Every other write
 * to the terminal goes through `above()`, which erases the view first.
 */
export class LiveProgressView {
  readonly #sink: TerminalSink;
  readonly #colour: boolean;
  readonly #hosts = new Map<string, HostProgress>();
  readonly #started = Date.now();
  #phase: keyof typeof PHASE_TITLE = 'connect';
  #counts = { changed: 0, noChange: 0, skipped: 0, error: 0 };
  #drawn = 0;
  #frame = 0;
  #timer: NodeJS.Timeout | undefined;
  #paused = false;

  constructor(sink: TerminalSink, hostNames: readonly string[], colour: boolean) {
    this.#sink = sink;
    this.#colour = colour;
    for (const name of hostNames) {
      this.#hosts.set(name, { state: 'connecting', planned: 0, finished: 0, current: undefined });
    }
    this.#timer = setInterval(() => this.#redraw(), REDRAW_MS);
    this.#timer.unref();
  }

  /** Take in what the run reports. */
  update(event: RunEvent): void {
    switch (event.type) {
      case 'phase':
        this.#phase = event.phase;
        if (event.phase === 'plan' || event.phase === 'execute') {
          this.#counts = { changed: 0, noChange: 0, skipped: 0, error: 0 };
          for (const host of this.#hosts.values()) {
            if (host.state === 'failed') continue;
            host.state = 'waiting';
            host.finished = 0;
            host.current = undefined;
          }
        }
        return;
      case 'connect': {
        const host = this.#hosts.get(event.host);
        if (host) host.state = event.success ? 'waiting' : 'failed';
        return;
      }
      case 'command': {
        const host = this.#hosts.get(event.host);
        if (host && host.state !== 'failed') {
          host.state = 'running';
          host.current = event.name;
        }
        return;
      }
      case 'operation': {
        const { result } = event;
        const host = this.#hosts.get(result.host);
        if (!host) return;
        host.finished++;
        host.current = undefined;
        if (event.phase === 'plan') host.planned = host.finished;
        if (host.state !== 'failed') host.state = 'running';
        if (result.status === 'changed') this.#counts.changed++;
        else if (result.status === 'error') this.#counts.error++;
        else if (result.status === 'skipped') this.#counts.skipped++;
        else this.#counts.noChange++;
        return;
      }
      case 'host-failed': {
        const host = this.#hosts.get(event.host);
        if (host) host.state = 'failed';
        return;
      }
      default:
        return;
    }
  }

  /** Print lines above the view: erase it, run `write`, and let the timer draw it again. */
  above(write: () => void): void {
    this.#erase();
    write();
  }

  /** Stop drawing (while the user is asked a question); `resume()` draws again. */
  pause(): void {
    this.#erase();
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  /** Erase the view for good: the results table follows. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#erase();
  }

  /** The lines of the view as it stands, for the terminal (and for tests). */
  render(): string[] {
    const width = Math.max(20, (this.#sink.columns || 80) - 1);
    const height = Math.max(3, Math.min(12, (this.#sink.rows || 24) - 4));
    const hosts = [...this.#hosts.entries()];
    const count = (state: HostState) => hosts.filter(([, host]) => host.state === state).length;
    const pass = this.#phase === 'plan' || this.#phase === 'execute';
    const seconds = Math.floor((Date.now() - this.#started) / 1000);
    const spinner = SPINNER[this.#frame % SPINNER.length] as string;
    const head = [
      `${spinner} ${PHASE_TITLE[this.#phase]}`,
      `${hosts.length} hosts: ${count('running')} running, ${count('failed')} failed`,
      ...(pass
        ? [
            `${this.#counts.changed} ${this.#phase === 'plan' ? 'to change' : 'changed'}, ${this.#counts.noChange} no change, ${this.#counts.skipped > 0 ? `${this.#counts.skipped} skipped, ` : ''}${this.#counts.error} errors`,
          ]
        : []),
      `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`,
    ].join(' · ');
    const lines = [paint(clip(head, width), 'bold', this.#colour)];
    const busy = hosts
      .filter(([, host]) => host.state === 'running' || host.state === 'failed')
      .sort(([, a], [, b]) => ORDER[a.state] - ORDER[b.state]);
    const nameWidth = Math.min(24, Math.max(0, ...busy.map(([name]) => name.length)));
    for (const [name, host] of busy.slice(0, height - 1)) {
      const progress =
        this.#phase === 'execute' && host.planned > 0
          ? `${host.finished}/${host.planned}`
          : `${host.finished}`;
      const doing =
        host.state === 'failed'
          ? 'failed'
          : host.current
            ? `running ${host.current}`
            : 'between operations';
      const text = clip(`  ${name.padEnd(nameWidth)}  ${progress.padStart(5)}  ${doing}`, width);
      lines.push(host.state === 'failed' ? paint(text, 'red', this.#colour) : text);
    }
    if (busy.length > height - 1) {
      lines.push(paint(`  ... and ${busy.length - (height - 1)} more`, 'dim', this.#colour));
    }
    return lines;
  }

  #redraw(): void {
    if (this.#paused) return;
    this.#frame++;
    const lines = this.render();
    this.#erase();
    this.#sink.write(`${lines.join('\n')}\n`);
    this.#drawn = lines.length;
  }

  #erase(): void {
    if (this.#drawn === 0) return;
    // Up to the view's first line, then clear to the end of the screen.
    this.#sink.write(`\x1b[${this.#drawn}F\x1b[J`);
    this.#drawn = 0;
  }
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
