import type { EmulatorReply } from '../http.ts';
import type { GraphContext } from './context.ts';

/**
 * Graph's identity-and-access throttling ("Microsoft Graph service-specific throttling limits", section
 * "Identity and access service limits"): a token bucket of resource units per application + tenant pair,
 * 3,500 / 5,000 / 8,000 units per 10 seconds for tenants of under 50 / 50–500 / over 500 users. Each
 * request costs its path's base cost (GET users 2, groups/{id}/members 3, groups/{id}/transitiveMembers
 * 5, any other identity path 1), −1 with `$select`, +1 with `$expand`, −1 with `$top` under 20, never
 * below 1. Successful answers carry `x-ms-resource-unit` (the cost) and, past 80 % of the limit,
 * `x-ms-throttle-limit-percentage`; a request that does not fit gets 429 with `Retry-After` (the time the
 * bucket needs to drain enough), `x-ms-throttle-scope` and `x-ms-throttle-information`.
 *
 * Photos are not metered here: Graph serves them from the Outlook service, with limits of its own. The
 * bucket drains continuously (so a 10-second window is its capacity divided by its rate), and follows the
 * emulator's clock. `POST /_emulator/throttle` changes the limit and window or switches it off.
 */

export interface ThrottleSettings {
  enabled: boolean;
  /** Resource units per window; null = Graph's limit for the tenant's size. */
  limit: number | null;
  windowSeconds: number;
}

const DEFAULTS: ThrottleSettings = { enabled: true, limit: null, windowSeconds: 10 };
/** Graph stops reporting the percentage at 1.8 (180 % of the limit). */
const MAX_PERCENTAGE = 1.8;
const WARN_FROM = 0.8;

/** Graph's limit for a tenant of `users` users. */
export function tenantLimit(users: number): number {
  if (users < 50) return 3_500;
  if (users <= 500) return 5_000;
  return 8_000;
}

const BASE_COSTS: [RegExp, number][] = [
  [/^\/v1\.0\/users$/, 2],
  [/^\/v1\.0\/groups\/\{id\}\/members(\/|$)/, 3],
  [/^\/v1\.0\/groups\/\{id\}\/transitiveMembers(\/|$)/, 5],
];

/** Resource units a request costs; 0 for requests outside the identity service (photos, `$batch` envelopes). */
export function resourceUnitCost(template: string, query: URLSearchParams): number {
  if (/\/photos?(\/|$)/.test(template) || template === '/v1.0/$batch') return 0;
  let cost = BASE_COSTS.find(([pattern]) => pattern.test(template))?.[1] ?? 1;
  const options = new Map([...query].map(([name, value]) => [name.toLowerCase(), value]));
  if (options.has('$select')) cost--;
  if (options.has('$expand')) cost++;
  const top = Number(options.get('$top'));
  if (options.has('$top') && top < 20) cost--;
  return Math.max(1, cost);
}

export class ResourceUnitBucket {
  settings: ThrottleSettings = { ...DEFAULTS };
  /** 429s answered since the last reset, for GET /_emulator/state. */
  throttled = 0;
  private used = 0;
  private updatedAt = 0;

  /** Applies the fields given (`enabled`, `limit`, `windowSeconds`); returns problems instead of half-applying. */
  update(changes: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const next = { ...this.settings };
    for (const [key, value] of Object.entries(changes)) {
      if (key === 'enabled') {
        if (typeof value !== 'boolean') problems.push('enabled must be true or false');
        else next.enabled = value;
      } else if (key === 'limit') {
        if (value !== null && (typeof value !== 'number' || !Number.isInteger(value) || value < 1))
          problems.push('limit must be a whole number ≥ 1, or null for the limit of the tenant’s size');
        else next.limit = value;
      } else if (key === 'windowSeconds') {
        if (typeof value !== 'number' || !(value > 0)) problems.push('windowSeconds must be a number > 0');
        else next.windowSeconds = value;
      } else problems.push(`unknown throttle setting "${key}"`);
    }
    if (problems.length === 0) {
      this.settings = next;
      this.used = 0;
    }
    return problems;
  }

  /** Charges `cost` at `now`: the headers of an answered request, or the wait before one would fit. */
  charge(
    cost: number,
    limit: number,
    now: number,
  ): { ok: true; percentage: number } | { ok: false; retryAfterSeconds: number; percentage: number } {
    const perMs = limit / (this.settings.windowSeconds * 1000);
    this.used = Math.max(0, this.used - (now - this.updatedAt) * perMs);
    this.updatedAt = now;
    if (this.used + cost > limit) {
      this.throttled++;
      const retryAfterSeconds = Math.max(1, Math.ceil((this.used + cost - limit) / perMs / 1000));
      return { ok: false, retryAfterSeconds, percentage: Math.min(MAX_PERCENTAGE, (this.used + cost) / limit) };
    }
    this.used += cost;
    return { ok: true, percentage: this.used / limit };
  }
}

/**
 * Meters one authenticated Graph request: the 429 to answer instead, or the headers to add to the answer.
 */
export function meter(context: GraphContext, template: string): EmulatorReply | Record<string, string> {
  const { state } = context;
  const bucket = state.throttle;
  const cost = resourceUnitCost(template, context.request.query);
  if (!bucket.settings.enabled || cost === 0) return {};
  const limit = bucket.settings.limit ?? tenantLimit(state.store.tenant.users.size);
  const charged = bucket.charge(cost, limit, state.now());
  const percentage: Record<string, string> =
    charged.percentage > WARN_FROM ? { 'x-ms-throttle-limit-percentage': charged.percentage.toFixed(1) } : {};
  if (charged.ok) return { 'x-ms-resource-unit': String(cost), ...percentage };
  return context.error(429, 'TooManyRequests', 'Too many requests. Please retry after the time given in Retry-After.', {
    'retry-after': String(charged.retryAfterSeconds),
    'x-ms-resource-unit': String(cost),
    ...percentage,
    'x-ms-throttle-scope': `Tenant_Application/ReadWrite/${state.settings.clientId}/${state.tenantId}`,
    'x-ms-throttle-information': 'ResourceUnitLimitExceeded',
  });
}
