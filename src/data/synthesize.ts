import { ProgressTracker, type ProgressSink } from '../core/progress.ts';
import { Rng } from '../core/rng.ts';
import { checkContamination, type ContaminationReport } from './contamination.ts';
import { readCorpus, type CorpusOptions } from './corpus.ts';
import { buildEvalSet, evalPrompt } from './evalset.ts';
import { DEFAULT_KNOWLEDGE_DIR, loadKnowledgeBase, type KnowledgeBase } from './knowledge.ts';
import { buildLexicon } from './lexicon.ts';
import { createLlmBackend } from './llm/backend.ts';
import { OfflineBackend } from './offline.ts';
import { loadPhrasings, paraphrasedRows, trainingTexts } from './paraphrase.ts';
import { planPassages, writePassage } from './passages.ts';
import { checkSynthesisAbort, runPipeline, type SynthesisBackend } from './pipeline.ts';
import {
  resolveKnobs,
  type SynthesisKnobs,
  type SynthesisOptions,
  type PresetName,
} from './presets.ts';
import { buildReport, departmentSubsets, type SynthesisReport } from './report.ts';
import { dpoRows, mcqRows, pretrainRows, sftRows } from './rows.ts';
import type { DpoRow, McqRow, PretrainRow, SftRow } from './schemas.ts';
import type { SourceDoc } from './types.ts';
import { allocate, buildWorld, frequencyTiers } from './world.ts';

/** Everything a synthesis run produced. */
export interface SynthesisResult {
  /** The knobs the run used. */
  knobs: SynthesisKnobs & { preset: PresetName };
  /** `pretrain.jsonl` rows. */
  pretrain: PretrainRow[];
  /** `sft_common.jsonl` rows. */
  sftCommon: SftRow[];
  /** `sft_complex.jsonl` rows. */
  sftComplex: SftRow[];
  /** `sft_department.jsonl` rows: common and complex rows of one department (the paper's curriculum stage). */
  sftDepartment: SftRow[];
  /** `sft_subdepartment.jsonl` rows: those of one sub-department. */
  sftSubdepartment: SftRow[];
  /** `dpo.jsonl` rows. */
  dpo: DpoRow[];
  /** `eval_mcq.jsonl` rows. */
  evalMcq: McqRow[];
  /** `eval_mcq_paraphrased.jsonl` rows: `evalMcq` with every feature in evaluation-only words. */
  evalMcqParaphrased: McqRow[];
  /** `synthesis_report.json`. */
  report: SynthesisReport;
}

/** Hooks of a long synthesis run. */
export interface SynthesisHooks {
  /** Stops the run (it throws a CancelledError). */
  signal?: AbortSignal;
  /** Receives progress events (`synth:passages`, `synth:pipeline`, `synth:contamination`). */
  onProgress?: ProgressSink;
  /** Told about the corpus lines skipped under the corpus's `skipBadRows`. */
  onSkipped?: CorpusOptions['onSkipped'];
}

/** Thrown when an evaluation item leaks into training; carries the result for inspection. */
export class ContaminationError extends Error {
  override name = 'ContaminationError';
  constructor(readonly result: SynthesisResult) {
    const { leaks, threshold } = result.report.contamination;
    super(
      `${leaks.length} evaluation item(s) leak into training (13-gram overlap >= ${threshold}): ${leaks
        .slice(0, 5)
        .map((l) => `${l.id} (${(l.ratio * 100).toFixed(0)}%)`)
        .join(', ')}`,
    );
  }
}

/**
 * The FineMedLM-o1 data pipeline: builds a world of conditions with long-tailed frequencies,
 * reserves a held-out evaluation set, writes textbook passages (plus a user's corpus), runs
 * the paper's stages through the offline or the LLM synthesizer, labels departments, and
 * checks that no evaluation item leaks into training. Same options and seed -> same rows.
 */
export async function synthesize(
  options: SynthesisOptions = {},
  hooks: SynthesisHooks = {},
): Promise<SynthesisResult> {
  const knobs = resolveKnobs(options);
  const root = new Rng(knobs.seed);
  const kb: KnowledgeBase = loadKnowledgeBase(options.knowledgeDir ?? DEFAULT_KNOWLEDGE_DIR);
  const lex = buildLexicon(kb);
  const world = buildWorld(kb, knobs.conditions, knobs.rarity, root.fork('world'));
  const { items: evalItems, heldOut } = buildEvalSet(kb, world, knobs.evalItems, root.fork('eval'));
  checkSynthesisAbort(hooks.signal);

  const docs: SourceDoc[] = [];
  if (!options.corpus?.only) {
    const counts = allocate(world.weight, knobs.passages, knobs.minPassagesPerCondition);
    const plan = planPassages(counts, root.fork('plan'));
    const tracker = new ProgressTracker('synth:passages', plan.length);
    const passageRng = root.fork('passages');
    plan.forEach(({ conditionId, kind }, i) => {
      const id = `kb-${String(i + 1).padStart(6, '0')}`;
      const doc = writePassage(
        kb.byId.get(conditionId)!,
        kind,
        kb,
        world,
        heldOut,
        passageRng.fork(id),
      );
      docs.push({ id, ...doc });
      if ((i + 1) % 200 === 0 || i + 1 === plan.length)
        hooks.onProgress?.(tracker.event(i + 1, 200));
    });
  }
  if (options.corpus)
    docs.push(
      ...(await readCorpus(options.corpus.path, { ...options.corpus, onSkipped: hooks.onSkipped })),
    );
  checkSynthesisAbort(hooks.signal);

  const backendRng = root.fork('backend');
  const llm = options.llm
    ? createLlmBackend(options.llm, {
        kb,
        taxonomy: kb.taxonomy,
        signal: hooks.signal,
        onProgress: hooks.onProgress,
      })
    : undefined;
  const backend: SynthesisBackend =
    llm ??
    new OfflineBackend({
      kb,
      world,
      heldOut,
      lex,
      rng: backendRng,
      anchorFraction: knobs.anchorFraction,
    });
  const out = await runPipeline(docs, backend, {
    rng: backendRng,
    concurrency: options.llm
      ? Math.max(knobs.concurrency, 4 * (options.llm.concurrency ?? 4))
      : knobs.concurrency,
    signal: hooks.signal,
    onProgress: llm?.onProgress ?? hooks.onProgress,
  });

  const generator = backend.generator;
  const pretrain = pretrainRows(docs, knobs.seed);
  const { common: sftCommon, complex: sftComplex } = sftRows(
    out.common,
    out.complex,
    generator,
    knobs.seed,
  );
  const dpo = dpoRows(out.complex, generator, knobs.seed);
  const trainCount = new Map<string, number>(world.conditions.map((c) => [c.id, 0]));
  for (const row of [...pretrain, ...sftCommon, ...sftComplex, ...dpo]) {
    if (row.condition_id && trainCount.has(row.condition_id))
      trainCount.set(row.condition_id, trainCount.get(row.condition_id)! + 1);
  }
  const evalMcq = mcqRows(evalItems, kb, trainCount, frequencyTiers(trainCount), knobs.seed);
  const subsets = departmentSubsets(
    [...sftCommon, ...sftComplex],
    kb.taxonomy,
    knobs.department,
    knobs.subdepartment,
  );
  checkSynthesisAbort(hooks.signal);

  const contamination = contaminationOf(
    { pretrain, sftCommon, sftComplex, dpo, evalMcq },
    knobs.leakThreshold,
    hooks,
  );
  // Its own stream, so the paraphrases never shift a draw of the files above.
  const paraphrased = paraphrasedRows(
    evalItems,
    evalMcq,
    loadPhrasings(),
    trainingTexts({ pretrain, sftCommon, sftComplex, dpo }),
    root.fork('paraphrase'),
    knobs.leakThreshold,
  );
  const report = buildReport({
    knobs,
    kb,
    world,
    docs,
    out,
    backend,
    evalMcq,
    pretrain,
    sftCommon,
    sftComplex,
    dpo,
    subsets,
    trainCount,
    contamination,
    paraphrase: paraphrased.report,
    corpus: options.corpus,
  });
  const result: SynthesisResult = {
    knobs,
    pretrain,
    sftCommon,
    sftComplex,
    sftDepartment: subsets.department.rows,
    sftSubdepartment: subsets.subdepartment.rows,
    dpo,
    evalMcq,
    evalMcqParaphrased: paraphrased.rows,
    report,
  };
  if (!contamination.passed && options.failOnLeak !== false) throw new ContaminationError(result);
  return result;
}

/** The contamination check of a run's rows: every training text against every evaluation question. */
export function contaminationOf(
  rows: Pick<SynthesisResult, 'pretrain' | 'sftCommon' | 'sftComplex' | 'dpo' | 'evalMcq'>,
  threshold: number,
  hooks: SynthesisHooks = {},
): ContaminationReport {
  const train = trainingTexts(rows);
  const tracker = new ProgressTracker('synth:contamination', 1);
  const { report } = checkContamination(
    train,
    rows.evalMcq.map((r) => ({ id: r.id, text: evalPrompt(r) })),
    { threshold },
  );
  hooks.onProgress?.(tracker.event(1, rows.evalMcq.length));
  return report;
}
