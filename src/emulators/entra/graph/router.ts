import type { Trouble } from '../faults.ts';
import type { EmulatorReply, EmulatorRequest } from '../http.ts';
import type { EmulatorState } from '../state.ts';
import { batch } from './batch.ts';
import { isReply } from './collection.ts';
import { authenticate, GraphContext } from './context.ts';
import { usersDelta } from './delta.ts';
import { getGroup, listGroups, listMembers } from './groups.ts';
import { groupsDelta } from './groups-delta.ts';
import { photoList, photoMetadata, photoValue } from './photos.ts';
import { subscriptionRoute } from './subscription-routes.ts';
import { meter } from './throttle.ts';
import { getManager, getUser, listUsers } from './users.ts';

/**
 * Graph v1.0 routing. Segment names are case-insensitive as in Graph; every route has a template
 * (`/v1.0/users/{id}/photo/$value`) under which requests are counted for GET /_emulator/state.
 */

export interface Route {
  template: string;
  /** Reading is all the app may do (and subscribing); other methods get Graph's answer for a read-only app. */
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  handle: (context: GraphContext) => EmulatorReply | Promise<EmulatorReply>;
}

function matchGraph(path: string, method: string): Route {
  const segments = path
    .replace(/^\/v1\.0\/?/i, '')
    .split('/')
    .filter(Boolean);
  const lower = segments.map((s) => s.toLowerCase());
  const [first, , third] = lower;
  const get = (template: string, handle: Route['handle']): Route => ({
    template: `/v1.0/${template}`,
    method: 'GET',
    handle,
  });

  if (first === '$batch' && segments.length === 1) {
    return { template: '/v1.0/$batch', method: 'POST', handle: (context) => batch(context, serveGraph) };
  }
  if (first === 'me') {
    const rest = segments.slice(1).join('/');
    return get(`me${rest ? `/${rest}` : ''}`, (context) => {
      if (context.caller?.kind !== 'user') {
        return context.error(400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
      }
      return userRoute(`users/${context.caller.userId}/${rest}`, true).handle(context);
    });
  }
  if (first === 'users') return userRoute(segments.join('/'), false);
  if (first === 'groups') {
    if (segments.length === 1) return get('groups', listGroups);
    if (segments.length === 2 && (lower[1] === 'delta' || lower[1] === 'delta()'))
      return get('groups/delta', groupsDelta);
    if (segments.length === 2) return get('groups/{id}', (c) => getGroup(c, segments[1]));
    if ((third === 'members' || third === 'transitivemembers') && segments.length <= 4) {
      const relation = third === 'members' ? 'members' : 'transitiveMembers';
      const cast = segments[3] ?? null;
      return get(`groups/{id}/${relation}${cast ? `/${cast}` : ''}`, (c) =>
        listMembers(c, segments[1], relation, cast),
      );
    }
  }
  if (first === 'organization' && segments.length === 1) return get('organization', organization);
  if (first === 'subscriptions') return subscriptionRoute(segments, method) ?? unknownSegment(segments.at(-1) ?? '');
  return unknownSegment(segments[segments.length - 1] ?? '');
}

export function unknownSegment(segment: string): Route {
  return {
    template: '/v1.0/unknown',
    method: 'GET',
    handle: (context) => context.error(400, 'BadRequest', `Resource not found for the segment '${segment}'.`),
  };
}

function userRoute(path: string, self: boolean): Route {
  const segments = path.split('/').filter(Boolean);
  const lower = segments.map((s) => s.toLowerCase());
  const prefix = self ? 'me' : 'users/{id}';
  const get = (template: string, handle: Route['handle']): Route => ({
    template: `/v1.0/${template}`,
    method: 'GET',
    handle,
  });
  if (segments.length === 1) return get('users', listUsers);
  if (segments.length === 2 && (lower[1] === 'delta' || lower[1] === 'delta()')) return get('users/delta', usersDelta);
  const id = segments[1];
  if (segments.length === 2) return get(prefix, (c) => getUser(c, id, self));
  if (segments.length === 3 && lower[2] === 'manager') return get(`${prefix}/manager`, (c) => getManager(c, id));
  if (segments.length === 3 && lower[2] === 'photo') return get(`${prefix}/photo`, (c) => photoMetadata(c, id, self));
  if (segments.length === 4 && lower[2] === 'photo' && lower[3] === '$value') {
    return get(`${prefix}/photo/$value`, (c) => photoValue(c, id, self));
  }
  if (segments.length === 3 && lower[2] === 'photos') return get(`${prefix}/photos`, (c) => photoList(c, id, self));
  if (segments.length === 4 && lower[2] === 'photos') {
    return get(`${prefix}/photos/{size}`, (c) => photoMetadata(c, id, self, segments[3]));
  }
  if (segments.length === 5 && lower[2] === 'photos' && lower[4] === '$value') {
    return get(`${prefix}/photos/{size}/$value`, (c) => photoValue(c, id, self, segments[3]));
  }
  return unknownSegment(segments[2] ?? '');
}

function organization(context: GraphContext): EmulatorReply {
  const { tenant } = context.state.store;
  return context.ok({
    '@odata.context': `${context.base}/v1.0/$metadata#organization`,
    value: [
      {
        id: tenant.id,
        displayName: tenant.displayName,
        verifiedDomains: [
          {
            capabilities: 'Email, OfficeCommunicationsOnline',
            isDefault: true,
            isInitial: false,
            name: tenant.domain,
            type: 'Managed',
          },
          {
            capabilities: 'Email, OfficeCommunicationsOnline',
            isDefault: false,
            isInitial: true,
            name: tenant.initialDomain,
            type: 'Managed',
          },
        ],
      },
    ],
  });
}

export interface GraphOutcome {
  template: string;
  reply: EmulatorReply;
}

/**
 * One Graph request: the bearer token first, then injected faults (a `$batch` envelope is exempt: its
 * items are counted instead), then the resource-unit bucket (throttle.ts), then the route. Graph checks the
 * token before anything can go wrong behind it, so a request with a bad token gets its 401 even while the
 * service is throttling.
 */
export async function serveGraph(state: EmulatorState, request: EmulatorRequest): Promise<GraphOutcome> {
  const route = matchGraph(request.path, request.method);
  const context = new GraphContext(state, request);
  const respond = (reply: EmulatorReply): GraphOutcome => ({ template: route.template, reply });
  const unauthenticated = authenticate(context);
  if (unauthenticated) return respond(unauthenticated);
  if (route.template !== '/v1.0/$batch') {
    const trouble = state.faults.nextGraphRequest();
    if (trouble) return respond(troubleReply(context, trouble));
  }
  if (request.method !== route.method) {
    if (request.method === 'GET' || request.method === 'HEAD') {
      return respond(
        context.error(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.'),
      );
    }
    // The app holds read-only permissions; Graph refuses any write from it exactly like this.
    return respond(
      context.error(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
    );
  }
  const metered = meter(context, route.template);
  if (isReply(metered)) return respond(metered);
  const reply = await route.handle(context);
  return respond({ ...reply, headers: { ...reply.headers, ...metered } });
}

/**
 * An injected 429 or 5xx. Graph's throttling guidance ("Microsoft Graph throttling guidance",
 * learn.microsoft.com/graph/throttling) says Retry-After may be missing, and clients must then back off
 * exponentially: `trouble.retryAfterSeconds` is null for those answers.
 */
function troubleReply(context: GraphContext, trouble: Trouble): EmulatorReply {
  const retryAfter: Record<string, string> =
    trouble.retryAfterSeconds === null ? {} : { 'retry-after': String(trouble.retryAfterSeconds) };
  if (trouble.kind === 'throttle') {
    return context.error(
      429,
      'TooManyRequests',
      'Too many requests. Please retry after the time given in Retry-After.',
      {
        ...retryAfter,
        'x-ms-throttle-scope': 'Tenant_Application/ReadWrite/00000000-0000-0000-0000-000000000000',
        'x-ms-throttle-information': 'ResourceUnitLimitExceeded',
      },
    );
  }
  return context.error(
    trouble.status,
    trouble.status === 503 ? 'serviceNotAvailable' : 'generalException',
    'The service is temporarily unavailable.',
    retryAfter,
  );
}
