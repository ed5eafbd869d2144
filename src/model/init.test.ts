import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { fillNormal, initParams, presetConfig, readCorpus } from './init.ts';

const dir = mkdtempSync(join(tmpdir(), 'finemed-init-corpus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readCorpus(path, field)', () => {
  it('reads JSONL with a BOM and CRLF, and plain text split at blank lines', async () => {
    const jsonl = join(dir, 'c.jsonl');
    writeFileSync(jsonl, '\uFEFF{"text": "Gout hurts."}\r\n\r\n{"text": "Sepsis kills."}\r\n');
    expect(await readCorpus(jsonl)).toEqual(['Gout hurts.', 'Sepsis kills.']);
    const txt = join(dir, 'c.txt');
    writeFileSync(txt, '\uFEFFGout hurts.\r\nA lot.\r\n\r\nSepsis kills.');
    expect(await readCorpus(txt)).toEqual(['Gout hurts.\nA lot.', 'Sepsis kills.']);
  });

  it('names file and line of a line over the row limit', async () => {
    const big = join(dir, 'big.jsonl');
    writeFileSync(big, `{"text": "ok"}\n{"text": "${'x'.repeat(9 << 20)}"}\n`);
    await expect(readCorpus(big)).rejects.toThrow(
      `${big}:2: row is 9,437,196 bytes, over the 8 MiB row limit (--max-row-bytes)`,
    );
  });
});

describe('fillNormal(rng, out, std)', () => {
  it('draws exactly what Rng.fillNormal draws, and leaves the stream where the method would', () => {
    for (const n of [0, 1, 2, 7, 4096]) {
      // A pending Box-Muller value (one normal() drawn first) must come out first, as in the method.
      for (const pending of [false, true]) {
        const a = new Rng(11).fork(`t${n}`);
        const b = new Rng(11).fork(`t${n}`);
        if (pending) {
          a.normal();
          b.normal();
        }
        const expected = a.fillNormal(new Float32Array(n), 0.02) as Float32Array;
        const got = new Float32Array(n);
        fillNormal(b, got, 0.02);
        expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(expected.buffer));
        expect([b.normal(), b.uint32()]).toEqual([a.normal(), a.uint32()]);
      }
    }
  });

  it('initParams fills every weight from its own named stream, norms with 1 and biases with 0', () => {
    const config = presetConfig('tiny');
    const params = initParams(config, 5);
    const name = 'model.layers.1.mlp.up_proj.weight';
    const expected = new Rng(5)
      .fork(name)
      .fillNormal(new Float32Array(params.view(name).length), 0.02);
    expect(params.view(name)).toEqual(expected);
    expect(params.view('model.norm.weight').every((x) => x === 1)).toBe(true);
    expect(params.view('model.layers.0.self_attn.q_proj.bias').every((x) => x === 0)).toBe(true);
  });
});
