import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelConfigToJson } from '../model/config.ts';
import { presetConfig } from '../model/init.ts';
import { runCli } from './testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-cli-export-'));
const model = join(dir, 'model');
const data = join(dir, 'sft.jsonl');
const exportTrl = (out: string, ...args: string[]) =>
  runCli(['export', 'trl', '--model', model, '--data', data, '--out', join(dir, out), ...args]);

beforeAll(() => {
  mkdirSync(model);
  writeFileSync(
    join(model, 'config.json'),
    JSON.stringify(modelConfigToJson(presetConfig('demo'))),
  );
  const row = (i: number) => ({
    messages: [
      { role: 'user', content: `q${i}` },
      { role: 'assistant', content: `a${i}` },
    ],
  });
  writeFileSync(data, [row(0), row(1)].map((r) => JSON.stringify(r)).join('\n') + '\n');
});

describe('finemed export trl', () => {
  it('passes the train flags through the preset the model matches into the bundle', async () => {
    const { code, json, err } = await exportTrl(
      'a',
      ...['--stage', 'sft', '--lr', '1e-4', '--warmup', '3', '--max-steps', '7', '--seed', '5'],
      ...['--lora-rank', '2', '--lora-targets', 'q_proj,v_proj', '--packing', '--json'],
    );
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(json.hyperparameters).toMatchObject({ preset: 'demo', lr: 1e-4, warmup: { steps: 3 } });
    expect(json.trainer_config).toMatchObject({
      learning_rate: 1e-4,
      warmup_steps: 3,
      max_steps: 7,
      seed: 5,
      packing: true,
      // the demo preset's, untouched by the flags above
      num_train_epochs: 2,
      per_device_train_batch_size: 8,
      max_length: 512,
    });
    expect(json.lora_config).toMatchObject({
      r: 2,
      lora_alpha: 4,
      target_modules: ['q_proj', 'v_proj'],
    });
    expect(existsSync(join(dir, 'a', 'launch.sh'))).toBe(true);
  });

  it('refuses an unknown stage, a flag of the other stage and a missing data file', async () => {
    const stage = await exportTrl('b', '--stage', 'ppo');
    expect(stage.code).toBe(2);
    expect(stage.err).toContain("--stage must be one of sft|dpo, got 'ppo'");
    const beta = await exportTrl('b', '--stage', 'sft', '--beta', '0.2');
    expect(beta.code).toBe(2);
    expect(beta.err).toContain('--beta is not a flag of the sft stage');
    const missing = join(dir, 'none.jsonl');
    const noData = await runCli([
      'export',
      'trl',
      '--stage',
      'dpo',
      '--model',
      model,
      '--data',
      missing,
      '--out',
      join(dir, 'b'),
    ]);
    expect(noData.code).toBe(1);
    expect(noData.err).toContain(`${missing}: data: no such data file`);
    expect(existsSync(join(dir, 'b'))).toBe(false);
  });
});
