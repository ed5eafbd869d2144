import { describe, expect, it } from 'vitest';
import type { EvalItem } from './types.ts';
import {
  chatLoglikContext,
  chatMessages,
  choices,
  drawShots,
  loglikContext,
  loglikPrompt,
} from './prompts.ts';

const item = (id: string, over: Partial<EvalItem> = {}): EvalItem => ({
  id,
  question: `Question ${id}?`,
  options: ['alpha', 'beta', 'gamma', 'delta'],
  answerIndex: 2,
  source: { file: 'bench.jsonl', line: Number(id.replace(/\D/g, '')) || 1 },
  ...over,
});

describe('loglikPrompt(format, item)', () => {
  it('writes MedQA, MedMCQA, MMLU and PubMedQA prompts as lm-evaluation-harness does', () => {
    const q = item('q1');
    expect(loglikPrompt('medqa', q)).toBe(
      'Question: Question q1?\nA. alpha\nB. beta\nC. gamma\nD. delta\nAnswer:',
    );
    expect(loglikPrompt('medmcqa', q)).toBe(
      'Question: Question q1?\nChoices:\nA. alpha\nB. beta\nC. gamma\nD. delta\nAnswer:',
    );
    expect(loglikPrompt('mmlu', { ...q, question: '  Padded?  ' })).toBe(
      'Padded?\nA. alpha\nB. beta\nC. gamma\nD. delta\nAnswer:',
    );
    const pubmed = item('1', { options: ['yes', 'no', 'maybe'], context: 'Part one.\nPart two.' });
    expect(loglikPrompt('pubmedqa', pubmed)).toBe(
      'Abstract: Part one.\nPart two.\nQuestion: Question 1?\nAnswer:',
    );
    expect(choices(pubmed, 'text')).toEqual(['yes', 'no', 'maybe']);
    expect(choices(q, 'letter')).toEqual(['A', 'B', 'C', 'D']);
  });
});

describe('chatLoglikContext(format, item, shots, style, chat)', () => {
  it('asks the question as the user, answers each example after the prefix, and opens the reply with it', () => {
    const render = (messages: readonly { role: string; content: string }[]): string =>
      messages.map((m) => `[${m.role}] ${m.content}\n`).join('') + '[assistant] ';
    const shot = item('q2', { answerIndex: 1 });
    expect(
      chatLoglikContext('medqa', item('q1'), [shot], 'text', { render, answerPrefix: 'It is' }),
    ).toBe(
      '[user] Question: Question q2?\nA. alpha\nB. beta\nC. gamma\nD. delta\n' +
        '[assistant] It is beta\n' +
        '[user] Question: Question q1?\nA. alpha\nB. beta\nC. gamma\nD. delta\n' +
        '[assistant] It is',
    );
    expect(chatLoglikContext('medqa', item('q1'), [shot], 'letter', { render })).toBe(
      '[user] Question: Question q2?\nA. alpha\nB. beta\nC. gamma\nD. delta\n' +
        '[assistant] B\n' +
        '[user] Question: Question q1?\nA. alpha\nB. beta\nC. gamma\nD. delta\n' +
        '[assistant] ',
    );
  });
});

describe('loglikContext(format, item, shots, style)', () => {
  it('puts the MMLU subject line, then answered examples, then the item', () => {
    const q = item('q1', { subject: 'medical_genetics' });
    const shot = item('q2', { answerIndex: 0 });
    expect(loglikContext('mmlu', q, [shot], 'letter')).toBe(
      'The following are multiple choice questions (with answers) about medical genetics.\n\n' +
        'Question q2?\nA. alpha\nB. beta\nC. gamma\nD. delta\nAnswer: A\n\n' +
        'Question q1?\nA. alpha\nB. beta\nC. gamma\nD. delta\nAnswer:',
    );
  });
});

describe('chatMessages(item, shots, opts)', () => {
  it('asks for "The answer is (X)" and answers the examples that way', () => {
    const messages = chatMessages(item('q1'), [item('q2', { answerIndex: 1 })]);
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(messages[0].content).toBe(
      'Question: Question q2?\nOptions:\nA. alpha\nB. beta\nC. gamma\nD. delta\n\n' +
        'Answer with the letter of the correct option, in the form "The answer is (X)".',
    );
    expect(messages[1].content).toBe('The answer is (B).');
  });

  it('asks for step-by-step reasoning and shows an example explanation', () => {
    const shot = item('q2', { answerIndex: 3, explanation: 'A: Delta fits best.' });
    const messages = chatMessages(item('q1', { context: 'Abstract text.' }), [shot], {
      chainOfThought: true,
      system: 'You are a careful physician.',
    });
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(messages[2].content).toBe('Delta fits best.\nThe answer is (D).');
    expect(messages[3].content).toMatch(/^Abstract:\nAbstract text\.\n\nQuestion: Question q1\?/);
    expect(messages[3].content).toMatch(/Let's think step by step/);
  });
});

describe('drawShots(pool, item, k, seed)', () => {
  const pool = Array.from({ length: 40 }, (_, i) => item(`q${i}`));

  it('never draws the item itself and repeats by seed and id', () => {
    for (const target of pool.slice(0, 10)) {
      const shots = drawShots(pool, target, 5, 1);
      expect(shots).toHaveLength(5);
      expect(new Set(shots.map((s) => s.id)).size).toBe(5);
      expect(shots.map((s) => s.id)).not.toContain(target.id);
      expect(drawShots(pool, target, 5, 1)).toEqual(shots);
    }
    expect(drawShots(pool, pool[0], 5, 2)).not.toEqual(drawShots(pool, pool[0], 5, 1));
  });

  it('excludes a dev-file copy of the same question and stops when the pool runs out', () => {
    const target = item('t', { question: 'Shared?' });
    const dev = [item('d1', { question: 'Shared?' }), item('d2'), item('d3')];
    expect(
      drawShots(dev, target, 5, 0)
        .map((s) => s.id)
        .sort(),
    ).toEqual(['d2', 'd3']);
    expect(drawShots(dev, target, 0, 0)).toEqual([]);
  });
});
