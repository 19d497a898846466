import { randomUUID } from 'node:crypto';
import { APPLICATION_PERMISSIONS, REGISTERED_APPLICATION } from './auth/permissions.ts';
import { SUBSCRIPTION_CONTROLS } from './graph/subscription-controls.ts';
import { type EmulatorReply, type EmulatorRequest, graphTimestamp, header, json, jsonBody } from './http.ts';
import { UploadedPhoto } from './photos.ts';
import type { EmulatorState, SignInOutcome } from './state.ts';
import { blankUser, type EmulatedGroup, type EmulatedUser } from './tenant.ts';

/**
 * The control API under /_emulator/ (no authentication: it is a local test tool).
 *
 *   GET    /_emulator/state                      counts: users, groups, requests per route, tokensIssued, …
 *   POST   /_emulator/users                      [user, …]: create, or merge fields into the user with that id;
 *                                                `manager: {id}` (or `managerId`) sets the manager. Shows in delta.
 *   DELETE /_emulator/users/:id[?permanent=true] soft delete (delta: @removed changed) or permanent (deleted)
 *   POST   /_emulator/users/:id/restore          undo a soft delete
 *   PUT    /_emulator/users/:id/photo            body = image bytes, Content-Type image/…; DELETE removes it
 *   POST   /_emulator/groups                     [group, …]: create or merge (`members: [ids]` on creation)
 *   DELETE /_emulator/groups/:id                 the group is gone (404 from Graph afterwards)
 *   POST   /_emulator/groups/:id/members         {"add": [ids], "remove": [ids]} direct members (users or groups)
 *   POST   /_emulator/signin                     {"outcome": "consent"|"deny"|"non_admin", "upn"?: "…"} for the
 *                                                following authorize/adminconsent requests ({} = back to default)
 *   POST   /_emulator/consent                    {"roles"?: [...]} grant application consent without a browser;
 *                                                {"granted": false} withdraws it
 *   POST   /_emulator/revoke                     refresh tokens die and application consent is withdrawn; access
 *                                                tokens live until they expire, except those of CAE clients (cp1),
 *                                                which get a 401 claims challenge; {"immediate": true} kills all
 *   POST   /_emulator/faults                     {"latencyMs","latencyPerItemMs","throttleEvery","retryAfterSeconds",
 *                                                "failEvery","status","bareEvery","tokenThrottleEvery",
 *                                                "consentDelaySeconds"}; omitted fields keep their value
 *   POST   /_emulator/throttle                   {"enabled"?, "limit"?: RU or null, "windowSeconds"?}: Graph's
 *                                                resource-unit bucket (graph/throttle.ts); on by default
 *   POST   /_emulator/expire-delta-tokens        {"style"?: "syncStateNotFound" | "gone"}: every delta/skip token dies
 *   POST   /_emulator/no-photo                   {"style": "notFound" | "placeholder"}: how Graph answers for
 *                                                people without a photo (404 ImageNotFound, or 1×1 with empty etag)
 *   POST   /_emulator/clock                      {"advanceSeconds": N}: moves the emulator's clock (token expiry)
 *   POST   /_emulator/reset                      back to the seeded tenant and start-up settings
 *   GET    /_emulator/subscriptions              Graph subscriptions (with clientState) and delivery counts
 *   DELETE /_emulator/subscriptions/:id          Graph loses the subscription without telling anyone
 *   POST   /_emulator/subscriptions/:id/lifecycle {"event": "reauthorizationRequired"|"subscriptionRemoved"|"missed"}
 *   POST   /_emulator/notifications              {"reachable"?: bool, "maxAttempts"?: N}: false = the app's
 *                                                notification URL is unreachable (validation and delivery fail)
 *
 * These act on the first tenant; `/_emulator/tenants/{id}/…` on another one (cloud.ts, server.ts), and
 * `GET /_emulator/tenants` lists them. `POST …/signin` of a tenant also makes its admin the browser's account.
 */

export type Handler = (
  state: EmulatorState,
  request: EmulatorRequest,
  id: string | undefined,
  sub: string | undefined,
) => EmulatorReply;

export function serveControl(state: EmulatorState, request: EmulatorRequest): EmulatorReply {
  const [resource, id, sub] = request.path
    .replace(/^\/_emulator\/?/, '')
    .split('/')
    .filter(Boolean);
  const key = `${request.method} ${resource ?? ''}${id ? '/:id' : ''}${sub ? `/${sub}` : ''}`;
  const handler = ROUTES[key];
  if (!handler) return problem(404, `no control endpoint ${request.method} ${request.path}`);
  try {
    return handler(state, request, id, sub);
  } catch (error) {
    if (error instanceof SyntaxError) return problem(400, `the body is not valid JSON: ${error.message}`);
    throw error;
  }
}

const ROUTES: Record<string, Handler> = {
  'GET state': (state) => json(200, snapshot(state)),
  'POST users': (state, request) => upsertUsers(state, request),
  'DELETE users/:id': (state, request, id) => {
    const permanent = request.query.get('permanent') === 'true';
    return state.store.deleteUser(id!, permanent, new Date(state.now()))
      ? noContent()
      : problem(404, `no user ${id} to delete`);
  },
  'POST users/:id/restore': (state, _request, id) =>
    state.store.restoreUser(id!) ? json(200, { restored: id }) : problem(404, `no soft-deleted user ${id}`),
  'PUT users/:id/photo': (state, request, id) => {
    const user = state.store.findUser(id!);
    if (!user) return problem(404, `no user ${id}`);
    const type = header(request, 'content-type') ?? '';
    if (!type.startsWith('image/') || request.body.length === 0)
      return problem(400, 'send the image bytes with an image/* Content-Type');
    state.store.tenant.photos.set(user.id, new UploadedPhoto(type.split(';')[0], request.body));
    return json(200, { etag: state.store.tenant.photos.get(user.id)!.etag });
  },
  'DELETE users/:id/photo': (state, _request, id) => {
    const user = state.store.findUser(id!);
    return user && state.store.tenant.photos.delete(user.id) ? noContent() : problem(404, `no photo for ${id}`);
  },
  'POST groups': (state, request) => upsertGroups(state, request),
  'DELETE groups/:id': (state, _request, id) =>
    state.store.deleteGroup(id!) ? noContent() : problem(404, `no group ${id}`),
  'POST groups/:id/members': (state, request, id) => {
    const body = (jsonBody(request) ?? {}) as { add?: unknown; remove?: unknown };
    const add = body.add ?? [];
    const remove = body.remove ?? [];
    if (!isStringArray(add) || !isStringArray(remove))
      return problem(400, '"add" and "remove" must be arrays of object ids');
    if (!state.store.tenant.groups.has(id!.toLowerCase())) return problem(404, `no group ${id}`);
    const unknown = state.store.editMembers(id!, add, remove);
    if (unknown.length > 0) return problem(400, `not users or groups of this tenant: ${unknown.join(', ')}`);
    return json(200, { members: state.store.tenant.groups.get(id!.toLowerCase())!.members.size });
  },
  'POST signin': (state, request) => {
    const body = (jsonBody(request) ?? {}) as { outcome?: unknown; upn?: unknown };
    const outcome = (body.outcome ?? 'consent') as SignInOutcome;
    if (!['consent', 'deny', 'non_admin'].includes(outcome))
      return problem(400, 'outcome must be consent, deny or non_admin');
    if (body.upn !== undefined && (typeof body.upn !== 'string' || !state.store.findUser(body.upn))) {
      return problem(400, `no user ${String(body.upn)} in the tenant`);
    }
    state.signIn = { outcome, ...(body.upn ? { upn: body.upn as string } : {}) };
    return json(200, { signIn: state.signIn });
  },
  'POST consent': (state, request) => {
    const body = (jsonBody(request) ?? {}) as { roles?: unknown; granted?: unknown };
    if (body.granted === false) {
      state.appRoles = null;
      return json(200, { appRoles: null });
    }
    const roles = body.roles ?? REGISTERED_APPLICATION;
    if (!isStringArray(roles) || roles.some((r) => !APPLICATION_PERMISSIONS.includes(r))) {
      return problem(400, `roles must be Graph application permissions: ${APPLICATION_PERMISSIONS.join(', ')}`);
    }
    state.consent([...roles]);
    return json(200, { appRoles: state.appRoles });
  },
  'POST revoke': (state, request) => {
    const body = (jsonBody(request) ?? {}) as { immediate?: unknown };
    if (body.immediate !== undefined && typeof body.immediate !== 'boolean')
      return problem(400, 'immediate must be true or false');
    state.revoke(body.immediate === true);
    return noContent();
  },
  'POST faults': (state, request) => {
    const body = jsonBody(request) ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) return problem(400, 'send a JSON object of fault settings');
    const problems = state.faults.update(body as Record<string, unknown>);
    return problems.length > 0 ? problem(400, problems.join('; ')) : json(200, { faults: state.faults.faults });
  },
  'POST throttle': (state, request) => {
    const body = jsonBody(request) ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) return problem(400, 'send a JSON object of throttle settings');
    const problems = state.throttle.update(body as Record<string, unknown>);
    return problems.length > 0 ? problem(400, problems.join('; ')) : json(200, { throttle: state.throttle.settings });
  },
  'POST expire-delta-tokens': (state, request) => {
    const body = (jsonBody(request) ?? {}) as { style?: unknown };
    const style = body.style ?? 'syncStateNotFound';
    if (style !== 'syncStateNotFound' && style !== 'gone')
      return problem(400, 'style must be syncStateNotFound or gone');
    state.deltaGeneration++;
    state.deltaExpiryStyle = style;
    return noContent();
  },
  'POST no-photo': (state, request) => {
    const body = (jsonBody(request) ?? {}) as { style?: unknown };
    if (body.style !== 'notFound' && body.style !== 'placeholder')
      return problem(400, 'style must be notFound or placeholder');
    state.noPhoto = body.style;
    return json(200, { noPhoto: state.noPhoto });
  },
  'POST clock': (state, request) => {
    const body = (jsonBody(request) ?? {}) as { advanceSeconds?: unknown };
    if (typeof body.advanceSeconds !== 'number' || body.advanceSeconds < 0)
      return problem(400, 'advanceSeconds must be a number ≥ 0');
    state.clockOffsetMs += body.advanceSeconds * 1000;
    return json(200, { now: new Date(state.now()).toISOString() });
  },
  ...SUBSCRIPTION_CONTROLS,
  'POST reset': (state) => {
    state.reset();
    return noContent();
  },
};

function snapshot(state: EmulatorState): Record<string, unknown> {
  const { tenant } = state.store;
  const requests = Object.fromEntries([...state.requests].sort(([a], [b]) => a.localeCompare(b)));
  const graphRequests = [...state.requests]
    .filter(([key]) => key.startsWith('/v1.0/'))
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    users: tenant.users.size,
    deletedUsers: tenant.deletedUsers.size,
    groups: tenant.groups.size,
    photos: tenant.photos.size,
    requests,
    graphRequests,
    tokensIssued: state.tokensIssued,
    tenantId: tenant.id,
    adminUpn: tenant.users.get(state.adminId)?.userPrincipalName ?? null,
    signIn: state.signIn,
    appRoles: state.appRoles,
    delegatedGrant: [...state.delegatedGrant],
    faults: state.faults.faults,
    throttle: { ...state.throttle.settings, throttled: state.throttle.throttled },
    clock: new Date(state.now()).toISOString(),
    subscriptions: state.subscriptions.all().length,
  };
}

function upsertUsers(state: EmulatorState, request: EmulatorRequest): EmulatorReply {
  const body = jsonBody(request);
  const entries = Array.isArray(body) ? body : [body];
  const { store } = state;
  const prepared: (Partial<EmulatedUser> & { id: string })[] = [];
  for (const [index, entry] of entries.entries()) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      return problem(400, `user ${index} is not an object`);
    const fields = { ...(entry as Record<string, unknown>) };
    const id = typeof fields.id === 'string' ? fields.id.toLowerCase() : randomUUID();
    if (store.findAnyUser(id)?.removed) return problem(409, `user ${id} is deleted; restore it first`);
    const existing = store.findUser(id);
    if ('manager' in fields) {
      const manager = fields.manager as { id?: unknown } | null;
      fields.managerId =
        manager === null ? null : typeof manager?.id === 'string' ? manager.id.toLowerCase() : undefined;
      delete fields.manager;
      if (fields.managerId === undefined) return problem(400, `user ${index}: manager must be {"id": "…"} or null`);
    }
    if (typeof fields.managerId === 'string' && !store.findUser(fields.managerId)) {
      return problem(400, `user ${index}: manager ${fields.managerId} is not a user of this tenant`);
    }
    if (fields.businessPhones !== undefined && !isStringArray(fields.businessPhones)) {
      return problem(400, `user ${index}: businessPhones must be an array of strings`);
    }
    if (fields.accountEnabled !== undefined && typeof fields.accountEnabled !== 'boolean') {
      return problem(400, `user ${index}: accountEnabled must be true or false`);
    }
    if (!existing) {
      const name = typeof fields.displayName === 'string' ? fields.displayName : null;
      const upn = typeof fields.userPrincipalName === 'string' ? fields.userPrincipalName : null;
      if (!name && !upn) return problem(400, `user ${index}: a new user needs displayName or userPrincipalName`);
      prepared.push({ ...newUserDefaults(state, id, name, upn), ...fields, id } as Partial<EmulatedUser> & {
        id: string;
      });
    } else {
      prepared.push({ ...fields, id } as Partial<EmulatedUser> & { id: string });
    }
  }
  const users = prepared.map((fields) => {
    const created = !store.findUser(fields.id);
    return { id: store.upsertUser(fields).id, created };
  });
  return json(200, { users });
}

function newUserDefaults(state: EmulatorState, id: string, name: string | null, upn: string | null): EmulatedUser {
  const principal =
    upn ??
    `${name!
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '.')
      .replace(/^\.|\.$/g, '')}@${state.store.tenant.domain}`;
  return blankUser(id, principal, name ?? principal.split('@')[0], graphTimestamp(state.now()));
}

function upsertGroups(state: EmulatorState, request: EmulatorRequest): EmulatorReply {
  const body = jsonBody(request);
  const entries = Array.isArray(body) ? body : [body];
  const { store } = state;
  const results: { id: string; created: boolean }[] = [];
  for (const [index, entry] of entries.entries()) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      return problem(400, `group ${index} is not an object`);
    const { members, ...fields } = entry as Record<string, unknown>;
    if (members !== undefined && !isStringArray(members))
      return problem(400, `group ${index}: members must be an array of ids`);
    const missing = (members ?? []).filter(
      (m) => !store.tenant.users.has(m.toLowerCase()) && !store.tenant.groups.has(m.toLowerCase()),
    );
    if (missing.length > 0)
      return problem(400, `group ${index}: not users or groups of this tenant: ${missing.join(', ')}`);
    const id = typeof fields.id === 'string' ? fields.id.toLowerCase() : randomUUID();
    const existing = store.tenant.groups.get(id);
    if (!existing && typeof fields.displayName !== 'string')
      return problem(400, `group ${index}: a new group needs displayName`);
    const defaults: Partial<EmulatedGroup> = existing
      ? {}
      : {
          description: null,
          mail: null,
          mailEnabled: false,
          mailNickname: String(fields.displayName)
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, '-'),
          securityEnabled: true,
          groupTypes: [],
          visibility: null,
          membershipRule: null,
          createdDateTime: graphTimestamp(state.now()),
        };
    const group = store.upsertGroup({ ...defaults, ...fields, id } as Partial<EmulatedGroup> & { id: string });
    if (members) {
      const wanted = new Set(members.map((m) => m.toLowerCase()));
      store.editMembers(
        group.id,
        [...wanted],
        [...group.members].filter((member) => !wanted.has(member)),
      );
    }
    results.push({ id: group.id, created: !existing });
  }
  return json(200, { groups: results });
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

export function problem(status: number, message: string): EmulatorReply {
  return json(status, { error: message });
}

export function noContent(): EmulatorReply {
  return { status: 204 };
}
