// A loopback OpenAI-compatible chat server for tests that go through the real `openai` SDK:
// POST /v1/chat/completions answers with whatever `reply` returns for the request's user text.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StandinReply = string | { status: number; body?: unknown; headers?: Record<string, string> };

export interface ChatStandin {
  baseURL: string; // http://127.0.0.1:<port>/v1
  /** Requests received, in arrival order (the user message text of each). */
  requests: { prompt: string; model: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (data += c));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function userText(messages: { role: string; content: unknown }[]): string {
  const last = [...messages].reverse().find((m) => m.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  return (last.content as { type: string; text?: string }[]).filter((p) => p.type === 'text').map((p) => p.text).join('\n');
}

export async function startChatStandin(reply: (prompt: string, index: number) => StandinReply | Promise<StandinReply>): Promise<ChatStandin> {
  const requests: ChatStandin['requests'] = [];
  const server: Server = createServer(async (req, res) => {
    try {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      const body = JSON.parse(await readBody(req)) as { model: string; messages: { role: string; content: unknown }[] };
      const prompt = userText(body.messages);
      const index = requests.length;
      requests.push({ prompt, model: body.model, authorization: req.headers.authorization });
      const out = await reply(prompt, index);
      if (typeof out !== 'string') {
        res.writeHead(out.status, { 'content-type': 'application/json', ...(out.headers ?? {}) });
        res.end(JSON.stringify(out.body ?? { error: { message: `stand-in status ${out.status}` } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `chatcmpl-${index}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body.model,
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: out } }],
          usage: { prompt_tokens: Math.ceil(prompt.length / 4), completion_tokens: Math.ceil(out.length / 4), total_tokens: 0 },
        }),
      );
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(err) } }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
