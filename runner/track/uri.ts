// Tracking URIs, pure: what mmrun can use, and how to show one without its credentials.
// runner/config calls trackingUriProblem() so that `validate` rejects what sync could not use.

/** Why mmrun cannot sync to `uri`, or undefined when it can (an http(s) URL with a host). */
export function trackingUriProblem(uri: string): string | undefined {
  const shown = redactUri(uri.trim());
  if (!/^https?:\/\//i.test(uri.trim())) {
    return `'${shown}' is not an http(s) URL: mmrun sends runs to an MLflow server over its REST API (file:, sqlite: and databricks URIs are not supported); start one (\`mmrun ui\` or \`mlflow server\`) and use e.g. http://127.0.0.1:5000`;
  }
  let url: URL;
  try {
    url = new URL(uri.trim());
  } catch {
    return `'${shown}' is not a valid URL`;
  }
  if (!url.hostname) return `'${shown}' has no host`;
  return undefined;
}

/** The URI with any password replaced by *** (user names are kept: they help tell servers apart). */
export function redactUri(uri: string): string {
  return redactCredentials(uri);
}

/** Every `scheme://user:password@` in a text, with the password replaced by ***. */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s/:@'"]*):([^\s/@'"]*)@/gi, (_, scheme: string, user: string) => `${scheme}${user}:***@`);
}

/** Splits `http://user:pass@host/…` into the URI without credentials and a Basic auth header. */
export function splitCredentials(uri: string): { uri: string; authorization?: string } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return { uri };
  }
  if (!url.username && !url.password) return { uri };
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  return { uri: url.toString().replace(/\/+$/, ''), authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
}
