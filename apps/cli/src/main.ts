import { readFileSync } from 'node:fs';
import { type CliCommand, parseArgs } from './args.js';
import { EXIT, errorMessage, exitCodeForError } from './exit-codes.js';
import { CLI_PACKAGE_DIR } from './package-dir.js';
import type { CliStreams } from './reporter.js';

function processStreams(): CliStreams {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

function cliVersion(): string {
  const manifest = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
  ) as {
    version: string;
  };
  return manifest.version;
}

async function runCommand(command: CliCommand, streams: CliStreams): Promise<number> {
  switch (command.kind) {
    case 'help': {
      const { HELP_TEXT } = await import('./help-text.js');
      streams.stdout.write(`${HELP_TEXT[command.topic]}\n`);
      return EXIT.ok;
    }
    case 'version':
      streams.stdout.write(`${cliVersion()}\n`);
      return EXIT.ok;
    case 'connectors': {
      const { runConnectors } = await import('./connectors-command.js');
      return runConnectors(command.options, {
        streams,
        projectDir: process.cwd(),
        cliDir: CLI_PACKAGE_DIR,
      });
    }
    case 'check': {
      const { runCheck } = await import('./check-command.js');
      return runCheck(command.files, command.options, {
        streams,
        projectDir: process.cwd(),
        cliDir: CLI_PACKAGE_DIR,
      });
    }
    case 'exec': {
      const { runExec } = await import('./exec-command.js');
      return runExec(command, { streams, projectDir: process.cwd(), cliDir: CLI_PACKAGE_DIR });
    }
    case 'deploy':
    case 'operation':
    case 'fact':
    case 'debug-inventory': {
      const { runDeployCommand } = await import('./deploy-command.js');
      return runDeployCommand(command, {
        streams,
        projectDir: process.cwd(),
        cliDir: CLI_PACKAGE_DIR,
      });
    }
  }
}

/**
 * The `infra` command line: parse `argv` (without node and the script), run the
 * command, return the exit code. Commands are imported only when asked for.
 */
export async function main(
  argv: readonly string[],
  streams: CliStreams = processStreams(),
): Promise<number> {
  let command: CliCommand;
  try {
    command = parseArgs(argv);
  } catch (error) {
    streams.stderr.write(`error: ${errorMessage(error)}\n`);
    return exitCodeForError(error);
  }
  try {
    return await runCommand(command, streams);
  } catch (error) {
    const debug = 'options' in command && command.options.debug;
    streams.stderr.write(`error: ${errorMessage(error)}\n`);
    if (debug && error instanceof Error && error.stack) streams.stderr.write(`${error.stack}\n`);
    return exitCodeForError(error);
  }
}
