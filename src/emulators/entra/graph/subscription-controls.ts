import type { Handler } from '../control.ts';
import { noContent, problem } from '../control.ts';
import { json, jsonBody } from '../http.ts';
import type { LifecycleEvent } from './notifier.ts';

/** The control API's part for change notifications (listed in control.ts). */

const EVENTS: LifecycleEvent[] = ['reauthorizationRequired', 'subscriptionRemoved', 'missed'];

export const SUBSCRIPTION_CONTROLS: Record<string, Handler> = {
  'GET subscriptions': (state) => {
    const { notifier } = state.subscriptions;
    return json(200, {
      subscriptions: state.subscriptions.all().map((s) => ({
        ...s,
        expirationDateTime: new Date(s.expirationDateTime).toISOString(),
      })),
      delivery: notifier.stats,
      reachable: notifier.reachable,
    });
  },
  'DELETE subscriptions/:id': (state, _request, id) =>
    state.subscriptions.drop(id!) ? noContent() : problem(404, `no subscription ${id}`),
  'POST subscriptions/:id/lifecycle': (state, request, id) => {
    const { event } = (jsonBody(request) ?? {}) as { event?: unknown };
    if (!EVENTS.includes(event as LifecycleEvent)) return problem(400, `event must be one of ${EVENTS.join(', ')}`);
    const refused = state.subscriptions.lifecycle(id!, event as LifecycleEvent);
    return refused ? problem(404, refused) : json(202, { sent: event });
  },
  'POST notifications': (state, request) => {
    const body = (jsonBody(request) ?? {}) as { reachable?: unknown; maxAttempts?: unknown };
    const { notifier } = state.subscriptions;
    if (body.reachable !== undefined && typeof body.reachable !== 'boolean')
      return problem(400, 'reachable must be true or false');
    if (body.maxAttempts !== undefined && !(Number.isInteger(body.maxAttempts) && Number(body.maxAttempts) >= 1))
      return problem(400, 'maxAttempts must be an integer ≥ 1');
    if (typeof body.reachable === 'boolean') notifier.reachable = body.reachable;
    if (body.maxAttempts !== undefined) notifier.maxAttempts = Number(body.maxAttempts);
    return json(200, { reachable: notifier.reachable, maxAttempts: notifier.maxAttempts });
  },
};
