import type { AdminServices } from '../../src/services/contract.ts';
import type { RunReport, SourceReport } from '../../src/services/model.ts';
import { DEFAULT_MAPPING } from '../../src/sync/mapping.ts';

/** Plain data for views and a stand-in for the `AdminServices` interface (not one of our modules). */

export const T0 = new Date('2026-09-01T09:00:00Z');
export const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

export function run(overrides: Partial<RunReport> = {}): RunReport {
  return {
    id: 41,
    trigger: 'schedule',
    requestedBy: null,
    mode: 'delta',
    status: 'succeeded',
    startedAt: minutes(0),
    finishedAt: minutes(1.5),
    counts: { read: 2000, created: 12, updated: 40, unchanged: 1941, removed: 2, ignored: 5, photos: 0 },
    ignored: [
      {
        reason: 'missing Email (mail)',
        count: 4,
        examples: ['svc-backup@contoso.onmicrosoft.com', 'room-1@contoso.com'],
      },
      { reason: 'missing Last name (surname)', count: 1, examples: ['Reception Desk'] },
    ],
    errorCode: null,
    errorMessage: null,
    ...overrides,
  };
}

export function source(overrides: Partial<SourceReport> = {}): SourceReport {
  return {
    id: '6f1f3c9e-8d1a-4a38-9d2f-0d6c1b7a9e11',
    status: 'active',
    authMode: 'delegated',
    tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    authorizedBy: { upn: 'adele.vance@contoso.com', slackUserId: 'U0ADMIN', at: minutes(-60 * 24 * 7) },
    syncEnabled: true,
    photoSync: false,
    adminChannel: 'C0ADMINS',
    groups: [
      { id: '02bd9fd6-8f93-4758-87c3-1fb73740a315', name: 'All Employees' },
      { id: '0a53828f-36c9-44c3-be3d-99a7fce977ac', name: 'Contractors (EU)' },
    ],
    mapping: DEFAULT_MAPPING,
    syncEvery: '60 minutes',
    activeProfiles: 1997,
    lastSuccessAt: minutes(1.5),
    changeFeed: { state: 'off', problem: null, membershipScheduled: false, lastNotifiedAt: null },
    nextRunAt: minutes(60),
    running: null,
    recentRuns: [run(), run({ id: 40, startedAt: minutes(-60), finishedAt: minutes(-59), mode: 'full' })],
    held: null,
    ...overrides,
  };
}

/** Calls are recorded so tests can prove a refused request reached no service; `overrides` answer the rest. */
export function stubServices(report: SourceReport | null = source(), overrides: Partial<AdminServices> = {}) {
  const calls: { method: string; args: unknown[] }[] = [];
  const unused = (method: string) => () => {
    throw new Error(`${method} is not used by this test`);
  };
  const answers: AdminServices = {
    status: async () => report,
    beginAuthorization: unused('beginAuthorization'),
    draft: unused('draft'),
    searchGroups: unused('searchGroups'),
    saveGroups: unused('saveGroups'),
    saveSettings: unused('saveSettings'),
    preview: unused('preview'),
    enable: async () =>
      report
        ? { ok: true, source: { ...report, syncEnabled: true }, run: null }
        : { ok: false, refusal: { code: 'not_signed_in' } },
    disable: async () =>
      report
        ? { ok: true, source: { ...report, syncEnabled: false } }
        : { ok: false, refusal: { code: 'not_signed_in' } },
    setPhotoSync: unused('setPhotoSync'),
    syncNow: unused('syncNow'),
    decideHeld: unused('decideHeld'),
    ...overrides,
  };
  const services = Object.fromEntries(
    Object.entries(answers).map(([method, answer]) => [
      method,
      async (...args: unknown[]) => {
        calls.push({ method, args });
        return (answer as (...a: unknown[]) => unknown)(...args);
      },
    ]),
  ) as unknown as AdminServices;
  return { services, calls };
}
