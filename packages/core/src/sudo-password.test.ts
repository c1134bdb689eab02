import { describe, expect, it } from 'vitest';
import { SudoPasswordError } from './errors.js';
import { SudoPasswordPrompt } from './sudo-password.js';

describe('SudoPasswordPrompt', () => {
  it('takes INFRA_SUDO_PASSWORD first and never asks', async () => {
    let asked = 0;
    const prompt = new SudoPasswordPrompt({
      env: { INFRA_SUDO_PASSWORD: 'from-env' },
      ask: async () => `${++asked}`,
    });
    expect((await prompt.get()).getRawValue()).toBe('from-env');
    expect(asked).toBe(0);
  });

  it('asks once per run, however many hosts ask at the same time', async () => {
    let asked = 0;
    const prompt = new SudoPasswordPrompt({ env: {}, ask: async () => `typed-${++asked}` });
    const answers = await Promise.all([prompt.get(), prompt.get(), prompt.get()]);
    expect(answers.map((a) => a.getRawValue())).toEqual(['typed-1', 'typed-1', 'typed-1']);
    expect(String(answers[0])).toBe('***');
  });

  it('without a prompt (no terminal) and without the variable, says how to give the password', async () => {
    const prompt = new SudoPasswordPrompt({ env: {} });
    await expect(prompt.get()).rejects.toThrow(SudoPasswordError);
    await expect(prompt.get()).rejects.toThrow(/set INFRA_SUDO_PASSWORD/);
  });
});
