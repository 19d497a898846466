import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminConsent, authorize } from './auth/authorize.ts';
import { discoveryDocument, keys } from './auth/discovery.ts';
import { entraError } from './auth/entra.ts';
import { token } from './auth/token.ts';
import { type EmulatedCloud, wrongTenantGrant } from './cloud.ts';
import { problem, serveControl } from './control.ts';
import { serveGraph } from './graph/router.ts';
import { type EmulatorReply, type EmulatorRequest, html, json, readRequest } from './http.ts';
import { latencyOf } from './latency.ts';
import type { EmulatorState } from './state.ts';

/**
 * The HTTPS listener and the top-level split: control API, Graph v1.0, and the Entra endpoints, each sent to
 * its tenant (cloud.ts says how).
 */

export async function dispatch(cloud: EmulatedCloud, request: EmulatorRequest): Promise<EmulatorReply> {
  const { path } = request;
  if (path === '/_emulator' || path.startsWith('/_emulator/')) return serveControlOf(cloud, request);
  if (/^\/v1\.0(\/|$)/i.test(path)) {
    const state = cloud.forGraph(request);
    const { template, reply } = await serveGraph(state, request);
    state.count(template);
    const latency = latencyOf(reply, state.faults.faults);
    if (latency > 0) await sleep(latency);
    return reply;
  }
  return serveEntra(cloud, request);
}

/** `/_emulator/…` controls the first tenant, `/_emulator/tenants/{id}/…` another; `GET /_emulator/tenants` lists them. */
function serveControlOf(cloud: EmulatedCloud, request: EmulatorRequest): EmulatorReply {
  const match = /^\/_emulator\/tenants(?:\/([^/]+)(\/.*)?)?$/.exec(request.path);
  if (match && !match[1]) {
    if (request.method !== 'GET') return problem(405, 'list the tenants with GET');
    return json(200, {
      tenants: cloud.tenants.map(({ store: { tenant } }) => ({
        id: tenant.id,
        displayName: tenant.displayName,
        domain: tenant.domain,
        users: tenant.users.size,
        groups: tenant.groups.size,
      })),
    });
  }
  const state = match ? cloud.named(match[1]) : cloud.primary;
  if (!state) return problem(404, `no tenant ${match?.[1]}`);
  const forwarded = match ? { ...request, path: `/_emulator${match[2] ?? ''}` } : request;
  const reply = serveControl(state, forwarded);
  // The emulated browser's account is whoever was last told to sign in, in whichever tenant.
  if (forwarded.method === 'POST' && forwarded.path === '/_emulator/signin' && reply.status === 200)
    cloud.browser = state;
  return reply;
}

/** The tenant an Entra endpoint serves: the one its path names, or for organizations/common, the one concerned. */
function tenantFor(cloud: EmulatedCloud, segment: string, route: string, request: EmulatorRequest): EmulatorState {
  const named = cloud.named(segment);
  if (named) return named;
  const multi = ['common', 'organizations'].includes(segment.toLowerCase());
  if (!multi) return cloud.primary; // which answers "Tenant not found"
  if (route === 'oauth2/v2.0/token') return cloud.issuerOf(request) ?? cloud.primary;
  return cloud.browser;
}

function serveEntra(cloud: EmulatedCloud, request: EmulatorRequest): EmulatorReply {
  const segments = request.path.split('/').filter(Boolean);
  const [tenant, ...rest] = segments;
  const route = rest.join('/').toLowerCase();
  if (!tenant) return html(200, 'aad-sync emulator', 'Entra ID and Microsoft Graph, emulated. See README.md.');
  const state = tenantFor(cloud, tenant, route, request);
  const counted = (name: string, reply: EmulatorReply) => {
    state.count(`/{tenant}/${name}`);
    return reply;
  };
  switch (route) {
    case 'v2.0/.well-known/openid-configuration':
      return counted(route, discoveryDocument(state, request, tenant, 'v2'));
    case '.well-known/openid-configuration':
      return counted(route, discoveryDocument(state, request, tenant, 'v1'));
    case 'discovery/v2.0/keys':
    case 'discovery/keys':
      return counted(route, keys(state, request, tenant));
    case 'oauth2/v2.0/authorize':
      return counted(route, authorize(state, request, tenant));
    case 'oauth2/v2.0/token':
      return counted(
        route,
        wrongTenantGrant(cloud, state, request, (message) =>
          entraError(state, request, 400, 'invalid_grant', 700005, message),
        ) ?? token(state, request, tenant),
      );
    case 'adminconsent':
      return counted(route, adminConsent(state, request, tenant, 'v1'));
    case 'v2.0/adminconsent':
      return counted(route, adminConsent(state, request, tenant, 'v2'));
    case 'oauth2/v2.0/logout':
      return counted(route, html(200, 'Signed out', 'You have signed out of your account.'));
    default:
      return json(404, { error: 'not_found', error_description: `The emulator has no endpoint ${request.path}` });
  }
}

export interface Listener {
  port: number;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 and, where the machine has it, ::1 on the same port, so `localhost` works
 * whichever address the client's resolver picks first.
 */
export async function listen(
  tls: { cert: string; key: string },
  port: number,
  handle: (request: EmulatorRequest) => Promise<EmulatorReply>,
): Promise<Listener> {
  const make = () =>
    createServer({ cert: tls.cert, key: tls.key }, (message, response) => {
      readRequest(message)
        .then(handle)
        .then(
          (reply) => send(response, reply),
          (error: unknown) =>
            send(
              response,
              json(500, {
                error: 'emulator_error',
                error_description: error instanceof Error ? error.message : String(error),
              }),
            ),
        );
    });
  const servers: Server[] = [];
  const primary = make();
  await new Promise<void>((resolve, reject) => {
    primary.once('error', reject);
    primary.listen(port, '127.0.0.1', () => resolve());
  });
  servers.push(primary);
  const bound = (primary.address() as AddressInfo).port;
  const secondary = make();
  const ipv6 = await new Promise<boolean>((resolve) => {
    secondary.once('error', () => resolve(false));
    secondary.listen(bound, '::1', () => resolve(true));
  });
  if (ipv6) servers.push(secondary);
  return {
    port: bound,
    close: async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}

function send(response: ServerResponse, reply: EmulatorReply): void {
  const body =
    reply.body === undefined
      ? undefined
      : Buffer.isBuffer(reply.body) || typeof reply.body === 'string'
        ? reply.body
        : JSON.stringify(reply.body);
  response.writeHead(reply.status, reply.headers ?? {});
  response.end(body);
}
