import { describe, expect, it } from 'vitest';
import { formatHelp } from '../../src/cli/args.ts';

describe('formatHelp', () => {
  it('starts every description in one column, however long a flag is', () => {
    const text = formatHelp('prism x', {
      seed: { type: 'integer', default: 0, help: 'the seed' },
      setting: { type: 'string', choices: ['concepts', 'fidelity'], help: 'which codes' },
      'a-very-long-boolean-flag-name-here': { type: 'boolean', help: 'a switch' },
    });
    const lines = text.split('\n').filter((l) => l.startsWith('  --'));
    expect(lines).toHaveLength(3);
    const starts = lines.map((l, i) => l.indexOf(['the seed', 'which codes', 'a switch'][i]));
    expect(new Set(starts).size).toBe(1);
    expect(lines[0]).toContain('the seed (default 0)');
    expect(lines[2]).toContain('--a-very-long-boolean-flag-name-here  a switch');
  });
});
