import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A server written from the base protocol's four lines alone (the issue's
 * description): no extensions, no limits advertised, nothing else. The
 * connector must work against it through its fallbacks.
 */
export interface BaseProtocolServer {
  readonly url: string;
  /** Requests seen per `METHOD route`, e.g. `POST exec`. */
  readonly seen: Map<string, number>;
  /** Destroy the connection of the next N requests without answering. */
  dropNext(count: number): void;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

function run(
  command: string,
  timeoutSeconds: number,
  env: NodeJS.ProcessEnv,
): Promise<{ exit_code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      '/bin/sh',
      ['-c', command],
      { timeout: timeoutSeconds * 1000, maxBuffer: 256 * 1024 * 1024, env },
      (error, stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        resolve({ exit_code: error ? (typeof code === 'number' ? code : 124) : 0, stdout, stderr });
      },
    );
  });
}

/** `tmpDir` is the TMPDIR its commands see (so a test can check what was left there). */
export async function startBaseProtocolServer(
  token: string,
  resourceId: string,
  tmpDir: string,
): Promise<BaseProtocolServer> {
  const env = { ...process.env, TMPDIR: tmpDir };
  const seen = new Map<string, number>();
  let drop = 0;
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '').split('?')[0] as string;
    const prefix = `/resources/${encodeURIComponent(resourceId)}`;
    const route =
      path === prefix
        ? 'resource'
        : path === `${prefix}/exec`
          ? 'exec'
          : path === `${prefix}/files`
            ? 'files'
            : path.startsWith(`${prefix}/files/`)
              ? 'file'
              : 'unknown';
    const key = `${req.method} ${route}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    if (drop > 0) {
      drop--;
      req.socket.destroy();
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`)
      return send(res, 401, { error: 'bad token' });
    try {
      if (key === 'GET resource')
        return send(res, 200, { id: resourceId, name: 'a base-only server' });
      if (key === 'POST exec') {
        const body = await readJson(req);
        return send(res, 200, await run(body.command as string, body.timeout as number, env));
      }
      if (key === 'POST files') {
        const body = await readJson(req);
        await writeFile(body.path as string, Buffer.from(body.content as string, 'base64'));
        return send(res, 200, {});
      }
      if (key === 'GET file') {
        const filePath = decodeURIComponent(path.slice(`${prefix}/files/`.length));
        return send(res, 200, { content: (await readFile(filePath)).toString('base64') });
      }
      return send(res, 404, { error: 'not found' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return send(res, code === 'ENOENT' ? 404 : 500, { error: String(error) });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    dropNext: (count) => {
      drop = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
