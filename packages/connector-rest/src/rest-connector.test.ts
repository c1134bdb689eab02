import { buildConnectorData, collectNamesData, noSudoPassword } from '@infra/core';
import { describe, expect, it } from 'vitest';
import { RestConnector } from './rest-connector.js';
import { httpStatusError } from './rest-errors.js';

describe('RestConnector statics', () => {
  it('makes @rest:ID hosts with the resource ID in their data', async () => {
    expect(await collectNamesData(RestConnector, 'web1')).toEqual([
      ['@rest:web1', { api_resource_id: 'web1' }, ['@rest']],
    ]);
    await expect(collectNamesData(RestConnector, undefined)).rejects.toThrow(
      /write @rest:RESOURCE_ID/,
    );
  });

  it('declares its data keys, the key as a secret, api_timeout defaulting to 60', () => {
    const data = buildConnectorData('rest', RestConnector.dataMeta, {
      api_url: 'http://h:1',
      api_key: 'k',
    });
    expect(data.api_timeout).toBe(60);
    expect(String(data.api_key)).toBe('***');
    expect(data.api_insecure_tls).toBe(false);
    expect(() => buildConnectorData('rest', RestConnector.dataMeta, {})).toThrow(
      /needs host data api_url/,
    );
  });

  it('refuses a bad api_url or an unknown extension name before any request', async () => {
    const make = (hostData: Record<string, unknown>) =>
      new RestConnector({
        name: '@rest:x',
        data: buildConnectorData('rest', RestConnector.dataMeta, hostData),
        hostData,
        log: { debug() {}, info() {}, warn() {} },
        sudoPassword: noSudoPassword,
      });
    await expect(make({ api_url: 'ftp://h' }).connect()).rejects.toThrow(
      /must start with http:\/\/ or https:\/\//,
    );
    await expect(make({ api_url: 'http://u:p@h:1' }).connect()).rejects.toThrow(
      /must not hold credentials/,
    );
    await expect(
      make({ api_url: 'http://h:1', api_disable_extensions: ['nope'] }).connect(),
    ).rejects.toThrow(/api_disable_extensions names "nope"/);
    await expect(make({ api_url: 'http://h:1' }).runShellCommand('true')).rejects.toThrow(
      /call connect\(\) before running commands/,
    );
  });
});

describe('httpStatusError', () => {
  it('says what each status means and where', () => {
    const at = 'POST http://h:1/resources/x/exec';
    expect(httpStatusError(at, 401, undefined, undefined).message).toBe(
      `${at}: the API key was refused (401 Unauthorized). Check this host's api_key: it must be the agent's token (INFRA_AGENT_TOKEN or --token-file).`,
    );
    expect(httpStatusError(at, 404, 'gone', { notFound: 'file /x' }).message).toContain(
      'file /x not found (404 Not Found). The server says: gone',
    );
    expect(httpStatusError(at, 413, undefined, undefined).code).toBe('REST_PAYLOAD_TOO_LARGE');
    expect(httpStatusError(at, 502, undefined, undefined).message).toContain(
      'the server failed (502 Bad Gateway)',
    );
    expect(httpStatusError(at, 418, undefined, undefined).code).toBe('REST_HTTP_ERROR');
  });
});
