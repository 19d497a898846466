import type { EmulatorReply } from './http.ts';

/**
 * How long Graph takes to answer: a fixed part per request plus a part per object in the answer, so a
 * page of 999 users costs more than a page of 200, as it does in Graph (serialising and sending a page
 * grows with it). A `$batch` answer counts the objects of every item in it.
 */
export function latencyOf(reply: EmulatorReply, settings: { latencyMs: number; latencyPerItemMs: number }): number {
  return settings.latencyMs + settings.latencyPerItemMs * objectsIn(reply.body);
}

function objectsIn(body: unknown): number {
  if (typeof body !== 'object' || body === null) return 0;
  const { value, responses } = body as { value?: unknown; responses?: unknown };
  if (Array.isArray(value)) return value.length;
  if (Array.isArray(responses)) return responses.reduce((sum: number, item) => sum + objectsIn(item?.body), 0);
  return 0;
}
