import { describe, expect, it } from 'vitest';
import { closestName, editDistance } from './closest-name.js';

describe('closestName', () => {
  it('counts edits, a swap of neighbours as one', () => {
    expect(editDistance('ssh_prot', 'ssh_port')).toBe(1);
    expect(editDistance('lcoal', 'local')).toBe(1);
    expect(editDistance('sssh', 'ssh')).toBe(1);
    expect(editDistance('abc', 'abc')).toBe(0);
  });

  it('finds the nearest candidate within reach, and nothing when all are far', () => {
    expect(closestName('ssh_prot', ['ssh_user', 'ssh_port', 'ssh_key'])).toBe('ssh_port');
    expect(closestName('sssh', ['docker', 'local', 'ssh'])).toBe('ssh');
    expect(closestName('ssh_zzzzzzz', ['ssh_user', 'ssh_port'])).toBeUndefined();
    expect(closestName('local', ['local'])).toBeUndefined();
  });
});
