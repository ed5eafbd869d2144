import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../core/version.ts';
import { loadModel } from '../model/causal-lm.ts';
import { parameterCount } from '../model/config.ts';
import { runCli as run } from './testing.ts';

describe('init-model, logits, generate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finemed-cli-model-'));
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(
    corpus,
    [
      'Sepsis is a serious response to infection.',
      'Gout causes sudden joint pain.',
      'Migraine brings headaches.',
    ]
      .map((text) => JSON.stringify({ text }))
      .join('\n'),
  );
  const out = join(dir, 'model');

  it('init-model writes a loadable tiny model and reports it as JSON', async () => {
    const { code, out: stdout } = await run([
      'init-model',
      '--preset',
      'tiny',
      '--out',
      out,
      '--corpus',
      corpus,
      '--seed',
      '4',
      '--json',
    ]);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ preset: 'tiny', seed: 4, corpus_documents: 3 });
    expect(summary.parameters).toBeGreaterThan(5e5);
    const model = await loadModel(out);
    expect(model.config.numLayers).toBe(4);
    await model.dispose();
  });

  it('init-model without --corpus trains the tokenizer on the built-in synthetic data', async () => {
    const builtIn = join(dir, 'built-in');
    const { code, out: stdout } = await run([
      'init-model',
      '--preset',
      'tiny',
      '--out',
      builtIn,
      '--json',
    ]);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(summary.corpus_documents).toBeGreaterThan(100);
    const model = await loadModel(builtIn);
    // The commonest English word is one token after training.
    expect(model.tokenizer!.encode(' the')).toHaveLength(1);
    await model.dispose();
  });

  it("init-model --config FILE builds that architecture with the trained tokenizer's token ids", async () => {
    const configPath = join(dir, 'llama-config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        model_type: 'llama',
        vocab_size: 320,
        hidden_size: 64,
        intermediate_size: 96,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 1,
        rope_theta: 500000,
        max_position_embeddings: 64,
        tie_word_embeddings: false,
        initializer_range: 0.05,
        bos_token_id: 128000,
        eos_token_id: 128001,
      }),
    );
    const fromConfig = join(dir, 'from-config');
    const args = ['init-model', '--config', configPath, '--out', fromConfig, '--corpus', corpus];
    const { code, out: stdout } = await run([...args, '--json']);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ preset: null, config: configPath, vocab_size: 320 });
    const model = await loadModel(fromConfig);
    expect(model.config).toMatchObject({
      modelType: 'llama',
      numLayers: 2,
      numKvHeads: 1,
      ropeTheta: 500000,
      tieWordEmbeddings: false,
      eosTokenIds: [2, 0],
      padTokenId: 0,
    });
    expect(model.config.bosTokenId).toBeUndefined();
    expect(summary.parameters).toBe(parameterCount(model.config));
    const w = model.params.view('model.layers.0.self_attn.q_proj.weight');
    const std = Math.sqrt(w.reduce((sum, v) => sum + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.045);
    expect(std).toBeLessThan(0.055);
    expect(model.tokenizer!.encode('<|im_end|>')).toEqual([2]);
    await model.dispose();
    const both = await run([...args, '--preset', 'tiny']);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/exactly one of --preset \(tiny\|demo\) and --config/);
  });

  it('logits --json prints one row of vocabulary floats per id, equal to the library call', async () => {
    const { code, out: stdout } = await run(['logits', '--model', out, '--ids', '1,5,9', '--json']);
    expect(code).toBe(0);
    const { logits } = JSON.parse(stdout) as { logits: number[][] };
    const model = await loadModel(out);
    const { data } = await model.logits([[1, 5, 9]]);
    expect(logits).toHaveLength(3);
    expect(Float32Array.from(logits.flat())).toEqual(data);
    await model.dispose();
  });

  it('generate streams greedy text and is reproducible', async () => {
    const args = ['generate', '--model', out, '--prompt', 'Gout causes', '--max-tokens', '8'];
    const first = await run(args);
    const second = await run(args);
    expect(first.code).toBe(0);
    expect(first.out).toBe(second.out);
    expect(first.err).toMatch(/\[\d+ tokens, finish: (length|stop)\]/);
  });

  it('bad flags and inputs exit with clear messages', async () => {
    expect((await run(['init-model', '--preset', 'huge', '--out', out])).err).toMatch(
      /--preset must be one of tiny\|demo/,
    );
    const missing = await run(['logits', '--model', join(dir, 'nope'), '--ids', '1']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope: not a model folder: no config\.json/);
    const outside = await run(['logits', '--model', out, '--ids', '99999']);
    expect(outside.err).toMatch(/token id 99999 is outside the vocabulary/);
  });

  it('serve-model refuses --no-token on a non-loopback address, and contradictory token flags', async () => {
    const remote = await run(['serve-model', '--model', out, '--host', '0.0.0.0', '--no-token']);
    expect(remote.code).toBe(2);
    expect(remote.err).toContain(
      'refusing to serve on non-loopback address 0.0.0.0 without a token (--no-token is for loopback addresses only)',
    );
    const both = await run(['serve-model', '--model', out, '--token', 't', '--no-token']);
    expect(both.code).toBe(2);
    expect(both.err).toContain('--token and --no-token contradict');
  });

  it('serve-model on 0.0.0.0 warns, prints a random token, and serves the openai client only with it', async () => {
    const served = await startServeModel(['--model', out, '--host', '0.0.0.0']);
    try {
      expect(served.info.token).toMatch(/^[\w-]{32}$/);
      expect(served.stderr()).toContain(
        'finemed serve-model: WARNING: listening on 0.0.0.0, reachable from other machines',
      );
      const port = new URL(served.info.url).port;
      const baseURL = `http://127.0.0.1:${port}/v1`;
      const refused = await fetch(`${baseURL}/models`);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
        'invalid_api_key',
      );
      const client = new OpenAI({ baseURL, apiKey: served.info.token!, maxRetries: 0 });
      expect((await client.models.list()).data.map((m) => m.id)).toEqual(['model']);
      const reply = await client.chat.completions.create({
        model: 'model',
        messages: [{ role: 'user', content: 'What is gout?' }],
        max_tokens: 4,
        temperature: 0,
      });
      expect(reply.usage!.completion_tokens).toBeGreaterThan(0);
    } finally {
      await served.stop();
    }
    expect(served.exitCode()).toBe(0);
  });

  it('serve-model --no-token on loopback still refuses foreign hosts and origins', async () => {
    const served = await startServeModel(['--model', out, '--no-token', '--name', 'local']);
    try {
      expect(served.info.token).toBeNull();
      expect(served.stderr()).not.toContain('WARNING');
      const port = Number(new URL(served.info.url).port);
      expect((await get(port, { host: `localhost:${port}` })).status).toBe(200);
      expect((await get(port, { host: `attacker.example:${port}` })).status).toBe(403);
      const page = await get(port, {
        host: `127.0.0.1:${port}`,
        origin: 'http://attacker.example',
      });
      expect(page.status).toBe(403);
    } finally {
      await served.stop();
    }
  });
});

/** A `finemed serve-model` child process, started by {@link startServeModel}. */
interface ServeModelProcess {
  /** The JSON line it printed on stdout. */
  info: { url: string; model: string; token: string | null };
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Its exit code once stopped. */
  exitCode(): number | null;
  /** Stops it with Ctrl-C (SIGINT) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts `finemed serve-model --port 0 ARGS` and resolves once it prints where it listens. */
function startServeModel(args: string[]): Promise<ServeModelProcess> {
  const child = spawn(
    process.execPath,
    [join(projectRoot, 'bin', 'finemed.js'), 'serve-model', '--port', '0', ...args],
    { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      const line = /^(\{.*\})$/m.exec(out)?.[1];
      if (!line) return;
      resolve({
        info: JSON.parse(line) as ServeModelProcess['info'],
        stderr: () => err,
        exitCode: () => child.exitCode,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGINT');
          await exited;
        },
      });
    });
    child.once('exit', (code) => reject(new Error(`serve-model exited with ${code}: ${err}`)));
  });
}

/** `GET /v1/models` with exactly these headers (fetch forbids setting Host). */
function get(port: number, headers: Record<string, string>): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/v1/models', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end();
  });
}
