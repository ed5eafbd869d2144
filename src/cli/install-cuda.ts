import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { cudaInstalled } from '../engine/session.ts';
import { boolFlag } from './command.ts';
import type { Command } from './command.ts';
import { switchFlag } from './flags.ts';

const EXPLANATION = [
  'onnxruntime-node ships CPU kernels only; its CUDA execution provider libraries',
  '(libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so, a few hundred MB)',
  "are downloaded from Microsoft's NuGet feed by the package's own install script. This runs",
  'that script with --onnxruntime-node-install=cuda12. Afterwards sessions created with',
  "provider 'cuda' run on the GPU. Needs network access,",
  'an NVIDIA driver, the CUDA 12 runtime and cuDNN 9 on the library path.',
].join('\n');

/**
 * The environment for onnxruntime-node's install script. Without npm's variables: under
 * `npx`, `npm_package_json` and `npm_config_local_prefix` make the script take itself for a
 * local `npm ci` and exit 0 without downloading (onnxruntime-node 1.30 also drops the
 * `cuda12` value of its flag, so the flag cannot override that), and `.ci/run` exports
 * `npm_config_onnxruntime_node_install=skip`.
 */
export function cudaInstallEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('npm_')));
  return { ...clean, ONNXRUNTIME_NODE_INSTALL: 'cuda12' };
}

/** `finemed install-cuda`: fetches onnxruntime-node's CUDA 12 execution provider. */
export const installCudaCommand: Command = {
  name: 'install-cuda',
  summary: "Download ONNX Runtime's CUDA execution provider (NVIDIA GPUs)",
  details: EXPLANATION,
  flags: {
    'dry-run': switchFlag('Explain and show the command without running it'),
  },
  async run(ctx) {
    const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const script = join(pkg, 'script', 'install.js');
    ctx.stderr.write(`${EXPLANATION}\n\n$ ONNXRUNTIME_NODE_INSTALL=cuda12 node ${script}\n`);
    if (boolFlag(ctx, 'dry-run')) return 0;
    const platform = `${process.platform}/${process.arch}`;
    const metadata = createRequire(import.meta.url)(join(pkg, 'script', 'install-metadata.js')) as {
      requirements: Record<string, string[] | undefined>;
    };
    if (!metadata.requirements[platform]?.includes('cuda12')) {
      ctx.stderr.write(
        `install-cuda: onnxruntime-node offers no CUDA 12 download for ${platform} (only for linux/x64).\n`,
      );
      return 1;
    }
    const env = cudaInstallEnv(process.env);
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, [script, '--onnxruntime-node-install=cuda12'], {
        cwd: pkg,
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
        signal: ctx.signal,
      });
      child.on('error', reject);
      child.on('close', (c) => resolve(c ?? 1));
    });
    if (code !== 0 || !cudaInstalled()) {
      ctx.stderr.write(
        `\ninstall-cuda failed (exit ${code}): the CUDA provider libraries could not be downloaded.\n` +
          'Check network access to api.nuget.org (set GLOBAL_AGENT_HTTPS_PROXY behind a proxy) and retry;\n' +
          'training keeps running on CPU meanwhile.\n',
      );
      return 1;
    }
    ctx.stderr.write('CUDA execution provider installed.\n');
    return 0;
  },
};
