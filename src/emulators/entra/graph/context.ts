import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { satisfies } from '../auth/permissions.ts';
import { type EmulatorReply, type EmulatorRequest, graphTimestamp, header, json } from '../http.ts';
import type { EmulatorState } from '../state.ts';

/**
 * One Graph request in flight: who is calling (from the bearer token), Graph's error envelope with
 * request ids, and the signed tokens inside `@odata.nextLink` / `@odata.deltaLink`.
 */

export interface Caller {
  kind: 'user' | 'app';
  permissions: string[];
  /** The signed-in user for delegated tokens. */
  userId: string | null;
}

export class GraphContext {
  readonly requestId = randomUUID();
  readonly clientRequestId: string;
  caller: Caller | null = null;

  constructor(
    readonly state: EmulatorState,
    readonly request: EmulatorRequest,
  ) {
    this.clientRequestId = header(request, 'client-request-id') ?? this.requestId;
  }

  get base(): string {
    return this.state.settings.publicBase;
  }

  /** Headers every Graph reply carries. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { 'request-id': this.requestId, 'client-request-id': this.clientRequestId, ...extra };
  }

  ok(body: unknown, extra: Record<string, string> = {}): EmulatorReply {
    return json(200, body, {
      ...this.headers(extra),
      'content-type':
        'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8',
    });
  }

  error(status: number, code: string, message: string, extra: Record<string, string> = {}): EmulatorReply {
    const date = graphTimestamp(this.state.now()).slice(0, -1);
    return json(
      status,
      {
        error: {
          code,
          message,
          innerError: { date, 'request-id': this.requestId, 'client-request-id': this.clientRequestId },
        },
      },
      this.headers(extra),
    );
  }

  badRequest(message: string): EmulatorReply {
    return this.error(400, 'Request_BadRequest', message);
  }

  unsupported(message = 'Unsupported Query.'): EmulatorReply {
    return this.error(400, 'Request_UnsupportedQuery', message);
  }

  notFound(id: string): EmulatorReply {
    return this.error(
      404,
      'Request_ResourceNotFound',
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
    );
  }

  /** Graph's permission check; null when the caller holds one of `anyOf`. */
  require(anyOf: readonly string[]): EmulatorReply | null {
    if (this.caller && satisfies(this.caller.permissions, anyOf)) return null;
    return this.error(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }

  has(anyOf: readonly string[]): boolean {
    return this.caller !== null && satisfies(this.caller.permissions, anyOf);
  }

  /** The `ConsistencyLevel: eventual` header that unlocks Graph's advanced directory queries. */
  get eventual(): boolean {
    return (header(this.request, 'consistencylevel') ?? '').toLowerCase() === 'eventual';
  }

  seal(payload: object): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  /** The payload of a token this emulator sealed, or null when it is foreign, edited or garbled. */
  open<T>(token: string): T | null {
    const [body, mac] = token.split('.');
    if (!body || !mac) return null;
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
    } catch {
      return null;
    }
  }

  /** An absolute link to `path` with the original query minus `drop`, plus `add` (Graph keeps the query). */
  link(path: string, drop: string[], add: Record<string, string>): string {
    const dropped = new Set(drop.map((d) => d.toLowerCase()));
    const kept = this.request.rawQuery
      .split('&')
      .filter((part) => part !== '' && !dropped.has(safeDecode(part.split('=')[0]).toLowerCase()));
    for (const [name, value] of Object.entries(add)) kept.push(`${name}=${encodeURIComponent(value)}`);
    return `${this.base}/v1.0/${path}${kept.length > 0 ? `?${kept.join('&')}` : ''}`;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.state.linkKey).update(body).digest('base64url').slice(0, 22);
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Validates the bearer token like Graph: missing, foreign, expired or revoked → 401. */
export function authenticate(context: GraphContext): EmulatorReply | null {
  const { state } = context;
  const authorization = header(context.request, 'authorization') ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(authorization);
  const challenge = {
    'www-authenticate': `Bearer realm="", authorization_uri="${state.settings.publicBase}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
  };
  if (!match) return context.error(401, 'InvalidAuthenticationToken', 'Access token is empty.', challenge);
  const claims = state.signer.verify(match[1]);
  if (claims?.aud !== 'https://graph.microsoft.com' || claims.tid !== state.tenantId) {
    return context.error(
      401,
      'InvalidAuthenticationToken',
      'Access token validation failure. Invalid audience.',
      challenge,
    );
  }
  // Continuous access evaluation ("Claims challenges, claims requests and client capabilities",
  // learn.microsoft.com/entra/identity-platform/claims-challenge): only a client that declared `cp1` gets the
  // 401 with a claims challenge after a revoke; everyone else's token lives until it expires.
  const cae = Array.isArray(claims.xms_cc) && claims.xms_cc.includes('cp1');
  const killed = typeof claims.xms_emu_gen !== 'number' || claims.xms_emu_gen < state.tokenGeneration;
  const revoked = typeof claims.xms_emu_rev !== 'number' || claims.xms_emu_rev < state.revocations;
  if (cae && (killed || revoked)) {
    return context.error(
      401,
      'InvalidAuthenticationToken',
      'Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokensRevoked',
      {
        'www-authenticate': `Bearer realm="", authorization_uri="${state.settings.publicBase}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="${Buffer.from('{"access_token":{"nbf":{"essential":true,"value":"' + Math.floor(state.now() / 1000) + '"}}}').toString('base64')}"`,
      },
    );
  }
  if (killed) {
    return context.error(401, 'InvalidAuthenticationToken', 'Access token validation failure.', challenge);
  }
  const now = state.now() / 1000;
  if (
    typeof claims.exp !== 'number' ||
    claims.exp < now ||
    (typeof claims.nbf === 'number' && claims.nbf > now + 300)
  ) {
    return context.error(401, 'InvalidAuthenticationToken', 'Access token has expired or is not yet valid.', challenge);
  }
  const app = claims.idtyp === 'app';
  context.caller = {
    kind: app ? 'app' : 'user',
    permissions: app
      ? ((claims.roles as string[]) ?? [])
      : String(claims.scp ?? '')
          .split(' ')
          .filter(Boolean),
    userId: app ? null : String(claims.oid),
  };
  return null;
}
