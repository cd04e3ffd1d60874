// Artifact upload for sync: only what changed since the last upload, with its signature recorded.
import { ArtifactProxyUnavailableError, MlflowError } from './mlflow-client.ts';
import type { ArtifactSource } from './sync-artifacts.ts';
import type { SyncSession } from './sync-session.ts';
import { hashOf } from './sync-state.ts';

/** Uploads the artifacts whose signature changed; a server without artifact proxy is reported once. */
export async function uploadChanged(
  session: SyncSession,
  artifactUri: string,
  sources: ArtifactSource[],
  sent: Record<string, string>,
  save: () => void,
  problems: string[],
): Promise<string[]> {
  const uploaded: string[] = [];
  if (session.artifactsUnavailable) return uploaded;
  for (const src of sources) {
    let body: Buffer | undefined;
    const sig = src.signature ? src.signature() : hashOf((body = src.read()));
    if (sent[src.path] === sig) continue;
    try {
      await session.client.uploadArtifact(artifactUri, src.path, body ?? src.read());
    } catch (err) {
      if (err instanceof ArtifactProxyUnavailableError) {
        session.artifactsUnavailable = err.message;
        problems.push(`${err.message} ${err.hint ?? ''}`.trim());
        return uploaded;
      }
      if (err instanceof MlflowError) {
        problems.push(`artifact ${src.path}: ${err.message}`);
        continue;
      }
      throw err;
    }
    sent[src.path] = sig;
    uploaded.push(src.path);
    save();
  }
  return uploaded;
}
