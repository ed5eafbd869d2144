import { describe, expect, it } from 'vitest';
import { baselineProblem, expectedOpenblasCore, type TorchRound } from './bench-train.ts';

const round = (blas: Partial<TorchRound['blas']>, threads = 2): TorchRound => ({
  torch: '1.13',
  threads,
  blas: {
    libraries: ['/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so'],
    corename: expectedOpenblasCore(),
    threads,
    config: null,
    ...blas,
  },
  tokensPerSec: 1,
  stepMs: 1,
  forwardBackwardMs: 1,
  optimizerMs: 0,
  cpuMs: 1,
  loss: 8,
  peakRssMb: 1,
});

describe('bench train baseline checks', () => {
  it('baselineProblem(round, threads) accepts OpenBLAS with the expected kernels and thread count', () => {
    expect(baselineProblem(round({}), 2)).toBeUndefined();
  });

  it('baselineProblem refuses reference BLAS, wrong kernels and a different thread count', () => {
    expect(
      baselineProblem(round({ libraries: ['/usr/lib/x86_64-linux-gnu/blas/libblas.so.3'] }), 2),
    ).toMatch(/not using OpenBLAS/);
    expect(baselineProblem(round({ corename: 'Prescott' }), 2)).toMatch(/runs 'Prescott' kernels/);
    expect(baselineProblem(round({}, 1), 2)).toMatch(/1 threads, expected 2/);
  });
});
