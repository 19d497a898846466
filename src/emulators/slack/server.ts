import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { refuseMessageBlocks } from './block-kit.ts';
import { Installs, type OAuthAppOptions } from './installs.ts';
import { type Answer, type Args, methods } from './methods.ts';
import { createSocketModeHub, type SocketModeHub } from './socket-mode.ts';
import {
  type EmulatedChannel,
  type EmulatedMessage,
  type EmulatedUser,
  type EmulatedView,
  RESPONSE_URL_USES,
  type RecordedResponse,
  type ResponseTarget,
  type SpaceIds,
  Workspace,
} from './workspace.ts';

/**
 * The Slack Web API emulator: an HTTP server on 127.0.0.1 that answers `POST /api/<method>` like Slack,
 * records every call, and serves response URLs at `POST /response/<key>`. Tests and the demo read what
 * the app did through the helpers of `SlackEmulator`.
 */

export interface SlackEmulatorOptions {
  botToken?: string;
  /** The app-level token (`xapp-…`) Socket Mode's `apps.connections.open` takes. */
  appToken?: string;
  teamId?: string;
  botUserId?: string;
  botId?: string;
  appId?: string;
  users?: EmulatedUser[];
  channels?: EmulatedChannel[];
  /** More workspaces or Grid orgs beside the default one; their ids must not repeat the default's. */
  spaces?: SpaceSpec[];
  /** The app's OAuth credentials: turns on `/oauth/v2/authorize` and `oauth.v2.access`. */
  oauth?: OAuthAppOptions;
  /** Slack gives 3 s. */
  triggerTtlMs?: number;
  now?: () => number;
  port?: number;
}

/** A workspace (or, with `enterpriseId`, a Grid org whose workspaces are `teams`) reached only through OAuth installs. */
export interface SpaceSpec extends Partial<Pick<SpaceIds, 'botUserId' | 'botId' | 'enterpriseId' | 'teams'>> {
  teamId: string;
  users: EmulatedUser[];
  channels: EmulatedChannel[];
}

export interface RecordedCall {
  method: string;
  /** The installation the token belongs to (workspace or org id), when the token was known. */
  installation?: string;
  /** Arguments with `blocks`, `view` and `attachments` JSON-decoded. */
  args: Args;
  /** Bearer token the call carried, or null. */
  token: string | null;
  at: Date;
  status: number;
  answer: Answer;
}

export interface SlackEmulator {
  /** e.g. `http://127.0.0.1:45678` */
  url: string;
  /** What the app's `SLACK_API_URL` should be: `${url}/api/`. */
  apiUrl: string;
  botToken: string;
  /** Socket Mode: the app-level token, the connections, and envelopes sent over them. */
  socketMode: SocketModeHub;
  teamId: string;
  botUserId: string;
  botId: string;
  appId: string;
  calls(method?: string): RecordedCall[];
  /** The most recently opened, pushed, updated or published view. */
  lastView(): EmulatedView | undefined;
  /** Every view opened, pushed, updated or published since the last reset, oldest first (once per call). */
  views(): EmulatedView[];
  view(id: string): EmulatedView | undefined;
  /** The Home tab the app last published for `userId`. */
  homeOf(userId: string): EmulatedView | undefined;
  /** Bot messages in a channel (a user id means the bot's DM with that user), oldest first. */
  messagesIn(channel: string): EmulatedMessage[];
  /** What the app posted to response URLs (`respond()`), oldest first. */
  responses(): RecordedResponse[];
  setUsers(users: EmulatedUser[]): void;
  setChannels(channels: EmulatedChannel[]): void;
  /** Next `times` calls of `method` answer 429 with `Retry-After: retryAfterSeconds`. */
  rateLimit(method: string, options?: { times?: number; retryAfterSeconds?: number }): void;
  /** Next `times` calls of `method` answer `{ ok: false, error }`. */
  failNext(method: string, error: string, times?: number): void;
  issueTrigger(userId: string): string;
  /** Makes every issued trigger id stale, as if more than 3 s had passed. */
  expireTriggers(): void;
  issueResponseUrl(target: ResponseTarget): string;
  /** Does to the modal what Slack does with a `view_submission` ack body (update, push, errors, clear, close). */
  applySubmissionAck(viewId: string, ack: unknown): void;
  /** The user closed the modal (the close button). */
  closeView(viewId: string): void;
  /** The state of a workspace or Grid org (by its team or enterprise id), e.g. to change its people. */
  space(id: string): Workspace;
  /** The workspace or org a person is in (the default workspace for strangers). */
  spaceOf(userId: string): Workspace;
  /** The workspace or org removes the app: its tokens stop working (`token_revoked`). Returns how many. */
  uninstall(installedIn: string): number;
  /** Lifetime of rotating tokens issued from now on (Slack: 12 hours). */
  setTokenLifetime(seconds: number): void;
  /** How many refresh tokens were exchanged through `oauth.v2.access`. */
  refreshes(): number;
  reset(): void;
  close(): Promise<void>;
}

export const EMULATOR_DEFAULTS = {
  botToken: 'xoxb-emulated-bot-token',
  appToken: 'xapp-1-A0AADSYNC-1-emulated-app-token',
  teamId: 'T0AADSYNC',
  botUserId: 'U0AADBOT',
  botId: 'B0AADBOT',
  appId: 'A0AADSYNC',
} as const;

export const DEFAULT_USERS: EmulatedUser[] = [
  { id: 'U0ADMIN', name: 'alex.admin', realName: 'Alex Admin', email: 'alex.admin@contoso.com', isAdmin: true },
  {
    id: 'U0OWNER',
    name: 'olivia.owner',
    realName: 'Olivia Owner',
    email: 'olivia.owner@contoso.com',
    isOwner: true,
    isPrimaryOwner: true,
    isAdmin: true,
  },
  { id: 'U0MEMBER', name: 'mia.member', realName: 'Mia Member', email: 'mia.member@contoso.com' },
  { id: 'U0GUEST', name: 'gus.guest', realName: 'Gus Guest', email: 'gus@partner.example', isRestricted: true },
  {
    id: 'U0SCGUEST',
    name: 'sam.single',
    realName: 'Sam Single',
    email: 'sam@partner.example',
    isUltraRestricted: true,
  },
];

export const DEFAULT_CHANNELS: EmulatedChannel[] = [
  { id: 'C0GENERAL', name: 'general', isPrivate: false, members: ['U0ADMIN', 'U0OWNER', 'U0MEMBER'] },
  { id: 'C0ADMINS', name: 'aad-admins', isPrivate: false, members: ['U0ADMIN', 'U0OWNER'] },
  { id: 'G0PRIVATE', name: 'it-private', isPrivate: true, members: ['U0ADMIN'] },
];

const JSON_ARGS = ['blocks', 'view', 'attachments'];

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseArgs(contentType: string, raw: string): Args {
  if (contentType.startsWith('application/json')) return raw ? (JSON.parse(raw) as Args) : {};
  const args: Args = Object.fromEntries(new URLSearchParams(raw));
  for (const key of JSON_ARGS) {
    if (typeof args[key] === 'string') {
      try {
        args[key] = JSON.parse(args[key] as string);
      } catch {
        // Slack answers invalid_arguments for a view it cannot parse; the method sees the raw string and refuses it.
      }
    }
  }
  return args;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

export async function startSlackEmulator(options: SlackEmulatorOptions = {}): Promise<SlackEmulator> {
  const ids = {
    teamId: options.teamId ?? EMULATOR_DEFAULTS.teamId,
    botUserId: options.botUserId ?? EMULATOR_DEFAULTS.botUserId,
    botId: options.botId ?? EMULATOR_DEFAULTS.botId,
    appId: options.appId ?? EMULATOR_DEFAULTS.appId,
  };
  const botToken = options.botToken ?? EMULATOR_DEFAULTS.botToken;
  const now = options.now ?? Date.now;
  const initialUsers = options.users ?? DEFAULT_USERS;
  const initialChannels = options.channels ?? DEFAULT_CHANNELS;

  let ws: Workspace;
  let extra: Workspace[];
  let installs: Installs;
  const all = () => [ws, ...extra];
  const spaceOfUser = (userId: string) => all().find((s) => s.users.has(userId)) ?? ws;
  const spaceOfView = (viewId: string) => all().find((s) => s.views.has(viewId)) ?? ws;
  let recorded: RecordedCall[];
  let views: EmulatedView[];
  const rateLimits = new Map<string, { times: number; retryAfterSeconds: number }>();
  const failures = new Map<string, { error: string; times: number }>();

  const setUsers = (users: EmulatedUser[]) => {
    ws.users = new Map(users.map((u) => [u.id, { ...u }]));
  };
  const setChannels = (channels: EmulatedChannel[]) => {
    ws.channels = new Map(channels.map((c) => [c.id, { ...c, members: [...c.members] }]));
  };
  const reset = () => {
    ws = new Workspace(ids, options.triggerTtlMs ?? 3000, now);
    setUsers(initialUsers);
    setChannels(initialChannels);
    extra = (options.spaces ?? []).map((spec) => {
      const space = new Workspace(
        {
          appId: ids.appId,
          botUserId: spec.botUserId ?? `U0BOT${spec.teamId}`,
          botId: spec.botId ?? `B0BOT${spec.teamId}`,
          ...spec,
        },
        options.triggerTtlMs ?? 3000,
        now,
      );
      space.users = new Map(spec.users.map((u) => [u.id, { ...u }]));
      space.channels = new Map(spec.channels.map((c) => [c.id, { ...c, members: [...c.members] }]));
      return space;
    });
    installs = new Installs(options.oauth, all, now);
    installs.addStaticToken(botToken, ws);
    recorded = [];
    views = [];
    rateLimits.clear();
    failures.clear();
  };
  reset();

  function take<T extends { times: number }>(map: Map<string, T>, method: string): T | undefined {
    const entry = map.get(method);
    if (!entry) return undefined;
    entry.times -= 1;
    if (entry.times <= 0) map.delete(method);
    return entry;
  }

  async function api(method: string, req: IncomingMessage, res: ServerResponse) {
    const raw = await readBody(req);
    const auth = req.headers.authorization;
    let args: Args;
    try {
      args = parseArgs(req.headers['content-type'] ?? '', raw);
    } catch {
      args = {};
    }
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : typeof args.token === 'string' ? args.token : null;
    const grant = token ? installs.resolve(token) : undefined;
    const known = grant && !('ok' in grant) ? grant : undefined;
    const record = (status: number, answer: Answer) =>
      recorded.push({ method, args, token, installation: known?.installedIn, at: new Date(now()), status, answer });

    const limited = take(rateLimits, method);
    if (limited) {
      const answer = { ok: false, error: 'ratelimited' };
      record(429, answer);
      send(res, 429, answer, { 'retry-after': String(limited.retryAfterSeconds) });
      return;
    }
    const handler = methods[method];
    const injected = take(failures, method);
    let answer: Answer;
    // oauth.v2.access authenticates with the app's client id and secret, not with a token;
    // apps.connections.open takes only the app-level token (Socket Mode), which no other method takes.
    const appLevel = method === 'apps.connections.open';
    if (method === 'oauth.v2.access') answer = installs.access(args, basicAuth(auth));
    else if (token && token === hub.appToken) {
      answer = appLevel ? hub.open() : { ok: false, error: 'not_allowed_token_type' };
    } else if (!token || !grant) answer = { ok: false, error: 'not_authed' };
    else if (!known) answer = grant as Answer;
    else if (appLevel) answer = { ok: false, error: 'not_allowed_token_type' };
    else if (!handler && method !== 'auth.test') answer = { ok: false, error: 'unknown_method' };
    else if (injected) answer = { ok: false, error: injected.error };
    else if (method === 'auth.test') answer = installs.authTest(known);
    else answer = handler(known.space, args);
    if (known && answer.ok && typeof answer.view === 'object' && answer.view !== null) {
      views.push(known.space.views.get((answer.view as { id: string }).id)!);
    }
    record(200, answer);
    send(res, 200, answer);
  }

  async function responseUrl(key: string, req: IncomingMessage, res: ServerResponse) {
    const raw = await readBody(req);
    const space = all().find((s) => s.responseUrls.has(key)) ?? ws;
    const entry = space.responseUrls.get(key);
    if (!entry) return send(res, 404, { ok: false, error: 'invalid_url' });
    if (entry.uses >= RESPONSE_URL_USES) return send(res, 404, { ok: false, error: 'used_url' });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return send(res, 400, { ok: false, error: 'invalid_payload' });
    }
    // Response URLs answer like incoming webhooks: HTTP 400 `invalid_blocks` for blocks Slack would refuse
    // ("Sending messages using incoming webhooks", docs.slack.dev/messaging/sending-messages-using-incoming-webhooks).
    if (body.blocks !== undefined && refuseMessageBlocks(Array.isArray(body.blocks) ? body.blocks : [body.blocks])) {
      return send(res, 400, { ok: false, error: 'invalid_blocks' });
    }
    entry.uses += 1;
    space.responses.push({ id: key, target: entry.target, body, at: new Date(now()) });
    const { channel, messageTs } = entry.target;
    const original = space.messages.find((m) => m.channel === channel && m.ts === messageTs && !m.ephemeralTo);
    if (original && body.delete_original === true) space.messages.splice(space.messages.indexOf(original), 1);
    else if (original && body.replace_original === true) {
      Object.assign(original, { text: body.text ?? '', blocks: body.blocks ?? [], edited: true });
    }
    send(res, 200, { ok: true });
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://emulator').pathname;
    const apiMatch = /^\/api\/([\w.]+)$/.exec(path);
    const responseMatch = /^\/response\/([0-9a-f]+)$/.exec(path);
    if (req.method === 'GET' && path === '/oauth/v2/authorize') return authorizePage(installs, req, res);
    const handle =
      req.method === 'POST' && apiMatch
        ? api(apiMatch[1], req, res)
        : req.method === 'POST' && responseMatch
          ? responseUrl(responseMatch[1], req, res)
          : Promise.resolve(send(res, 404, { ok: false, error: 'not_found' }));
    handle.catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { ok: false, error: 'emulator_error', detail: String(error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const hub = createSocketModeHub({
    baseUrl: url,
    appId: ids.appId,
    appToken: options.appToken ?? EMULATOR_DEFAULTS.appToken,
  });
  server.on('upgrade', (request, socket, head) => {
    if (!hub.upgrade(request, socket, head)) socket.destroy();
  });

  return {
    url,
    apiUrl: `${url}/api/`,
    botToken,
    socketMode: hub,
    ...ids,
    calls: (method) => (method ? recorded.filter((c) => c.method === method) : [...recorded]),
    lastView: () => views[views.length - 1],
    views: () => [...views],
    view: (id) => spaceOfView(id).views.get(id),
    homeOf: (userId) => {
      const space = spaceOfUser(userId);
      const id = space.homes.get(userId);
      return id ? space.views.get(id) : undefined;
    },
    messagesIn: (channel) => {
      const space = all().find((s) => s.channels.has(channel)) ?? spaceOfUser(channel);
      const id = space.resolveChannel(channel)?.id ?? channel;
      return space.messages.filter((m) => m.channel === id);
    },
    responses: () => all().flatMap((s) => s.responses),
    setUsers,
    setChannels,
    rateLimit: (method, o = {}) =>
      rateLimits.set(method, { times: o.times ?? 1, retryAfterSeconds: o.retryAfterSeconds ?? 1 }),
    failNext: (method, error, times = 1) => failures.set(method, { error, times }),
    issueTrigger: (userId) => spaceOfUser(userId).issueTrigger(userId),
    expireTriggers: () => {
      for (const s of all()) s.expireTriggers();
    },
    issueResponseUrl: (target) => `${url}/response/${spaceOfUser(target.userId).issueResponseUrl(target)}`,
    applySubmissionAck: (viewId, ack) => applySubmissionAck(spaceOfView(viewId), views, viewId, ack),
    closeView: (viewId) => spaceOfView(viewId).pop(viewId),
    space: (id) => {
      const found = all().find((s) => s.teamId === id || s.enterpriseId === id || s.teams.includes(id));
      if (!found) throw new Error(`the emulator has no workspace or org ${id}`);
      return found;
    },
    spaceOf: spaceOfUser,
    uninstall: (installedIn) => installs.uninstall(installedIn),
    setTokenLifetime: (seconds) => {
      installs.lifetimeSeconds = seconds;
    },
    refreshes: () => installs.refreshesUsed(),
    reset,
    close: () =>
      new Promise<void>((resolve, reject) => {
        hub.close();
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

/** Credentials sent as HTTP Basic, which `oauth.v2.access` accepts instead of form fields. */
function basicAuth(header: string | undefined): { id: string; secret: string } | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const [id, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
  return { id, secret: rest.join(':') };
}

/** Slack's authorize page: redirects back to the app with a code, or shows why it cannot. */
function authorizePage(installs: Installs, req: IncomingMessage, res: ServerResponse) {
  const outcome = installs.authorize(new URL(req.url ?? '/', 'http://emulator').searchParams);
  if ('redirect' in outcome) {
    res.writeHead(302, { location: outcome.redirect });
    res.end();
    return;
  }
  res.writeHead(outcome.status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(outcome.error);
}

function applySubmissionAck(ws: Workspace, history: EmulatedView[], viewId: string, ack: unknown) {
  const view = ws.views.get(viewId);
  if (!view) return;
  const body = (typeof ack === 'object' && ack !== null ? ack : {}) as { response_action?: string; view?: unknown };
  const rootId = view.root_view_id ?? view.id;
  switch (body.response_action) {
    case 'errors':
      return;
    case 'clear':
      ws.closeStack(rootId);
      return;
    case 'update': {
      const answer = methods['views.update'](ws, { view_id: view.id, view: body.view });
      if (answer.ok) history.push(ws.views.get(view.id)!);
      return;
    }
    case 'push': {
      const trigger = ws.issueTrigger(view.user_id);
      const answer = methods['views.push'](ws, { trigger_id: trigger, view: body.view });
      if (answer.ok) history.push(ws.views.get((answer.view as { id: string }).id)!);
      return;
    }
    default:
      ws.pop(view.id);
  }
}
