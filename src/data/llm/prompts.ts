import type { DepartmentTaxonomy } from '../departments.ts';
import type { ChatMessage } from './client.ts';

/**
 * The paper's stages as chat prompts, in our own words. Each prompt that expects JSON says
 * exactly which object to return, so replies can be checked and repaired.
 */

const SYSTEM: ChatMessage = {
  role: 'system',
  content: 'You are a careful medical educator who writes accurate, self-contained material.',
};

const user = (content: string): ChatMessage[] => [SYSTEM, { role: 'user', content }];

/** Stage 1: two different questions from one text. */
export function instructionsPrompt(text: string): ChatMessage[] {
  return user(
    [
      'Read the medical text below and write two different questions that a doctor in training could answer after studying it.',
      'Each question must be self-contained: do not refer to "the text", "the passage" or "the patient described".',
      'Prefer questions that need reasoning (diagnosis, distinguishing similar conditions, choosing treatment) over recall.',
      'Return only this JSON object: {"question1": "...", "question2": "..."}',
      '',
      'Text:',
      text,
    ].join('\n'),
  );
}

/** Stage 2: the paper's four scores for one question. */
export function scorePrompt(question: string): ChatMessage[] {
  return user(
    [
      'Evaluate the query below and return only a JSON object with four fields.',
      '1. quality (1-10): clarity and accuracy. 9-10 very clear with no ambiguity; 7-8 clear with minimal ambiguity; 5-6 fairly clear with some ambiguity; 3-4 vague; 1-2 very unclear, or a statement with no question or instruction.',
      '2. difficulty (1-10): knowledge and analysis needed to answer. 9-10 specialised knowledge and complex analysis; 7-8 some specialised knowledge; 5-6 general knowledge and some analysis; 3-4 basic knowledge; 1-2 no special knowledge.',
      '3. relevance_to_medicine (1-6): 5-6 entirely medical with many medical terms; 3-4 related to medicine; 1-2 weakly related.',
      '4. mention_specific_details ("True" or "False"): whether the query relies on specific case details from a source text the reader cannot see.',
      'Format: {"quality": 1-10, "difficulty": 1-10, "relevance_to_medicine": 1-6, "mention_specific_details": "True"/"False"}',
      '',
      'Query:',
      question,
    ].join('\n'),
  );
}

/** Stage 3: primary and secondary department of a question. */
export function classifyPrompt(question: string, taxonomy: DepartmentTaxonomy): ChatMessage[] {
  const lines = taxonomy.primary.map(
    (p) => `- ${p.name}: ${p.secondary.map((s) => s.name).join('; ')}`,
  );
  return user(
    [
      'Which hospital department would handle the medical question below? Choose one primary department and one of its secondary departments from this list (primary: secondary departments):',
      ...lines,
      'If no secondary department fits, use "None".',
      'Return only this JSON object: {"department": "<primary department>", "subdepartment": "<secondary department or None>"}',
      '',
      'Question:',
      question,
    ].join('\n'),
  );
}

/** Common instructions: a direct answer. */
export function directAnswerPrompt(question: string): ChatMessage[] {
  return user(
    `Answer the following medical question directly and concisely, in a few sentences.\n\nQuestion:\n${question}`,
  );
}

/** The judge that picks between two direct answers. */
export function judgePrompt(question: string, answer: string): ChatMessage[] {
  return user(
    [
      'Rate how well the answer responds to the medical question: correctness first, then completeness and clarity.',
      'Return only this JSON object: {"score": <integer 1-10>}',
      '',
      'Question:',
      question,
      '',
      'Answer:',
      answer,
    ].join('\n'),
  );
}

/** Complex instructions: long reasoning in the paper's two sections. */
export function longAnswerPrompt(question: string): ChatMessage[] {
  return user(
    [
      'Answer the medical question below by reasoning step by step, then summarising.',
      'Use exactly two sections with these headings:',
      '## Thought',
      '(the key findings, the candidate diagnoses or options, how each is ruled in or out by distinguishing features, and the conclusion)',
      '## Summarization',
      '(the final answer with the decisive reasons and first-line management where relevant)',
      '',
      'Question:',
      question,
    ].join('\n'),
  );
}

/** A follow-up asking for the requested JSON after an unparseable reply. */
export function repairMessages(
  messages: ChatMessage[],
  reply: string,
  what: string,
): ChatMessage[] {
  return [
    ...messages,
    { role: 'assistant', content: reply },
    {
      role: 'user',
      content: `That reply could not be read as ${what}. Reply again with only ${what}, nothing else.`,
    },
  ];
}
