import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { ADMIN_CACHE_TTL_MS, createAdminCheck, type UsersInfoClient } from '../../src/slack/admin.ts';

type User = NonNullable<Awaited<ReturnType<UsersInfoClient['users']['info']>>['user']>;

/** A users.info stand-in that counts lookups; the Slack client itself is exercised in app.test.ts. */
function directory(users: Record<string, User | Error>) {
  const asked: string[] = [];
  const client: UsersInfoClient = {
    users: {
      info: async ({ user }) => {
        asked.push(user);
        const found = users[user];
        if (found instanceof Error) throw found;
        return { user: found };
      },
    },
  };
  return { client, asked };
}

const logger = createLogger({ level: 'silent' });

describe('isAdmin', () => {
  it('admits admins, owners and primary owners; refuses members, guests, bots and deleted users', async () => {
    const { client } = directory({
      UA: { is_admin: true },
      UO: { is_owner: true },
      UP: { is_primary_owner: true },
      UM: {},
      UG: { is_admin: true, is_restricted: true },
      UB: { is_admin: true, is_bot: true },
      UD: { is_admin: true, deleted: true },
    });
    const check = createAdminCheck({ adminUsers: [], logger });
    const answers = Object.fromEntries(
      await Promise.all(
        ['UA', 'UO', 'UP', 'UM', 'UG', 'UB', 'UD'].map(async (u) => [u, await check.isAdmin(client, u)]),
      ),
    );
    expect(answers).toEqual({ UA: true, UO: true, UP: true, UM: false, UG: false, UB: false, UD: false });
  });

  it('admits SLACK_ADMIN_USERS without asking Slack', async () => {
    const { client, asked } = directory({});
    const check = createAdminCheck({ adminUsers: ['U0LISTED'], logger });
    expect(await check.isAdmin(client, 'U0LISTED')).toBe(true);
    expect(asked).toEqual([]);
  });

  it('remembers answers for 30 seconds for options loads only, sharing concurrent lookups', async () => {
    let now = 1_000;
    const { client, asked } = directory({ UA: { is_admin: true } });
    const check = createAdminCheck({ adminUsers: [], logger, now: () => now });
    const recent = { recent: true };
    await Promise.all([check.isAdmin(client, 'UA', recent), check.isAdmin(client, 'UA', recent)]);
    now += ADMIN_CACHE_TTL_MS - 1;
    await check.isAdmin(client, 'UA', recent);
    expect(asked).toEqual(['UA']);
    now += 2;
    await check.isAdmin(client, 'UA', recent);
    expect(asked).toEqual(['UA', 'UA']);
    expect(ADMIN_CACHE_TTL_MS).toBeLessThanOrEqual(30_000);
  });

  it("takes a demoted admin's rights away at their next action, not minutes later", async () => {
    const users: Record<string, User> = { UA: { is_admin: true } };
    const { client, asked } = directory(users);
    const check = createAdminCheck({ adminUsers: [], logger, now: () => 0 });
    expect(await check.isAdmin(client, 'UA')).toBe(true);
    users.UA = {};
    expect(await check.isAdmin(client, 'UA')).toBe(false);
    // Even a search box stops answering once the fresh answer is known.
    expect(await check.isAdmin(client, 'UA', { recent: true })).toBe(false);
    expect(asked).toEqual(['UA', 'UA']);
  });

  it('refuses when Slack cannot answer, without remembering the failure', async () => {
    const users: Record<string, User | Error> = { UA: new Error('user_not_found') };
    const { client, asked } = directory(users);
    const check = createAdminCheck({ adminUsers: [], logger });
    expect(await check.isAdmin(client, 'UA')).toBe(false);
    users.UA = { is_admin: true };
    expect(await check.isAdmin(client, 'UA')).toBe(true);
    expect(asked).toEqual(['UA', 'UA']);
  });
});
