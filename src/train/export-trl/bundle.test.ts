import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { beforeAll, describe, expect, it } from 'vitest';
import { columnTypeText } from '../../core/parquet-testing.ts';
import { modelConfigToJson } from '../../model/config.ts';
import { presetConfig } from '../../model/init.ts';
import { DPO_PRESETS, SFT_PRESETS } from '../presets.ts';
import { bundleContentHash, exportTrl, type TrlExportOptions } from './bundle.ts';
import { PINNED } from './templates.ts';
import fields from './fixtures/trl-fields.json' with { type: 'json' };

const PYTHON = spawnSync('python3', ['--version']).status === 0;
const NO_PYTHON = PYTHON ? '' : ' [skipped: python3 is not on PATH]';
const dir = mkdtempSync(join(tmpdir(), 'finemed-export-trl-'));
const model = join(dir, 'model');
const jsonl = (name: string, rows: unknown[]): string => {
  const path = join(dir, name);
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
};
const chat = (i: number) => [
  { role: 'user', content: `What treats condition ${i}?` },
  { role: 'assistant', content: `Remedy ${i} — naïve café.` },
];
let sftData: string;
let dpoData: string;
let n = 0;
const out = () => join(dir, `bundle-${n++}`);

beforeAll(() => {
  mkdirSync(model);
  writeFileSync(
    join(model, 'config.json'),
    JSON.stringify(modelConfigToJson(presetConfig('tiny'))),
  );
  sftData = jsonl(
    'sft.jsonl',
    [0, 1, 2].map((i) => ({ messages: chat(i) })),
  );
  dpoData = jsonl('dpo.jsonl', [
    { prompt: 'p0', chosen: 'good', rejected: 'bad' },
    {
      prompt: chat(1).slice(0, 1),
      chosen: chat(1).slice(1),
      rejected: [{ role: 'assistant', content: 'no' }],
    },
  ]);
});

/** train.py compiled, and what it passes to each config class, read by Python's own parser. */
function pythonView(bundle: string): {
  MODEL: string;
  REF_MODEL?: string | null;
  CONFIG: Record<string, unknown>;
  LORA: Record<string, unknown> | null;
  calls: Record<string, string[]>;
} {
  const script = `
import ast, json, py_compile, sys
path = sys.argv[1]
py_compile.compile(path, doraise=True)
tree = ast.parse(open(path).read())
values = {t.id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
          for t in n.targets if isinstance(t, ast.Name) and t.id in ("MODEL", "REF_MODEL", "CONFIG", "LORA")}
calls = {}
for node in ast.walk(tree):
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.endswith("Config"):
        names = []
        for kw in node.keywords:
            if kw.arg is not None: names.append(kw.arg)
            else: names += list((values[kw.value.id] or {}).keys())
        calls[node.func.id] = names
print(json.dumps({**values, "calls": calls}))
`;
  const run = spawnSync('python3', ['-c', script, join(bundle, 'train.py')], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

type FieldClass = keyof typeof fields.classes;
/** Every field of a class in the pinned versions, inherited ones included. */
function fieldsOf(cls: FieldClass): Set<string> {
  const c = fields.classes[cls];
  const inherited = c.bases.flatMap((b) =>
    b in fields.classes ? [...fieldsOf(b as FieldClass)] : [],
  );
  return new Set([...c.fields, ...inherited]);
}

const cases: [string, Partial<TrlExportOptions>][] = [
  ['sft, full', { stage: 'sft' }],
  [
    'sft, LoRA, --lr and --warmup 5',
    { stage: 'sft', lr: 2e-5, warmup: { steps: 5 }, lora: { r: 4 } },
  ],
  [
    'dpo, full, --beta 0.2, --ref-model',
    { stage: 'dpo', beta: 0.2, loss: 'ipo', refModel: 'org/ref' },
  ],
  [
    'dpo, LoRA, paper preset',
    { stage: 'dpo', preset: 'paper', lora: { r: 8, alpha: 4, targetModules: ['q_proj'] } },
  ],
];

describe('exportTrl', () => {
  it('checks names against the field lists of exactly the versions requirements.txt pins', () => {
    const c = fields.classes;
    expect(c.TrainingArguments.source.repo).toBe(`pypi:transformers==${PINNED.transformers}`);
    for (const cls of [c.BaseConfig, c.SFTConfig, c.DPOConfig])
      expect(cls.source.tag.startsWith(`v${PINNED.trl} `)).toBe(true);
    for (const cls of [c.PeftConfigMixin, c.PeftConfig, c.LoraConfig])
      expect(cls.source.tag.startsWith(`v${PINNED.peft} `)).toBe(true);
    expect(fieldsOf('SFTConfig')).toContain('per_device_train_batch_size');
  });

  it.each(cases)(
    `train.py compiles and sets the resolved settings: %s${NO_PYTHON}`,
    async (_, o) => {
      if (!PYTHON) return;
      const stage = o.stage!;
      const bundle = out();
      const manifest = await exportTrl({
        model,
        data: stage === 'sft' ? sftData : dpoData,
        outDir: bundle,
        ...o,
        stage,
      });
      const presets = stage === 'sft' ? SFT_PRESETS : DPO_PRESETS;
      const preset = presets[o.preset ?? 'tiny'];
      const lr = o.lr ?? preset.lr;
      const py = pythonView(bundle);
      expect(py.CONFIG).toMatchObject({
        learning_rate: lr,
        lr_scheduler_type: 'cosine',
        weight_decay: preset.weightDecay,
        num_train_epochs: preset.epochs,
        max_steps: -1,
        per_device_train_batch_size: preset.batchSize,
        gradient_accumulation_steps: preset.gradAccum,
        max_grad_norm: preset.maxGradNorm,
        max_length: Math.min(preset.maxLength, presetConfig('tiny').maxPositions),
        seed: 0,
        ...(o.warmup ? { warmup_steps: 5 } : { warmup_ratio: 0.1 }),
        ...(stage === 'sft'
          ? { packing: false, assistant_only_loss: true }
          : {
              beta: o.beta ?? 0.1,
              loss_type: [o.loss ?? 'sigmoid'],
              precompute_ref_log_probs: true,
            }),
      });
      expect(manifest.hyperparameters).toMatchObject({ lr, preset: o.preset ?? 'tiny' });
      expect(py.LORA).toEqual(
        o.lora
          ? expect.objectContaining({
              r: o.lora.r,
              lora_alpha: o.lora.alpha ?? 2 * o.lora.r,
              target_modules:
                o.lora.targetModules ?? expect.arrayContaining(['q_proj', 'down_proj']),
            })
          : null,
      );
      expect(py.MODEL).toBe(model);
      expect(py.REF_MODEL).toBe(stage === 'dpo' ? (o.refModel ?? null) : undefined);
      expect(manifest.sources.ref_model).toBe(o.refModel && `hub:${o.refModel}`);
      const configClass = stage === 'sft' ? 'SFTConfig' : 'DPOConfig';
      expect(Object.keys(py.calls).sort()).toEqual(['LoraConfig', configClass].sort());
      for (const [cls, names] of Object.entries(py.calls)) {
        const known = fieldsOf(cls as FieldClass);
        expect(
          names.filter((f) => !known.has(f)),
          cls,
        ).toEqual([]);
      }
    },
  );

  it('writes the data as JSONL and as Parquet with list<struct<role, content>> columns', async () => {
    const sft = out();
    await exportTrl({ stage: 'sft', model, data: sftData, outDir: sft });
    const sftBytes = new Uint8Array(readFileSync(join(sft, 'data/train.parquet')));
    expect(columnTypeText(sftBytes, 'messages')).toBe(
      'list<struct<role: string, content: string>>',
    );
    const sftRows = await parquetReadObjects({ file: sftBytes.buffer as ArrayBuffer });
    expect(sftRows.map((r) => r.messages)).toEqual([0, 1, 2].map(chat));
    const lines = readFileSync(join(sft, 'data/train.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(sftRows);

    const dpo = out();
    await exportTrl({ stage: 'dpo', model, data: dpoData, outDir: dpo });
    const dpoBytes = new Uint8Array(readFileSync(join(dpo, 'data/train.parquet')));
    for (const column of ['prompt', 'chosen', 'rejected'])
      expect(columnTypeText(dpoBytes, column)).toBe('list<struct<role: string, content: string>>');
    const [first] = await parquetReadObjects({ file: dpoBytes.buffer as ArrayBuffer });
    expect(first).toEqual({
      prompt: [{ role: 'user', content: 'p0' }],
      chosen: [{ role: 'assistant', content: 'good' }],
      rejected: [{ role: 'assistant', content: 'bad' }],
    });
  });

  it('hashes every other file into the manifest: any change to one changes the hash', async () => {
    const bundle = out();
    const manifest = await exportTrl({ stage: 'sft', model, data: sftData, outDir: bundle });
    expect(await bundleContentHash(bundle)).toBe(manifest.hash);
    expect(manifest.sources.data).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(manifest.workbench_version).toMatch(/^\d+\.\d+\.\d+\+[0-9a-f]{12}$/);
    const seen = new Set([manifest.hash]);
    for (const file of [
      'train.py',
      'data/train.parquet',
      'accelerate/ds_config.json',
      'README.md',
    ]) {
      const path = join(bundle, file);
      const before = readFileSync(path);
      writeFileSync(path, Buffer.concat([before, Buffer.from(' ')]));
      const changed = await bundleContentHash(bundle);
      expect(seen.has(changed), file).toBe(false);
      seen.add(changed);
      writeFileSync(path, before);
    }
    expect(await bundleContentHash(bundle)).toBe(manifest.hash);
  });

  it(`launch.sh refuses an unknown mode; the accelerate configs parse as YAML${NO_PYTHON}`, async () => {
    const bundle = out();
    await exportTrl({ stage: 'sft', model, data: sftData, outDir: bundle });
    const launch = spawnSync(join(bundle, 'launch.sh'), ['fsdp'], { encoding: 'utf8' });
    expect(launch.status).toBe(2);
    expect(launch.stderr).toContain("unknown mode 'fsdp' (single-gpu, ddp or zero3)");
    if (!PYTHON) return;
    const read = spawnSync(
      'python3',
      [
        '-c',
        'import json, sys, yaml; print(json.dumps([yaml.safe_load(open(f)) for f in sys.argv[1:]]))',
        ...['single-gpu', 'ddp', 'zero3'].map((m) => join(bundle, 'accelerate', `${m}.yaml`)),
      ],
      { encoding: 'utf8' },
    );
    expect(read.stderr).toBe('');
    const [single, ddp, zero3] = JSON.parse(read.stdout);
    expect([single.distributed_type, ddp.distributed_type, zero3.distributed_type]).toEqual([
      'NO',
      'MULTI_GPU',
      'DEEPSPEED',
    ]);
    const ds = JSON.parse(
      readFileSync(join(bundle, zero3.deepspeed_config.deepspeed_config_file), 'utf8'),
    );
    expect(ds.zero_optimization.stage).toBe(3);
  });

  it('names inputs from the artifact store by their artifact keys', async () => {
    const artifact = join(dir, 'store', 'artifacts', 'dataset', 'abcdef0123456789');
    mkdirSync(artifact, { recursive: true });
    writeFileSync(
      join(artifact, 'meta.json'),
      JSON.stringify({ kind: 'dataset', key: 'abcdef0123456789' }),
    );
    writeFileSync(join(artifact, 'sft.jsonl'), readFileSync(sftData));
    const manifest = await exportTrl({
      stage: 'sft',
      model: 'Qwen/Qwen2.5-0.5B-Instruct',
      data: join(artifact, 'sft.jsonl'),
      outDir: out(),
    });
    expect(manifest.sources).toEqual({
      model: 'hub:Qwen/Qwen2.5-0.5B-Instruct',
      data: 'dataset/abcdef0123456789',
    });
    // A Hub model has no known shape: the paper preset, its length uncapped.
    expect(manifest.hyperparameters).toMatchObject({ preset: 'paper', maxLength: 2048 });
  });

  it('names the file, line and field of bad input, and writes nothing', async () => {
    const bad = jsonl('bad.jsonl', [{ messages: chat(0) }, { messages: [{ role: 'user' }] }]);
    const bundle = out();
    await expect(exportTrl({ stage: 'sft', model, data: bad, outDir: bundle })).rejects.toThrow(
      `${bad}:2: messages[0].content: expected string content`,
    );
    await expect(exportTrl({ stage: 'dpo', model, data: sftData, outDir: bundle })).rejects.toThrow(
      `${sftData}:1: prompt:`,
    );
    await expect(
      exportTrl({ stage: 'sft', model, data: join(dir, 'missing.jsonl'), outDir: bundle }),
    ).rejects.toThrow(`${join(dir, 'missing.jsonl')}: data: no such data file`);
    await expect(
      exportTrl({ stage: 'ppo' as 'sft', model, data: sftData, outDir: bundle }),
    ).rejects.toThrow("unknown stage 'ppo'");
    const mixed = jsonl('mixed.jsonl', [{ messages: chat(0) }, { text: 'plain' }]);
    await expect(exportTrl({ stage: 'sft', model, data: mixed, outDir: bundle })).rejects.toThrow(
      `${mixed}:2: text:`,
    );
    expect(() => readFileSync(join(bundle, 'manifest.json'))).toThrow();
  });
});
