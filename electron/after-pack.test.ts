import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import afterPack, { foreignRuntimeDirs, type PackContext } from './after-pack.ts';

// onnxruntime-node 1.30's folders.
const PRESENT = ['darwin/arm64', 'linux/arm64', 'linux/x64', 'win32/arm64', 'win32/x64'];

describe('foreignRuntimeDirs(present, platform, arch)', () => {
  it('keeps only the target platform and architecture', () => {
    const kept = (platform: string, arch: string) =>
      PRESENT.filter((d) => !foreignRuntimeDirs(PRESENT, platform, arch).includes(d));
    expect(kept('linux', 'x64')).toEqual(['linux/x64']);
    expect(kept('linux', 'arm64')).toEqual(['linux/arm64']);
    expect(kept('win32', 'x64')).toEqual(['win32/x64']);
    expect(kept('darwin', 'arm64')).toEqual(['darwin/arm64']);
    expect(kept('mas', 'arm64')).toEqual(['darwin/arm64']);
    expect(kept('darwin', 'universal')).toEqual(['darwin/arm64']);
    expect(kept('linux', 'ia32')).toEqual([]);
  });
});

function packed(platform: string, arch: number): { context: PackContext; bin: string } {
  const appOutDir = mkdtempSync(join(tmpdir(), 'finemed-after-pack-'));
  const app =
    platform === 'darwin'
      ? join(appOutDir, 'FineMed Workbench.app', 'Contents', 'Resources', 'app')
      : join(appOutDir, 'resources', 'app');
  const bin = join(app, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
  for (const dir of PRESENT) {
    mkdirSync(join(bin, dir), { recursive: true });
    writeFileSync(join(bin, dir, 'onnxruntime_binding.node'), '');
  }
  const context = {
    appOutDir,
    electronPlatformName: platform,
    arch,
    packager: { appInfo: { productFilename: 'FineMed Workbench' } },
  };
  return { context, bin };
}

describe('afterPack(context)', () => {
  it('removes the other platforms and architectures from the packed app', async () => {
    const linux = packed('linux', 1);
    await afterPack(linux.context);
    expect(readdirSync(linux.bin)).toEqual(['linux']);
    expect(readdirSync(join(linux.bin, 'linux'))).toEqual(['x64']);
    const mac = packed('darwin', 3);
    await afterPack(mac.context);
    expect(readdirSync(mac.bin)).toEqual(['darwin']);
  });

  it('refuses a target onnxruntime-node has no libraries for, naming it', async () => {
    const { context } = packed('linux', 0);
    await expect(afterPack(context)).rejects.toThrow(
      /no linux\/ia32 libraries \(darwin\/arm64, linux\/arm64/,
    );
  });
});
