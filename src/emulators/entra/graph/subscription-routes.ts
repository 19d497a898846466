import type { Route } from './router.ts';

/**
 * `/v1.0/subscriptions` routes: list, create, read, renew (PATCH), delete, and reauthorize
 * (learn.microsoft.com/graph/api/resources/subscription, Methods). A method the path does not take
 * gets null, which the router answers as Graph does for an unknown segment.
 */
export function subscriptionRoute(segments: string[], method: string): Route | null {
  const [, id, action] = segments;
  const store = (handle: Route['handle'], template: string, as: Route['method']): Route => ({
    template: `/v1.0/${template}`,
    method: as,
    handle,
  });
  if (segments.length === 1) {
    return method === 'POST'
      ? store((c) => c.state.subscriptions.create(c), 'subscriptions', 'POST')
      : store((c) => c.state.subscriptions.list(c), 'subscriptions', 'GET');
  }
  if (segments.length === 2) {
    if (method === 'PATCH') return store((c) => c.state.subscriptions.renew(c, id), 'subscriptions/{id}', 'PATCH');
    if (method === 'DELETE') return store((c) => c.state.subscriptions.remove(c, id), 'subscriptions/{id}', 'DELETE');
    return store((c) => c.state.subscriptions.read(c, id), 'subscriptions/{id}', 'GET');
  }
  if (segments.length === 3 && action.toLowerCase() === 'reauthorize') {
    return store((c) => c.state.subscriptions.reauthorize(c, id), 'subscriptions/{id}/reauthorize', 'POST');
  }
  return null;
}
