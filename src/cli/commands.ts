import type { Command } from './command.ts';
import { artifactsCommand } from './artifacts.ts';
import { benchEvalCommand } from './bench-eval.ts';
import { benchKernelCommand } from './bench-kernel.ts';
import { benchModelCommand } from './bench-model.ts';
import { benchGenerateCommand } from './bench-generate.ts';
import { benchTrainCommand } from './bench.ts';
import { benchTttCommand } from './bench-ttt.ts';
import { installCudaCommand } from './install-cuda.ts';
import { compareCommand } from './compare.ts';
import { demoCommand } from './demo.ts';
import { evalCommand } from './eval.ts';
import { exportTrlCommand } from './export.ts';
import { generateCommand } from './generate.ts';
import { importCommand } from './import.ts';
import { initModelCommand } from './init-model.ts';
import { logitsCommand } from './logits.ts';
import { runCommand } from './run.ts';
import { serveCommand } from './serve.ts';
import { serveModelCommand } from './serve-model.ts';
import { synthCommand } from './synth.ts';
import { trainDpoCommand } from './train-dpo.ts';
import { trainSftCommand } from './train-sft.ts';
import { tttCommand } from './ttt.ts';
import { verifyCommand } from './verify.ts';

/** Every `finemed` command, in the order `finemed --help` lists them. */
export const commands: Command[] = [
  demoCommand,
  artifactsCommand,
  compareCommand,
  evalCommand,
  benchEvalCommand,
  benchKernelCommand,
  benchTrainCommand,
  benchGenerateCommand,
  benchTttCommand,
  benchModelCommand,
  installCudaCommand,
  serveCommand,
  runCommand,
  verifyCommand,
  initModelCommand,
  importCommand,
  logitsCommand,
  generateCommand,
  serveModelCommand,
  synthCommand,
  trainSftCommand,
  trainDpoCommand,
  exportTrlCommand,
  tttCommand,
];
