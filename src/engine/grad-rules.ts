import type { GradRule } from './grad-util.ts';
import { MATH_RULES } from './grad-rules-math.ts';
import { NN_RULES } from './grad-rules-nn.ts';
import { SHAPE_RULES } from './grad-rules-shape.ts';

/** Every primitive op's gradient rule, keyed by op type (`domain:op` outside the ONNX domain). */
export const GRAD_RULES: Readonly<Record<string, GradRule>> = {
  ...MATH_RULES,
  ...SHAPE_RULES,
  ...NN_RULES,
};
