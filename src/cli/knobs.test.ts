import { describe, expect, it } from 'vitest';
import type { KernelClient } from '../kernel/client.ts';
import { dpoJob, sftJob, tttJob } from '../kernel/jobs/train.ts';
import { stagePaths } from '../kernel/jobs/train-worker.ts';
import { presetConfig } from '../model/init.ts';
import { Workbench } from '../notebook/wb.ts';
import { stageOptions as jobStageOptions } from '../train/jobs.ts';
import { knobsFromFlags, type Knobs } from '../train/knobs/knob.ts';
import { DPO_KNOBS } from '../train/knobs/dpo.ts';
import { SFT_KNOBS, SFT_ONLY_KNOBS } from '../train/knobs/sft.ts';
import { TTT_KNOBS, tttOptions } from '../train/knobs/ttt.ts';
import { DPO_PRESETS, SFT_PRESETS } from '../train/presets.ts';
import { resolveHyper } from '../train/stage.ts';
import type { CommandContext } from './command.ts';
import { rowOptions } from './row-flags.ts';
import { trainDpoCommand, dpoKnobsFromFlags } from './train-dpo.ts';
import { stageOptions as cliStageOptions } from './train-flags.ts';
import { trainSftCommand } from './train-sft.ts';
import { tttCommand } from './ttt.ts';

/** A non-default value of a knob: as CLI flags, and as a job or `wb` parameter. */
type Sample = { flags: Record<string, string | boolean>; value: unknown };
const text = (flag: string, raw: string, value: unknown): Sample => ({
  flags: { [flag]: raw },
  value,
});
const on = (flag: string, value: unknown = true): Sample => ({ flags: { [flag]: true }, value });

const LORA = {
  flags: {
    'lora-rank': '4',
    'lora-alpha': '8',
    'lora-dropout': '0.1',
    'lora-targets': 'q_proj, v_proj',
  },
  value: { r: 4, alpha: 8, dropout: 0.1, targetModules: ['q_proj', 'v_proj'] },
};
const LOOP: Record<string, Sample> = {
  evalSplit: text('eval-split', '0.2', 0.2),
  preset: text('preset', 'demo', 'demo'),
  seed: text('seed', '5', 5),
  lr: text('lr', '2e-3', 2e-3),
  epochs: text('epochs', '1.5', 1.5),
  maxSteps: text('max-steps', '7', 7),
  batchSize: text('batch-size', '3', 3),
  gradAccum: text('grad-accum', '2', 2),
  maxLength: text('max-length', '64', 64),
  truncation: text('truncation', 'error', 'error'),
  schedule: text('schedule', 'linear', 'linear'),
  warmup: text('warmup', '3', 3),
  weightDecay: text('weight-decay', '0.05', 0.05),
  maxGradNorm: text('max-grad-norm', '0.5', 0.5),
  optimizer: text('optimizer', 'sgd', 'sgd'),
  gradientCheckpointing: on('gradient-checkpointing'),
  lora: LORA,
  evalEvery: text('eval-every', '2', 2),
  saveEvery: text('save-every', '3', 3),
  skipBadRows: on('skip-bad-rows'),
  maxRowBytes: text('max-row-bytes', '1KiB', 1024),
};
const SFT: Record<string, Sample> = {
  ...LOOP,
  packing: on('packing'),
  trainOnPrompt: on('train-on-prompt'),
};
const DPO: Record<string, Sample> = {
  ...LOOP,
  beta: text('beta', '0.3', 0.3),
  loss: text('loss', 'ipo', 'ipo'),
  labelSmoothing: text('label-smoothing', '0.1', 0.1),
  chat: on('raw-strings', false),
};
const TTT: Record<string, Sample> = {
  format: text('format', 'medmcqa', 'medmcqa'),
  preset: text('preset', 'demo', 'demo'),
  k: text('k', '2', 2),
  steps: text('steps', '0', 0),
  lr: text('lr', '1e-3', 1e-3),
  optimizer: text('optimizer', 'sgd', 'sgd'),
  lora: LORA,
  retriever: text('retriever', 'dense', 'dense'),
  field: text('field', 'prompt', 'prompt'),
  mode: text('mode', 'generate', 'generate'),
  answer: text('answer', 'reasoning', 'reasoning'),
  maxTokens: text('max-tokens', '99', 99),
  choiceStyle: text('choice-style', 'text', 'text'),
  chat: on('chat'),
  answerPrefix: text('answer-prefix', 'The answer is', 'The answer is'),
  limit: text('limit', '4', 4),
  shots: text('shots', '2', 2),
  seed: text('seed', '5', 5),
  skipBadRows: on('skip-bad-rows'),
  maxRowBytes: text('max-row-bytes', '1KiB', 1024),
};

const MODEL = { kind: 'checkpoint', key: 'a'.repeat(64) };
const jobCtx = { artifactDir: () => '/model', resolvePath: (p: string) => p } as never;

/** The flags as the argument parser hands them over: defaults filled in, as `finemed` does. */
function cli(command: { flags: CommandContext['flags'] | object }, flags: Sample['flags']) {
  const specs = command.flags as Record<string, { default?: string | boolean }>;
  const defaults = Object.entries(specs).filter(([, s]) => s.default !== undefined);
  const all = { ...Object.fromEntries(defaults.map(([n, s]) => [n, s.default])), ...flags };
  for (const flag of Object.keys(flags)) expect(specs, `--${flag}`).toHaveProperty(flag);
  const signal = new AbortController().signal;
  return { flags: { out: '/out', ...all }, args: [], signal } as unknown as CommandContext;
}

/** What a wb call sends the kernel: the job's name and its parameters, unchanged. */
async function viaWb(method: 'sft' | 'dpo' | 'ttt', params: object) {
  let sent: { job: string; params: unknown } | undefined;
  const client = {
    plan: (job: string, p: unknown) => {
      sent = { job, params: p };
      return new Promise(() => undefined);
    },
  } as unknown as KernelClient;
  new Workbench({ client, maxCostSeconds: 60, isApproved: () => true })[method](params as never);
  await new Promise((r) => setTimeout(r, 0));
  return sent!;
}

// What a run receives besides the bookkeeping that differs by design (folders, callbacks).
const BOOKKEEPING = ['outDir', 'checkpointDir', 'resume', 'keepCheckpoints', 'session', 'signal'];
function knobsOf(options: object): Record<string, unknown> {
  const entries = Object.entries(JSON.parse(JSON.stringify(options)) as object);
  return Object.fromEntries(entries.filter(([k]) => !BOOKKEEPING.includes(k)));
}

const stub = { config: presetConfig('tiny') };

function expectCovers(samples: Record<string, Sample>, knobs: Knobs, cliOnly: string[] = []) {
  const declared = Object.keys(knobs).filter((k) => knobs[k].flag !== null || knobs[k].fields);
  const rows = ['skipBadRows', 'maxRowBytes', ...cliOnly];
  expect(Object.keys(samples).sort()).toEqual([...new Set([...declared, ...rows])].sort());
}

describe.each([
  ['sft', sftJob, trainSftCommand, SFT, SFT_KNOBS, SFT_PRESETS],
  ['dpo', dpoJob, trainDpoCommand, DPO, DPO_KNOBS, DPO_PRESETS],
] as const)('%s knobs round-trip', (method, job, command, samples, knobs, presets) => {
  it('a sample covers every knob', () =>
    expectCovers(samples, knobs, method === 'dpo' ? ['chat'] : []));

  it.each(Object.keys(samples))(
    '%s: CLI flag, job parameter and wb parameter give one run',
    async (name) => {
      const { flags, value } = samples[name];
      const ctx = cli(command, flags);
      const own =
        method === 'sft' ? knobsFromFlags(SFT_ONLY_KNOBS, ctx.flags) : dpoKnobsFromFlags(ctx);
      const fromCli = { ...cliStageOptions(ctx), ...own };
      const input = { model: MODEL, data: 'rows.jsonl', [name]: value };
      const sent = await viaWb(method, input);
      expect(sent).toEqual({ job: job.name, params: input });
      const params = job.params.parse(sent.params) as Parameters<typeof stagePaths>[0];
      const context = {
        dir: '/out',
        seed: params.seed,
        signal: ctx.signal,
        progress: () => undefined,
      };
      const fromJob = jobStageOptions(stagePaths(params, jobCtx), context);
      const { data: _d, evalData: _e, ...jobKnobs } = knobsOf(fromJob);
      expect(knobsOf(fromCli)).toEqual(jobKnobs);
      expect(jobKnobs[name]).toEqual(name === 'warmup' ? { steps: 3 } : value);
      expect(resolveHyper(stub, fromCli, presets)).toEqual(resolveHyper(stub, fromJob, presets));
    },
  );
});

describe('ttt knobs round-trip', () => {
  it('a sample covers every knob', () => expectCovers(TTT, TTT_KNOBS));

  it.each(Object.keys(TTT))(
    '%s: CLI flag, job parameter and wb parameter give one run',
    async (name) => {
      const { flags, value } = TTT[name];
      const ctx = cli(tttCommand, flags);
      const knobs = knobsFromFlags(TTT_KNOBS, ctx.flags);
      const fromCli = {
        ...tttOptions(knobs),
        ...rowOptions(ctx),
        format: knobs.format,
        seed: knobs.seed,
      };
      const input = { model: MODEL, index: 'index.jsonl', bench: 'bench.jsonl', [name]: value };
      const sent = await viaWb('ttt', input);
      expect(sent).toEqual({ job: tttJob.name, params: input });
      const p = tttJob.params.parse(sent.params) as typeof knobs;
      const fromJob = {
        ...tttOptions(p),
        ...{
          skipBadRows: p.skipBadRows,
          maxRowBytes: p.maxRowBytes,
          format: p.format,
          seed: p.seed,
        },
      };
      expect(JSON.parse(JSON.stringify(fromCli))).toEqual(JSON.parse(JSON.stringify(fromJob)));
      expect({ ...fromJob, ...fromJob.eval }[name as 'k']).toEqual(value);
    },
  );
});

describe('a misspelt knob', () => {
  it('fails the job (and so wb) naming it', () => {
    const result = sftJob.params.safeParse({ model: MODEL, data: 'rows.jsonl', maxGradNrm: 1 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].message).toContain('maxGradNrm');
    const lora = tttJob.params.safeParse({
      ...{ model: MODEL, index: 'index.jsonl', bench: 'bench.jsonl' },
      lora: { r: 2, alpah: 4 },
    });
    expect(lora.error?.issues[0]).toMatchObject({ path: ['lora'], keys: ['alpah'] });
  });

  it('fails the CLI naming the flag, for a bad value too', () => {
    expect(() => cliStageOptions(cli(trainSftCommand, { 'max-grad-norm': '-1' }))).toThrow(
      "--max-grad-norm must be >= 0, got '-1'",
    );
    expect(() => cliStageOptions(cli(trainSftCommand, { warmup: '2.5' }))).toThrow(
      "--warmup must be a fraction below 1 or a whole step count, got '2.5'",
    );
    expect(() => cliStageOptions(cli(trainSftCommand, { 'lora-alpha': '8' }))).toThrow(
      '--lora-rank is required with the other lora flags',
    );
  });
});
