import { request } from 'node:http';
import type { AgentFixture } from '@infra/connector-testkit';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => Record<string, unknown>;
}

/** One plain HTTP request to the agent (node:http, so a body can be sent however a test needs). */
export function call(
  agent: AgentFixture,
  method: string,
  path: string,
  options: { token?: string | null; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolveAnswer, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? agent.token : options.token;
    if (token !== null && token !== undefined) headers.Authorization = `Bearer ${token}`;
    const req = request(`${agent.url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolveAnswer({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          json: () => JSON.parse(body),
        });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
