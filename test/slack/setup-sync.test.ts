import { beforeEach, describe, expect, it } from 'vitest';
import type { AdminServices, AuthorizationRequest, SyncObserver, SyncStart } from '../../src/services/contract.ts';
import type { RunReport, SourceReport } from '../../src/services/model.ts';
import { actionIds, callbackIds } from '../../src/slack/ids.ts';
import { decodeMetadata } from '../../src/slack/metadata.ts';
import { refusalText } from '../../src/slack/views/refusals.ts';
import { minutes, run, source, type stubServices } from './fixtures.ts';
import { type Harness, useStubbedHarness } from './harness.ts';

/** What the stand-in services answer; each test sets the parts it needs. */
const world: {
  report: SourceReport | null;
  link: () => Promise<Awaited<ReturnType<AdminServices['beginAuthorization']>>>;
  start: SyncStart;
  observer: SyncObserver | null;
  requests: AuthorizationRequest[];
} = {
  report: null,
  link: async () => ({}) as never,
  start: { started: true, run: run() },
  observer: null,
  requests: [],
};

const services: Partial<AdminServices> = {
  status: async () => world.report,
  beginAuthorization: async (_actor, request) => {
    world.requests.push(request);
    return world.link();
  },
  syncNow: async (_actor, observer) => {
    world.observer = observer;
    return world.start;
  },
};

const ctx = useStubbedHarness(null, services);
let h: Harness;
let stub: ReturnType<typeof stubServices>;

beforeEach(() => {
  ({ h, stub } = ctx);
  world.report = source();
  world.observer = null;
  world.requests = [];
  let n = 0;
  world.link = async () => {
    n += 1;
    return {
      requestId: `req-${n}`,
      sourceId: 'src-1',
      url: `https://aad-sync.example.com/azure/authorize/req-${n}`,
      expiresAt: minutes(10),
      authMode: 'delegated',
    };
  };
});

const buttonsOf = (blocks: Record<string, unknown>[]) =>
  blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements as { action_id: string; url?: string }[]);

describe('/aad setup', () => {
  it('opens step 1 at once, then shows a personal sign-in link bound to that modal', async () => {
    const reply = await h.client.command('/aad', 'setup', { userId: 'U0ADMIN', channelId: 'C0ADMINS' });
    expect(reply.status).toBe(200);
    const [open] = h.emulator.calls('views.open');
    expect(open.args.trigger_id).toBe(reply.triggerId);
    const view = h.emulator.lastView()!;
    expect(world.requests).toEqual([{ viewId: view.id, purpose: 'setup' }]);
    expect(view.callback_id).toBe(callbackIds.setupAuthorize);
    expect(buttonsOf(view.blocks)).toEqual([
      expect.objectContaining({
        action_id: actionIds.authorizeLink,
        url: 'https://aad-sync.example.com/azure/authorize/req-1',
      }),
    ]);
    expect(decodeMetadata(view.private_metadata)).toEqual({ sourceId: 'src-1' });
    expect(h.emulator.calls('views.update')[0].args.hash).toBe((open.answer.view as { hash: string }).hash);
  });

  it('explains a failure to make the link in plain words and offers Try again, which makes a new one', async () => {
    world.link = async () => {
      throw new Error('database unreachable');
    };
    await h.client.command('/aad', 'setup', { userId: 'U0ADMIN' });
    const failed = h.emulator.lastView()!;
    expect(JSON.stringify(failed.blocks)).toContain('could not prepare a sign-in link');
    expect(JSON.stringify(failed.blocks)).not.toContain('database unreachable');
    expect(buttonsOf(failed.blocks).map((b) => b.action_id)).toEqual([actionIds.setupRetry]);
    world.link = async () => ({
      requestId: 'req-9',
      sourceId: 'src-1',
      url: 'https://aad-sync.example.com/azure/authorize/req-9',
      expiresAt: minutes(10),
      authMode: 'application',
    });
    await h.client.blockAction({ userId: 'U0ADMIN', actionId: actionIds.setupRetry, view: failed });
    const retried = h.emulator.view(failed.id)!;
    expect(buttonsOf(retried.blocks)[0]).toMatchObject({ url: 'https://aad-sync.example.com/azure/authorize/req-9' });
    expect(JSON.stringify(retried.blocks)).toContain('application');
    expect(h.logLines.some((l) => l.includes('could not prepare a sign-in link'))).toBe(true);
  });

  it('copes with the admin closing the modal before the link was ready', async () => {
    world.link = async () => {
      const view = h.emulator.lastView()!;
      h.emulator.closeView(view.id);
      return { requestId: 'r', sourceId: 's', url: 'https://x.test/r', expiresAt: minutes(10), authMode: 'delegated' };
    };
    const reply = await h.client.command('/aad', 'setup', { userId: 'U0ADMIN' });
    expect(reply.status).toBe(200);
    expect(h.emulator.calls('views.update').map((c) => c.answer.error)).toEqual(['not_found']);
  });

  it('opens the same wizard from the Set up button on the Home tab, for admins only', async () => {
    world.report = null;
    await h.client.appHomeOpened('U0OWNER');
    const home = h.emulator.homeOf('U0OWNER')!;
    await h.client.blockAction({ userId: 'U0OWNER', actionId: actionIds.setupOpen, view: home });
    expect(h.emulator.lastView()).toMatchObject({
      type: 'modal',
      callback_id: callbackIds.setupAuthorize,
      user_id: 'U0OWNER',
    });
    await h.client.blockAction({ userId: 'U0MEMBER', actionId: actionIds.setupOpen, view: home });
    expect(h.emulator.lastView()).toMatchObject({ title: { text: 'Admins only' } });
    expect(world.requests).toHaveLength(1);
  });
});

describe('/aad sync', () => {
  const running = (over: Partial<RunReport> = {}) =>
    run({ id: 77, status: 'running', finishedAt: null, trigger: 'manual', requestedBy: 'U0ADMIN', ...over });

  it('starts a run, follows it in the admin channel with one live message, and ends with the summary', async () => {
    world.start = { started: true, run: running() };
    await h.client.command('/aad', 'sync', { userId: 'U0ADMIN', channelId: 'C0GENERAL' });
    expect(stub.calls.find((c) => c.method === 'syncNow')?.args[0]).toEqual({
      teamId: h.emulator.teamId,
      userId: 'U0ADMIN',
    });
    const [started] = h.emulator.responses();
    expect(started.body).toMatchObject({ response_type: 'ephemeral', text: 'Sync started' });
    expect(JSON.stringify(started.body)).toContain('<#C0ADMINS>');
    expect(h.emulator.messagesIn('C0ADMINS').map((m) => m.text)).toEqual([
      expect.stringMatching(/^Syncing from Entra ID/),
    ]);
    world.observer!.finished(run({ id: 77, trigger: 'manual', requestedBy: 'U0ADMIN' }));
    await (world.observer as unknown as { settled(): Promise<void> }).settled();
    const messages = h.emulator.messagesIn('C0ADMINS');
    expect(messages).toHaveLength(1);
    expect(messages[0].text).toMatch(/^Sync finished: 2,000 read/);
  });

  it('says who started the run that is already going, and starts nothing', async () => {
    world.start = {
      started: false,
      reason: 'running',
      run: running({ requestedBy: 'U0OWNER', startedAt: minutes(-3) }),
    };
    await h.client.command('/aad', 'sync', { userId: 'U0ADMIN' });
    const [reply] = h.emulator.responses();
    expect(reply.body.text).toBe('A sync is already running; no second one was started.');
    expect(JSON.stringify(reply.body)).toContain('started by <@U0OWNER>');
    expect(h.emulator.messagesIn('C0ADMINS')).toEqual([]);
  });

  it('passes on why a sync cannot start, in plain words', async () => {
    world.start = { started: false, reason: 'needs_reauth', refusal: { code: 'reauth_first' } };
    await h.client.command('/aad', 'sync', { userId: 'U0ADMIN' });
    expect(h.emulator.responses()[0].body.text).toBe(refusalText({ code: 'reauth_first' }));
    expect(refusalText({ code: 'reauth_first' })).toMatch(
      /^Microsoft no longer accepts the saved sign-in.*Reauthorize first/,
    );
  });

  it('asks for setup first when there is no source', async () => {
    world.report = null;
    await h.client.command('/aad', 'sync', { userId: 'U0ADMIN' });
    expect(h.emulator.responses()[0].body.text).toBe('aad-sync is not set up yet: run /aad setup');
    expect(stub.calls.map((c) => c.method)).not.toContain('syncNow');
  });

  it('shows progress in the admin’s own reply when the admin channel is private and the app is not in it', async () => {
    world.report = source({ adminChannel: 'G0PRIVATE' });
    world.start = { started: true, run: running() };
    await h.client.command('/aad', 'sync', { userId: 'U0ADMIN' });
    expect(h.emulator.messagesIn('G0PRIVATE')).toEqual([]);
    const [first] = h.emulator.responses();
    expect(first.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(String(first.body.text)).toMatch(/^Syncing from Entra ID/);
    world.observer!.finished(run({ id: 77 }));
    await (world.observer as unknown as { settled(): Promise<void> }).settled();
    const last = h.emulator.responses().at(-1)!;
    expect(last.body).toMatchObject({ replace_original: true, text: expect.stringMatching(/^Sync finished/) });
  });

  it('is refused to non-admins before any service is asked', async () => {
    await h.client.command('/aad', 'sync', { userId: 'U0MEMBER' });
    expect(stub.calls).toEqual([]);
  });
});
