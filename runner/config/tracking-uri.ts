// Tracking URIs, pure: what mmrun can use, and how to show one without its credentials.
// It lives in config (the lowest layer that needs it): `validate` rejects what sync could not use
// and masks passwords in code frames; runner/track uses the same functions to sync and to log.

/** `scheme://user:password@`: groups are the scheme with `://`, the user and the password. */
const CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^\s/:@'"]*):([^\s/@'"]*)@/gi;
const MASK = '***';

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
  return text.replace(CREDENTIALS, (_, scheme: string, user: string) => `${scheme}${user}:${MASK}@`);
}

/**
 * redactCredentials on one line of source, and where a 1-based `col` of the raw line is in the
 * masked one (so that a caret stays under the same character; inside a password: under its mask).
 */
export function redactCredentialsInLine(line: string, col: number): { line: string; col: number } {
  let shift = 0;
  let mapped: number | undefined;
  const masked = line.replace(CREDENTIALS, (whole: string, scheme: string, user: string, password: string, offset: number) => {
    const passwordStart = offset + scheme.length + user.length + 1; // 0-based, after the ':'
    const passwordEnd = passwordStart + password.length; // the '@'
    if (mapped === undefined && col - 1 >= passwordStart && col - 1 < passwordEnd) mapped = passwordStart - shift + 1;
    if (passwordEnd <= col - 1) shift += password.length - MASK.length;
    return `${scheme}${user}:${MASK}@`;
  });
  return { line: masked, col: mapped ?? col - shift };
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
