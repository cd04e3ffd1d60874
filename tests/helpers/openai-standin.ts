/**
 * A loopback OpenAI-compatible server (node:http on 127.0.0.1, port 0) for driving the real
 * `openai` SDK in tests: records every request, tracks requests in flight, and lets a test
 * script each answer (status, headers, delay, or never answering).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandinRequest {
  n: number; // arrival order, from 0
  key: string; // sha256 of the image data URL (or of the text, for text-only requests)
  prompt: string;
  model: string;
  authorization: string | undefined;
  receivedAt: number; // ms (performance.now())
  status?: number; // what was answered
  answeredAt?: number;
}

export type StandinReply =
  /** raw: the response body sent as is (e.g. invalid JSON), instead of a JSON-encoded `body`. */
  | { status?: number; headers?: Record<string, string>; body?: unknown; delayMs?: number; text?: string; raw?: string }
  | 'hang';

export interface Standin {
  /** Base URL to give the SDK (ends in /v1). */
  url: string;
  requests: StandinRequest[];
  inFlight: number;
  maxInFlight: number;
  /** Decides each answer; default: 200 with a description derived from the key. */
  reply: (req: StandinRequest) => StandinReply | Promise<StandinReply>;
  /** Keys answered 200. */
  answered(): string[];
  close(): Promise<void>;
}

export const USAGE = { prompt_tokens: 120, completion_tokens: 30 };

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startOpenaiStandin(reply?: Standin['reply']): Promise<Standin> {
  const hanging = new Set<ServerResponse>();
  const standin: Standin = {
    url: '',
    requests: [],
    inFlight: 0,
    maxInFlight: 0,
    reply: reply ?? (() => ({})),
    answered: () => standin.requests.filter((r) => r.status === 200).map((r) => r.key),
    close: async () => {
      for (const res of hanging) res.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // idle keep-alive sockets would hold close() for seconds
      await closed;
    },
  };
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
      return;
    }
    standin.inFlight++;
    standin.maxInFlight = Math.max(standin.maxInFlight, standin.inFlight);
    let counted = true;
    const leave = () => {
      if (counted) standin.inFlight--;
      counted = false;
    };
    res.on('close', leave);
    const body = JSON.parse(await readBody(req)) as { model: string; messages: { content: string | { type: string; text?: string; image_url?: { url: string } }[] }[] };
    const content = body.messages[0].content;
    const parts = typeof content === 'string' ? [{ type: 'text', text: content }] : content;
    const prompt = parts.filter((p) => p.type === 'text').map((p) => p.text).join('\n');
    const image = parts.find((p) => p.type === 'image_url')?.image_url?.url;
    const record: StandinRequest = {
      n: standin.requests.length,
      key: createHash('sha256').update(image ?? prompt).digest('hex'),
      prompt,
      model: body.model,
      authorization: req.headers.authorization,
      receivedAt: performance.now(),
    };
    standin.requests.push(record);
    const r = await standin.reply(record);
    if (r === 'hang') {
      hanging.add(res);
      return;
    }
    if (r.delayMs) await new Promise((resolve) => setTimeout(resolve, r.delayMs));
    const status = r.status ?? 200;
    const payload =
      r.body ??
      (status === 200
        ? {
            id: `chatcmpl-${record.n}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: body.model,
            choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: r.text ?? `A test description of image ${record.key.slice(0, 12)}.` } }],
            usage: { ...USAGE, total_tokens: USAGE.prompt_tokens + USAGE.completion_tokens },
          }
        : { error: { message: `stand-in error ${status}`, type: 'test' } });
    record.status = status;
    record.answeredAt = performance.now();
    leave();
    res.writeHead(status, { 'content-type': 'application/json', ...(r.headers ?? {}) }).end(r.raw ?? JSON.stringify(payload));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  standin.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return standin;
}
