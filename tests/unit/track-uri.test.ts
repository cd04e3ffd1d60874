import { describe, expect, it } from 'vitest';
import { redactCredentials, redactCredentialsInLine, splitCredentials, trackingUriProblem } from '../../runner/config/tracking-uri.ts';
import { MlflowClient, normalizeTrackingUri } from '../../runner/track/mlflow-client.ts';
import { checkSemantics } from '../../runner/config/index.ts';
import { quickstartPlan } from '../helpers/track-fixtures.ts';
import { runMmrun } from '../helpers/launch-sweep.ts';
import { tempFiles } from '../helpers/tmp.ts';

describe('tracking URIs', () => {
  it('accepts http(s) servers and rejects what sync cannot use, saying why', () => {
    expect(trackingUriProblem('http://127.0.0.1:5000')).toBeUndefined();
    expect(trackingUriProblem('https://mlflow.example.org/base')).toBeUndefined();
    expect(trackingUriProblem('file:///tmp/mlruns')).toMatch(/not an http\(s\) URL.*file:/);
    expect(trackingUriProblem('garbage')).toMatch(/'garbage' is not an http\(s\) URL/);
    expect(trackingUriProblem('databricks')).toMatch(/not an http\(s\) URL/);
    expect(trackingUriProblem('http://')).toMatch(/not a valid URL|no host/);
  });

  it('validate reports a bad tracking.uri at the field', () => {
    const config = structuredClone(quickstartPlan().runs[0].config);
    config.tracking.uri = 'file:///tmp/mlruns';
    const problems = checkSemantics(config);
    expect(problems).toEqual([expect.objectContaining({ path: ['tracking', 'uri'], message: expect.stringMatching(/not an http\(s\) URL/) })]);
    config.tracking.uri = 'http://127.0.0.1:5000';
    expect(checkSemantics(config)).toEqual([]);
  });

  it('never shows a password: in texts, in errors, in the client URI', () => {
    expect(redactCredentials('see http://bob:s3cret@host:5000/x and https://a:b@c')).toBe('see http://bob:***@host:5000/x and https://a:***@c');
    expect(redactCredentials('{"uri":"http://bob:s3cret@h"}')).toBe('{"uri":"http://bob:***@h"}');
    expect(() => normalizeTrackingUri('ftp://bob:s3cret@host')).toThrow(/ftp:\/\/bob:\*\*\*@host/);
    try {
      normalizeTrackingUri('ftp://bob:s3cret@host');
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('s3cret');
    }
    const client = new MlflowClient({ uri: 'http://bob:s3cret@127.0.0.1:5000/' });
    expect(client.uri).toBe('http://127.0.0.1:5000');
    expect(splitCredentials('http://bob:s3cret@127.0.0.1:5000').authorization).toBe(`Basic ${Buffer.from('bob:s3cret').toString('base64')}`);
  });

  it('masks passwords in a line of source and keeps a column on the same character', () => {
    const line = 'tracking: { uri: "http://bob:s3cretpw@host", bogus: 1, other: "https://a:pw@b" }';
    for (const target of ['tracking', 'http', 'bogus', 'other', 'b" }']) {
      const col = line.indexOf(target) + 1;
      const masked = redactCredentialsInLine(line, col);
      expect(masked.line).toBe(redactCredentials(line));
      expect(masked.line.slice(masked.col - 1, masked.col - 1 + target.length)).toBe(target);
    }
    // A column inside a password points at its mask.
    const inside = redactCredentialsInLine(line, line.indexOf('cretpw') + 1);
    expect(inside.line.slice(inside.col - 1)).toMatch(/^\*\*\*@host/);
  });

  it('validate shows no password: not in the message, not in the code frame (caret where it was)', async () => {
    const t = tempFiles({
      'bad-uri.yaml': 'name: x\ntracking:\n  uri: "http://bob:s3cretpw@ ::garbage::"\n',
      'after.yaml': 'name: x\ntracking: { uri: "http://bob:s3cretpw@host", bogus: 1 }\n',
    });
    const r = await runMmrun(['validate', 'bad-uri.yaml', 'after.yaml'], { cwd: t.dir, env: { ...process.env, MLFLOW_TRACKING_URI: '' } });
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/bad-uri\.yaml:3:8: 'http:\/\/bob:\*\*\*@ ::garbage::' is not a valid URL/);
    expect(r.out).toContain('3 |   uri: "http://bob:***@ ::garbage::"');
    expect(r.out).toMatch(/after\.yaml:2:\d+: unknown key 'bogus'/);
    expect(r.out).not.toContain('s3cretpw');
    // The caret sits under 'bogus', after the shortened password.
    const lines = r.out.split('\n');
    const frame = lines.findIndex((l) => l.startsWith('2 | tracking: {'));
    expect(frame).toBeGreaterThan(-1);
    expect(lines[frame].slice(lines[frame + 1].indexOf('^'))).toMatch(/^bogus/);
  }, 120_000);
});
