import { describe, expect, it } from 'vitest';
import { applyBlock, applyReplace } from './edit-operations.js';

describe('files.replace', () => {
  it('replaces every match, or count of them, with $1 and $& expanded', () => {
    const text = 'port=80\nport=81\nname=x\n';
    expect(
      applyReplace(text, { path: 'f', text: '^port=(\\d+)$', replace: 'port=1$1', flags: 'm' }),
    ).toBe('port=180\nport=181\nname=x\n');
    expect(applyReplace(text, { path: 'f', text: 'port', replace: '[$&]', count: 1 })).toBe(
      '[port]=80\nport=81\nname=x\n',
    );
    expect(applyReplace(text, { path: 'f', text: 'nothing', replace: 'x' })).toBe(text);
  });
});

describe('files.block', () => {
  const content = ['a = 1', 'b = 2'];
  it('appends a new block, then leaves it as it is', () => {
    const once = applyBlock('x\n', { path: 'f', content });
    expect(once).toBe('x\n# BEGIN INFRA BLOCK\na = 1\nb = 2\n# END INFRA BLOCK\n');
    expect(applyBlock(once, { path: 'f', content })).toBe(once);
  });
  it('places a new block before or after the first line matching `line`', () => {
    expect(applyBlock('x\ny\n', { path: 'f', content: 'c', line: '^x', before: true })).toBe(
      '# BEGIN INFRA BLOCK\nc\n# END INFRA BLOCK\nx\ny\n',
    );
    expect(applyBlock('x\ny\n', { path: 'f', content: 'c', line: '^x' })).toBe(
      'x\n# BEGIN INFRA BLOCK\nc\n# END INFRA BLOCK\ny\n',
    );
  });
  it('replaces a block that differs, removes it with present false', () => {
    const text = 'x\n## start\nold\n## stop\ny\n';
    const args = { path: 'f', marker: '## {mark}', begin: 'start', end: 'stop' };
    expect(applyBlock(text, { ...args, content: 'new' })).toBe('x\n## start\nnew\n## stop\ny\n');
    expect(applyBlock(text, { ...args, present: false })).toBe('x\ny\n');
  });
});
