import type { Rng } from '../core/rng.ts';
import { sentences, words } from './text.ts';
import type { Candidate, InstructionFacts, SourceDoc } from './types.ts';

/** The aspects of a topic that plain-language medical text tends to cover, with their cue words. */
const ASPECTS: { cue: RegExp; question: (topic: string) => string }[] = [
  {
    cue: /\b(symptoms?|signs?|feel|pain|fever|may have|can cause|experience)\b/i,
    question: (t) => `What are the symptoms of ${t}?`,
  },
  {
    cue: /\b(caused? by|causes|due to|result of|risk|inherit|genetic|infection)\b/i,
    question: (t) => `What causes ${t}, and who is at risk?`,
  },
  {
    cue: /\b(tests?|diagnos\w*|screen\w*|exam\w*|blood test|imaging|x-ray|biopsy)\b/i,
    question: (t) => `How is ${t} diagnosed?`,
  },
  {
    cue: /\b(treat\w*|therapy|medicines?|medications?|surgery|manage\w*|drugs?)\b/i,
    question: (t) => `How is ${t} treated?`,
  },
  {
    cue: /\b(prevent\w*|avoid|reduce your risk|vaccin\w*|lifestyle)\b/i,
    question: (t) => `How can ${t} be prevented?`,
  },
];

/** The topic of a corpus document: its title, else the subject of its first sentence. */
export function corpusTopic(doc: SourceDoc): string {
  if (doc.topic) return doc.topic;
  const first = sentences(doc.text)[0] ?? doc.text;
  const m = /^(.{3,60}?)\s+(is|are|was|were|refers to|means)\b/i.exec(first);
  return (m ? m[1] : words(first).slice(0, 4).join(' ')).replace(/^(the|a|an)\s+/i, '');
}

/**
 * Two candidate instructions for a raw corpus text, by rules: find the sentences that talk
 * about each aspect of the topic (symptoms, causes, diagnosis, treatment, prevention) by cue
 * words, and ask about aspects the text covers, plus a definition question when the text opens
 * with one and a general question that is always available.
 * Like the knowledge-base generator, the pool also holds flawed questions (vague, a bare
 * statement, pointing at the text) that scoring should reject. The matching sentences travel
 * with each instruction as its evidence, for the extractive answerer.
 */
export function corpusCandidates(doc: SourceDoc, rng: Rng): [Candidate, Candidate] {
  const topic = corpusTopic(doc);
  const parts = sentences(doc.text);
  const facts = (evidence: string[]): InstructionFacts => ({ ask: 'corpus', topic, evidence });
  const pool: [Candidate, number][] = [];
  for (const a of ASPECTS) {
    const evidence = parts.filter((s) => a.cue.test(s)).slice(0, 4);
    if (evidence.length) pool.push([{ text: a.question(topic), facts: facts(evidence) }, 3]);
  }
  if (/\b(is|are|refers to|means)\b/i.test(parts[0] ?? '')) {
    pool.push([{ text: `What is ${topic}?`, facts: facts(parts.slice(0, 2)) }, 2]);
  }
  pool.push([
    { text: `What should a patient know about ${topic}?`, facts: facts(parts.slice(0, 3)) },
    1,
  ]);
  if (parts.length >= 4) {
    pool.push([
      {
        text: `Explain step by step how ${topic} develops, how it is recognised and why its treatment is chosen.`,
        facts: facts(parts.slice(0, 5)),
      },
      1,
    ]);
  }
  const flawed = [
    'According to the text, what did the patient experience?',
    'What about this one?',
    `${topic} information`,
  ];
  pool.push([{ text: rng.pick(flawed), facts: facts(parts.slice(0, 1)) }, 1.5]);
  const out: Candidate[] = [];
  while (out.length < 2) {
    const total = pool.reduce((s, [, w]) => s + w, 0);
    let u = rng.random() * total;
    const i = Math.max(
      0,
      pool.findIndex(([, w]) => (u -= w) < 0),
    );
    out.push(pool.splice(i, 1)[0][0]);
  }
  return [out[0], out[1]];
}

/**
 * Two extractive answers to a corpus instruction: the evidence sentences the instruction was
 * built from, and the document's opening sentences. The reward model decides which serves the
 * question better.
 */
export function corpusAnswers(doc: SourceDoc, facts: InstructionFacts): [string, string] {
  const lead = sentences(doc.text).slice(0, 2).join(' ');
  const evidence = (facts.evidence ?? []).join(' ');
  return [evidence || lead, lead];
}

/** A long answer to a complex corpus instruction, reasoning over its evidence sentences. */
export function corpusLongAnswer(question: string, facts: InstructionFacts): string {
  const evidence = facts.evidence ?? [];
  return [
    '## Thought',
    `1. The question: ${question}`,
    '2. What the source says:',
    ...evidence.map((s) => `- ${s}`),
    `3. Putting these together answers each part of the question about ${facts.topic}.`,
    '',
    '## Summarization',
    evidence.join(' '),
  ].join('\n');
}
