// Headless Debian Chromium through playwright-core, with a fresh profile that is removed on close.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** True when Chromium is installed; otherwise throws how to install it (or returns false when allowed to skip). */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.MMRUN_ALLOW_MISSING_SERVICES === '1') return false;
  throw new Error(`Chromium is not installed at ${CHROMIUM}: run \`bash scripts/setup-test-env.sh\` (apt-get install chromium), or set MMRUN_ALLOW_MISSING_SERVICES=1 to skip.`);
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(opts: { width?: number; height?: number } = {}): Promise<Browser> {
  chromiumAvailable();
  const profile = mkdtempSync(join(tmpdir(), 'mmrun-chromium-'));
  // launchPersistentContext passes the profile as --user-data-dir (launch() refuses that flag).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: opts.width ?? 1400, height: opts.height ?? 900 },
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
