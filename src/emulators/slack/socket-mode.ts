import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * Slack's Socket Mode ("Using Socket Mode", docs.slack.dev/apis/events-api/using-socket-mode):
 * `apps.connections.open`, called with the app-level token (`xapp-…`), hands out a single-use WebSocket URL;
 * on connecting the app gets `{"type":"hello"}`, then envelopes `{envelope_id, type, payload,
 * accepts_response_payload}` of type `slash_commands`, `interactive` or `events_api`, which it acknowledges
 * by sending `{envelope_id, payload?}` back. Slack sends `{"type":"disconnect","reason":"refresh_requested"}`
 * before recycling a connection, and the app opens a new one. Slack pings; the app answers.
 */

/** Slack waits 3 s for the acknowledgement of an envelope. */
const ACK_TIMEOUT_MS = 3_000;
const PING_EVERY_MS = 10_000;

export interface Envelope {
  type: 'slash_commands' | 'interactive' | 'events_api';
  payload: Record<string, unknown>;
}

export interface SocketModeHub {
  /** The app-level token `apps.connections.open` accepts. */
  appToken: string;
  /** What `apps.connections.open` answers: a fresh single-use URL. */
  open(): { ok: true; url: string };
  /** Connections open now. */
  connections(): number;
  /** Resolves when `count` connections are open (after a hello). */
  connected(count?: number, timeoutMs?: number): Promise<void>;
  /** Sends an envelope to one open connection and resolves with the app's acknowledgement payload. */
  deliver(envelope: Envelope): Promise<Record<string, unknown>>;
  /** Every open connection is told to go away (`refresh_requested`), as when Slack recycles a host. */
  disconnectAll(reason?: 'refresh_requested' | 'warning' | 'link_disabled'): void;
  /** Handles the HTTP upgrade of `/link/?ticket=…`; false when the path is not ours. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close(): void;
}

export function createSocketModeHub(options: { baseUrl: string; appId: string; appToken: string }): SocketModeHub {
  const server = new WebSocketServer({ noServer: true });
  const tickets = new Set<string>();
  const open = new Set<WebSocket>();
  const waiting = new Map<string, (payload: Record<string, unknown>) => void>();
  const watchers = new Set<() => void>();
  let next = 0;
  const wsBase = options.baseUrl.replace(/^http/, 'ws');

  const pinger = setInterval(() => {
    for (const socket of open) socket.ping();
  }, PING_EVERY_MS);
  pinger.unref();

  function accept(socket: WebSocket) {
    open.add(socket);
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      let message: { envelope_id?: unknown; payload?: unknown };
      try {
        message = JSON.parse(String(data)) as typeof message;
      } catch {
        return;
      }
      if (typeof message.envelope_id !== 'string') return;
      const resolve = waiting.get(message.envelope_id);
      waiting.delete(message.envelope_id);
      resolve?.((message.payload ?? {}) as Record<string, unknown>);
    });
    socket.on('close', () => {
      open.delete(socket);
    });
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: open.size,
        debug_info: { host: 'emulator-socket-mode', approximate_connection_time: 18060 },
        connection_info: { app_id: options.appId },
      }),
    );
    for (const watch of watchers) watch();
  }

  return {
    appToken: options.appToken,
    open() {
      const ticket = randomBytes(16).toString('hex');
      tickets.add(ticket);
      return { ok: true, url: `${wsBase}/link/?ticket=${ticket}&app_id=${options.appId}` };
    },
    connections: () => open.size,
    connected(count = 1, timeoutMs = 10_000) {
      if (open.size >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(watch);
          reject(new Error(`Socket Mode: ${open.size} of ${count} connections after ${timeoutMs} ms`));
        }, timeoutMs);
        const watch = () => {
          if (open.size < count) return;
          clearTimeout(timer);
          watchers.delete(watch);
          resolve();
        };
        watchers.add(watch);
      });
    },
    deliver(envelope) {
      const sockets = [...open];
      if (sockets.length === 0) return Promise.reject(new Error('Socket Mode: the app has no open connection'));
      const socket = sockets[next++ % sockets.length];
      const envelopeId = randomUUID();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(envelopeId);
          reject(new Error(`Socket Mode: no acknowledgement of ${envelope.type} ${envelopeId} within 3 s`));
        }, ACK_TIMEOUT_MS);
        waiting.set(envelopeId, (payload) => {
          clearTimeout(timer);
          resolve(payload);
        });
        socket.send(
          JSON.stringify({
            envelope_id: envelopeId,
            type: envelope.type,
            payload: envelope.payload,
            accepts_response_payload: envelope.type !== 'events_api',
            ...(envelope.type === 'events_api' ? { retry_attempt: 0, retry_reason: '' } : {}),
          }),
        );
      });
    },
    disconnectAll(reason = 'refresh_requested') {
      for (const socket of open) {
        socket.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'emulator-socket-mode' } }));
      }
    },
    upgrade(request, socket, head) {
      const url = new URL(request.url ?? '/', 'http://emulator');
      if (url.pathname !== '/link/') return false;
      const ticket = url.searchParams.get('ticket') ?? '';
      // A URL from apps.connections.open works once.
      if (!tickets.delete(ticket)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        return true;
      }
      server.handleUpgrade(request, socket, head, accept);
      return true;
    },
    close() {
      clearInterval(pinger);
      for (const socket of open) socket.terminate();
      server.close();
    },
  };
}
