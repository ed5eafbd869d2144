import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from './testing.ts';

describe('init-model --config checks the config before building anything', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finemed-cli-init-'));
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, 'Sepsis is a serious response to infection.\n\nGout causes joint pain.\n');
  const small = {
    model_type: 'qwen2',
    vocab_size: 320,
    hidden_size: 64,
    intermediate_size: 96,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
  };
  const initFrom = async (name: string, config: Record<string, unknown>) => {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(config));
    const out = join(dir, name);
    const result = await run(['init-model', '--config', path, '--out', out, '--corpus', corpus]);
    return { ...result, path, out };
  };

  it.each([
    ['num_hidden_layers', 1e9, '1000000000 is not a whole number between 1 and 1024'],
    ['hidden_size', 4194304, '4194304 is not a whole number between 1 and 65536'],
    ['intermediate_size', 12.5, '12.5 is not a whole number between 1 and 262144'],
  ])('rejects %s = %s naming the file and field, writing nothing', async (field, value, reason) => {
    const r = await initFrom(`bad-${field}`, { ...small, [field]: value });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${r.path}: ${field}: ${reason}`);
    expect(existsSync(r.out)).toBe(false);
  });

  it('reports a model too large to allocate as an error naming the config file', async () => {
    // Qwen2-7B's sizes pass every bound, but 7.6B float32 weights do not fit one typed array.
    const r = await initFrom('qwen7', {
      ...small,
      vocab_size: 152064,
      hidden_size: 3584,
      intermediate_size: 18944,
      num_hidden_layers: 28,
      num_attention_heads: 28,
      num_key_value_heads: 4,
    });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${r.path}: cannot allocate the weights of 7.62B parameters`);
    expect(r.err).not.toMatch(/^Invalid typed array length/m);
  });

  it('still builds a valid small config', async () => {
    const r = await initFrom('ok', small);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(join(r.out, 'model.safetensors'))).toBe(true);
  });
});
