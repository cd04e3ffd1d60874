// Checks, before any run is launched, that the backend an experiment names can start here, so a
// missing native TensorFlow is one clear error from `mmrun validate`/`mmrun run` instead of a
// failure at the start of every worker. Light on purpose: resolves packages, loads nothing.
import { createRequire } from 'node:module';
import { MmrunError } from '../../errors.ts';

const PACKAGES: Record<string, string> = { 'tensorflow-gpu': '@tensorflow/tfjs-node-gpu', tensorflow: '@tensorflow/tfjs-node' };

/** Whether `pkg` can be resolved from mmrun's own folder (a parameter for tests). */
export type Resolver = (pkg: string) => boolean;

const defaultResolver: Resolver = (pkg) => {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

/**
 * Throws an MmrunError naming the file, `model.backend` and the package to install when a run of
 * the sweep asks for a native TensorFlow backend that is not installed. `auto`, `wasm` and `cpu`
 * need nothing beyond mmrun's own dependencies.
 */
export function checkBackendsInstalled(file: string, backends: Iterable<string>, resolves: Resolver = defaultResolver): void {
  for (const backend of new Set(backends)) {
    const pkg = PACKAGES[backend];
    if (!pkg || resolves(pkg)) continue;
    throw new MmrunError(
      `${file}: model.backend is '${backend}', but ${pkg} is not installed.`,
      `Install it with \`npm install ${pkg}\` (its install downloads libtensorflow, so it needs internet${backend === 'tensorflow-gpu' ? ', and CUDA on the machine' : ''}), or use backend: auto (native TensorFlow when it works, else mmrun's CPU kernels) or wasm.`,
    );
  }
}
