/**
 * The engine: build ONNX graphs from TypeScript, differentiate them, run them in ONNX Runtime.
 *
 * ```ts
 * import { Graph, ParamSet, Session, OrtTensorClass, declareLinear, linear, relu, crossEntropy } from '../engine/index.ts';
 * import { Rng } from '../core/rng.ts';
 *
 * const g = new Graph();
 * const x = g.input('x', 'float32', ['B', 16]);          // symbolic batch
 * const labels = g.input('labels', 'int64', ['B']);
 * const fc = declareLinear(g, 'fc', 16, 4, { bias: true }); // params `fc.weight` [4,16], `fc.bias` [4]
 * const logits = linear(relu(x), fc);
 * g.output(logits, 'logits');
 * g.output(crossEntropy(logits, labels), 'loss');
 *
 * const params = ParamSet.fromGraph(g);                    // one flat float32 arena
 * params.fillNormal('fc.weight', new Rng(1), 0.02);
 * const session = await Session.create(g, { threads: 2 }); // compiled once per graph signature
 * const out = await session.run(
 *   { x: new OrtTensorClass('float32', xData, [8, 16]), labels: new OrtTensorClass('int64', ys, [8]), ...params.feeds() },
 *   ['loss'],                                               // fetch only what you need
 * );
 * ```
 * For training, `buildTrainingStep` appends the backward pass (`gradients`) and returns a
 * step whose gradients land in a ParamSet-shaped arena that `AdamW`/`SGD` consume.
 *
 * Frozen weights (inference graphs, the base model under LoRA) live in the session instead of
 * crossing every run: `g.param(name, shape, { frozen: true })`, then
 * `Session.create(g, { weights: params })` (a `TrainingStep` takes them from its ParamSet).
 * The session copies them at creation; see `weights.ts` for the contract.
 */
export { broadcastShapes, formatShape, isStatic, type Dim, type Shape } from './dims.ts';
export {
  defineGradient,
  Graph,
  isFloat,
  OPSET,
  Tensor,
  type CustomGradient,
  type DType,
  type GraphOptions,
  type Node,
  type ParamDecl,
  type ParamOptions,
} from './graph.ts';
export * from './ops-math.ts';
export * from './ops-shape.ts';
export * from './ops-index.ts';
export * from './ops-nn.ts';
export * from './ops-lm-head.ts';
export * from './nn.ts';
export { gradients, type GradientOptions } from './autodiff.ts';
export { checkpoint } from './checkpoint.ts';
export { toOnnxBytes } from './serialize.ts';
export {
  cachedSessionCount,
  cudaInstalled,
  CudaUnavailableError,
  EXECUTION_PROVIDERS,
  modelBytes,
  OrtTensorClass,
  ProviderUnavailableError,
  providerFromEnv,
  Session,
  WebGpuUnavailableError,
  type ExecutionProvider,
  type OrtTensor,
  type SessionOptions,
} from './session.ts';
export { ParamSet, type ParamEntry, type ParamSpec } from './params.ts';
export {
  WEIGHTS_FILE_BYTES,
  type FrozenWeights,
  type WeightDType,
  type WeightLocation,
  type WeightsFile,
  type WeightsSource,
} from './weights.ts';
export { clipGradNorm, gradNorm, type Optimizer, type OptimizerState } from './optim.ts';
export { AdamW, type AdamWOptions } from './adamw.ts';
export { SGD, type SGDOptions } from './sgd.ts';
export {
  learningRate,
  warmupSteps,
  type ScheduleKind,
  type ScheduleOptions,
  type Warmup,
} from './schedule.ts';
export { gradName, TrainingStep, type StepResult, type TrainingStepOptions } from './train-step.ts';
export { buildGpt, gptParamCount, initGpt, type GptConfig, type GptGraph } from './gpt.ts';
