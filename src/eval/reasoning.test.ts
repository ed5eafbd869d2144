import { describe, expect, it } from 'vitest';
import { evaluate } from './run.ts';
import { clipReply, readReasoning, reasoningMessages, type ReasoningReading } from './reasoning.ts';
import type { ChatGenerator, EvalItem, GenerateRequest, LoadedBenchmark } from './types.ts';

const OPTIONS = ['ureteric stone', 'acute pyelonephritis', 'appendicitis', 'migraine with aura'];

const answer = (summary: string, thought = '1. Key findings: flank pain.\n4. Conclusion: x.') =>
  `## Thought\n${thought}\n\n## Summarization\n${summary}`;

// [reply, expected option (null = [invalid]), formatted, invalid reason]
const cases: [string, string, number | null, boolean, ReasoningReading['invalid']][] = [
  [
    'the training answer, diagnosis and letter agree',
    answer(
      'The most likely diagnosis is ureteric stone. The answer is B: ureteric stone. First-line management is analgesia.',
    ),
    0,
    true,
    undefined,
  ],
  [
    'a different option, phrased with case and markup',
    answer('The most likely diagnosis is **Acute Pyelonephritis**.'),
    1,
    true,
    undefined,
  ],
  [
    'an option followed by a clause',
    answer('The most likely diagnosis is appendicitis, given the migrating pain.'),
    2,
    true,
    undefined,
  ],
  [
    'a diagnosis that is no option',
    answer('The most likely diagnosis is renal colic due to a tumour.'),
    null,
    true,
    'not-an-option',
  ],
  [
    'an option named only inside a longer diagnosis',
    answer('The most likely diagnosis is complicated ureteric stone.'),
    null,
    true,
    'not-an-option',
  ],
  [
    'no diagnosis at all',
    answer('First-line management is analgesia.'),
    null,
    true,
    'no-diagnosis',
  ],
  [
    'no headings, a diagnosis statement',
    'The most likely diagnosis is ureteric stone.',
    0,
    false,
    undefined,
  ],
  [
    'cut before the summary: the thought concludes',
    '## Thought\n1. Key findings: flank pain.\n4. Conclusion: acute pyelonephritis explains every finding',
    1,
    false,
    undefined,
  ],
  [
    'the summary decides over the thought',
    answer(
      'The most likely diagnosis is appendicitis.',
      '4. Conclusion: ureteric stone explains every finding.',
    ),
    2,
    true,
    undefined,
  ],
  [
    'a summary naming no option falls back to a stated letter',
    answer('The diagnosis is renal colic. The answer is B.'),
    1,
    true,
    undefined,
  ],
  [
    'headings in the wrong order',
    '## Summarization\nThe most likely diagnosis is appendicitis.\n## Thought\n',
    2,
    false,
    undefined,
  ],
  ['an empty reply', '', null, false, 'no-diagnosis'],
  ['a letter beyond the options', 'The answer is F.', null, false, 'no-diagnosis'],
];

describe('readReasoning', () => {
  it.each(cases)('%s', (_name, reply, expected, formatted, invalid) => {
    const read = readReasoning(reply, OPTIONS);
    expect(read.index ?? null).toBe(expected);
    expect(read.formatted).toBe(formatted);
    expect(read.invalid).toBe(invalid);
  });

  it('keeps the stated diagnosis, and says how the option was matched', () => {
    const read = readReasoning(answer('The diagnosis is renal colic. The answer is (D).'), OPTIONS);
    expect(read).toMatchObject({ diagnosis: 'renal colic', index: 3, matchedBy: 'letter' });
  });
});

describe('reasoningMessages', () => {
  it('asks as the long-reasoning training rows with options do: question, lettered options, no system', () => {
    const item = { question: 'Which diagnosis fits best? ', options: OPTIONS } as EvalItem;
    expect(reasoningMessages(item)).toEqual([
      {
        role: 'user',
        content:
          'Which diagnosis fits best?\nA. ureteric stone\nB. acute pyelonephritis\nC. appendicitis\nD. migraine with aura',
      },
    ]);
  });
});

describe('clipReply', () => {
  it('keeps short replies whole and the head and tail (the summary) of long ones', () => {
    expect(clipReply('short', 10)).toBe('short');
    const long = `${'a'.repeat(50)}## Summarization\nThe most likely diagnosis is x.`;
    const clipped = clipReply(long, 40);
    expect(clipped.startsWith('a'.repeat(20))).toBe(true);
    expect(clipped.endsWith('diagnosis is x.')).toBe(true);
    expect(clipped).toContain(`[… ${long.length - 40} characters cut …]`);
  });
});

function item(id: string, answerIndex: number): EvalItem {
  return {
    id,
    question: `Question ${id}. Which diagnosis fits best?`,
    options: OPTIONS,
    answerIndex,
    source: { file: 'bench.jsonl', line: Number(id) },
  };
}

describe('evaluate with reasoning answers', () => {
  const bench: LoadedBenchmark = {
    format: 'medqa',
    file: 'bench.jsonl',
    items: [item('1', 0), item('2', 1), item('3', 2), item('4', 3)],
    skipped: [],
  };
  // Replies per question: right with headings, wrong option, a non-option, right without headings.
  const replies: Record<string, string> = {
    '1': answer('The most likely diagnosis is ureteric stone.'),
    '2': answer('The most likely diagnosis is appendicitis.'),
    '3': answer('The most likely diagnosis is gastritis.'),
    '4': 'The most likely diagnosis is migraine with aura.',
  };
  const seen: GenerateRequest[] = [];
  const generator: ChatGenerator = {
    async generate(requests) {
      seen.push(...requests);
      return requests.map((r) => replies[/Question (\d+)/.exec(r.messages[0].content)![1]]);
    },
  };

  it('scores the diagnosis, records replies, and reports format and invalid rates', async () => {
    const { summary, records } = await evaluate(
      bench,
      { key: 'fake', generator },
      { mode: 'generate', answer: 'reasoning', maxTokens: 99, batchSize: 2 },
    );
    expect(seen.map((r) => r.maxTokens)).toEqual([99, 99, 99, 99]);
    expect(records.map((r) => r.correct)).toEqual([true, false, false, true]);
    expect(records.map((r) => r.prediction)).toEqual([0, 2, null, 3]);
    expect(records[2]).toMatchObject({
      diagnosis: 'gastritis',
      invalid: 'not-an-option',
      formatted: true,
    });
    expect(records[0].output).toBe(replies['1']);
    expect(summary).toMatchObject({
      answer: 'reasoning',
      accuracy: 0.5,
      format_rate: 0.75,
      invalid_rate: 0.25,
      n_unparseable: 1,
    });
  });

  it('refuses reasoning answers outside generate mode', async () => {
    await expect(
      evaluate(bench, { key: 'fake', generator }, { answer: 'reasoning' }),
    ).rejects.toThrow(/reasoning answers need mode 'generate'/);
  });
});
