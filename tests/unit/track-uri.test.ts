import { describe, expect, it } from 'vitest';
import { redactCredentials, splitCredentials, trackingUriProblem } from '../../runner/track/uri.ts';
import { MlflowClient, normalizeTrackingUri } from '../../runner/track/mlflow-client.ts';
import { checkSemantics } from '../../runner/config/index.ts';
import { quickstartPlan } from '../helpers/track-fixtures.ts';

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
});
