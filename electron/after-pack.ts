// electron-builder's afterPack hook (built to out/electron/after-pack.cjs by build.ts): drops the
// native ONNX Runtime libraries the packaged app cannot load on its target.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** electron-builder's `Arch` enum, by value. */
const ARCH_NAMES = ['ia32', 'x64', 'armv7l', 'arm64', 'universal'];

/** The part of electron-builder's AfterPackContext this hook reads. */
export interface PackContext {
  /** The unpacked app folder (for macOS, the folder holding `<product>.app`). */
  appOutDir: string;
  /** `darwin`, `mas`, `linux` or `win32`. */
  electronPlatformName: string;
  /** An `Arch` enum value. */
  arch: number;
  packager: { appInfo: { productFilename: string } };
}

/**
 * The `<platform>/<arch>` folders of `onnxruntime-node/bin/napi-v6` that a build for
 * `platform` and `arch` never loads. A universal macOS build keeps every macOS folder.
 */
export function foreignRuntimeDirs(present: readonly string[], platform: string, arch: string) {
  const os = platform === 'mas' ? 'darwin' : platform;
  return present.filter((dir) => {
    const [dirOs, dirArch] = dir.split('/');
    return dirOs !== os || (arch !== 'universal' && dirArch !== arch);
  });
}

/** Where the app's files land inside the packed output. */
export function packedAppDir(context: PackContext): string {
  const darwin =
    context.electronPlatformName === 'darwin' || context.electronPlatformName === 'mas';
  return darwin
    ? join(
        context.appOutDir,
        `${context.packager.appInfo.productFilename}.app`,
        'Contents',
        'Resources',
        'app',
      )
    : join(context.appOutDir, 'resources', 'app');
}

export default async function afterPack(context: PackContext): Promise<void> {
  const arch = ARCH_NAMES[context.arch];
  if (!arch) throw new Error(`after-pack: unknown electron-builder arch ${context.arch}`);
  const bin = join(packedAppDir(context), 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
  const present: string[] = [];
  for (const os of await readdir(bin)) {
    for (const a of await readdir(join(bin, os))) present.push(`${os}/${a}`);
  }
  const foreign = foreignRuntimeDirs(present, context.electronPlatformName, arch);
  if (foreign.length === present.length) {
    throw new Error(
      `after-pack: onnxruntime-node has no ${context.electronPlatformName}/${arch} libraries (${present.join(', ')})`,
    );
  }
  for (const dir of foreign) await rm(join(bin, dir), { recursive: true, force: true });
  for (const os of await readdir(bin)) {
    if ((await readdir(join(bin, os))).length === 0) await rm(join(bin, os), { recursive: true });
  }
}
