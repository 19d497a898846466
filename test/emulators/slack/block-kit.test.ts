import type { webApi } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LimitName, SLACK_LIMITS } from '../../../src/emulators/slack/block-kit.ts';
import { type SlackEmulator, startSlackEmulator } from '../../../src/emulators/slack/index.ts';
import { LIMITS } from '../../../src/slack/views/limits.ts';
import { webClientFor } from '../../slack/harness.ts';

/**
 * The emulator's own table of Slack's limits: every limit is accepted at its value and refused one over it,
 * through the real WebClient, with the error Slack answers; and the product's validator holds itself to
 * limits no looser than the emulator's.
 */

let emulator: SlackEmulator;
let web: webApi.WebClient;
let ts: string;

beforeAll(async () => {
  emulator = await startSlackEmulator();
  web = webClientFor(emulator);
  emulator.setChannels([{ id: 'C1', name: 'ops', isPrivate: false, members: [emulator.botUserId] }]);
  ts = (await web.chat.postMessage({ channel: 'C1', text: 'to update' })).ts!;
});
afterAll(() => emulator?.close());

const x = (n: number) => 'x'.repeat(n);
const plain = (text: string) => ({ type: 'plain_text', text });
const md = (text: string) => ({ type: 'mrkdwn', text });
const times = <T>(n: number, make: (i: number) => T) => Array.from({ length: n }, (_, i) => make(i));
const option = (over: Record<string, unknown> = {}) => ({ text: plain('A'), value: 'a', ...over });
const button = (over: Record<string, unknown> = {}) => ({ type: 'button', action_id: 'b', text: plain('Go'), ...over });
const confirm = (over: Record<string, unknown>) => ({
  title: plain('Sure?'),
  text: plain('Really?'),
  confirm: plain('Yes'),
  deny: plain('No'),
  ...over,
});

type Call = (n: number) => Promise<unknown>;
const post =
  (blocks: (n: number) => unknown[]): Call =>
  (n) =>
    web.apiCall('chat.postMessage', { channel: 'C1', text: 'fallback', blocks: blocks(n) });
const inActions = (element: (n: number) => unknown): Call => post((n) => [{ type: 'actions', elements: [element(n)] }]);
const home =
  (view: (n: number) => Record<string, unknown>): Call =>
  (n) =>
    web.apiCall('views.publish', {
      user_id: 'U0ADMIN',
      view: { type: 'home', blocks: [{ type: 'divider' }], ...view(n) },
    });
const modal =
  (view: (n: number) => Record<string, unknown>): Call =>
  (n) =>
    web.apiCall('views.open', {
      trigger_id: emulator.issueTrigger('U0ADMIN'),
      view: { type: 'modal', title: plain('Title'), blocks: [{ type: 'divider' }], ...view(n) },
    });
const input = (element: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  submit: plain('Save'),
  blocks: [{ type: 'input', label: plain('L'), element: { action_id: 'i', ...element }, ...over }],
});

/** A Home view whose JSON is exactly `n` bytes: sections of 2,900 characters, topped up with private_metadata. */
function homeOfBytes(n: number): Record<string, unknown> {
  const view: { type: 'home'; blocks: unknown[]; private_metadata?: string } = { type: 'home', blocks: [] };
  const size = () => Buffer.byteLength(JSON.stringify(view));
  while (n - size() > 3000) view.blocks.push({ type: 'section', text: md(x(2900)) });
  view.private_metadata = '';
  view.private_metadata = x(n - size());
  return view;
}

/** How to send exactly `n` of each limited thing, and the error Slack answers for one too many. */
const cases: Record<LimitName, { call: Call; error: string }> = {
  messageBlocks: { call: post((n) => times(n, () => ({ type: 'divider' }))), error: 'invalid_blocks' },
  viewBlocks: { call: home((n) => ({ blocks: times(n, () => ({ type: 'divider' })) })), error: 'invalid_arguments' },
  viewTitle: { call: modal((n) => ({ title: plain(x(n)) })), error: 'invalid_arguments' },
  viewButton: { call: modal((n) => ({ close: plain(x(n)) })), error: 'invalid_arguments' },
  privateMetadata: { call: home((n) => ({ private_metadata: x(n) })), error: 'invalid_arguments' },
  callbackId: { call: home((n) => ({ callback_id: x(n) })), error: 'invalid_arguments' },
  externalId: { call: home((n) => ({ external_id: x(n) })), error: 'invalid_arguments' },
  blockId: { call: post((n) => [{ type: 'divider', block_id: x(n) }]), error: 'invalid_blocks' },
  actionId: { call: inActions((n) => button({ action_id: x(n) })), error: 'invalid_blocks' },
  textObject: { call: post((n) => [{ type: 'context', elements: [md(x(n))] }]), error: 'invalid_blocks' },
  sectionText: { call: post((n) => [{ type: 'section', text: md(x(n)) }]), error: 'invalid_blocks' },
  sectionFields: { call: post((n) => [{ type: 'section', fields: times(n, () => md('f')) }]), error: 'invalid_blocks' },
  fieldText: { call: post((n) => [{ type: 'section', fields: [md(x(n))] }]), error: 'invalid_blocks' },
  headerText: { call: post((n) => [{ type: 'header', text: plain(x(n)) }]), error: 'invalid_blocks' },
  contextElements: {
    call: post((n) => [{ type: 'context', elements: times(n, () => md('c')) }]),
    error: 'invalid_blocks',
  },
  actionsElements: {
    call: post((n) => [{ type: 'actions', elements: times(n, (i) => button({ action_id: `b${i}` })) }]),
    error: 'invalid_blocks',
  },
  inputLabel: {
    call: modal((n) => input({ type: 'plain_text_input' }, { label: plain(x(n)) })),
    error: 'invalid_arguments',
  },
  inputHint: {
    call: modal((n) => input({ type: 'plain_text_input' }, { hint: plain(x(n)) })),
    error: 'invalid_arguments',
  },
  buttonText: { call: inActions((n) => button({ text: plain(x(n)) })), error: 'invalid_blocks' },
  buttonValue: { call: inActions((n) => button({ value: x(n) })), error: 'invalid_blocks' },
  buttonUrl: { call: inActions((n) => button({ url: `https://e.x/${x(n - 12)}` })), error: 'invalid_blocks' },
  accessibilityLabel: { call: inActions((n) => button({ accessibility_label: x(n) })), error: 'invalid_blocks' },
  optionText: {
    call: inActions((n) => ({ type: 'static_select', action_id: 's', options: [option({ text: plain(x(n)) })] })),
    error: 'invalid_blocks',
  },
  optionValue: {
    call: inActions((n) => ({ type: 'static_select', action_id: 's', options: [option({ value: x(n) })] })),
    error: 'invalid_blocks',
  },
  optionDescription: {
    call: inActions((n) => ({
      type: 'static_select',
      action_id: 's',
      options: [option({ description: plain(x(n)) })],
    })),
    error: 'invalid_blocks',
  },
  optionUrl: {
    call: inActions((n) => ({ type: 'overflow', action_id: 'o', options: [option({ url: x(n) }), option()] })),
    error: 'invalid_blocks',
  },
  options: {
    call: inActions((n) => ({
      type: 'static_select',
      action_id: 's',
      options: times(n, (i) => option({ value: `v${i}` })),
    })),
    error: 'invalid_blocks',
  },
  optionGroups: {
    call: inActions((n) => ({
      type: 'static_select',
      action_id: 's',
      option_groups: times(n, (i) => ({ label: plain(`G${i}`), options: [option({ value: `v${i}` })] })),
    })),
    error: 'invalid_blocks',
  },
  optionGroupLabel: {
    call: inActions((n) => ({
      type: 'static_select',
      action_id: 's',
      option_groups: [{ label: plain(x(n)), options: [option()] }],
    })),
    error: 'invalid_blocks',
  },
  checkboxOptions: {
    call: inActions((n) => ({
      type: 'checkboxes',
      action_id: 'c',
      options: times(n, (i) => option({ value: `v${i}` })),
    })),
    error: 'invalid_blocks',
  },
  overflowOptions: {
    call: inActions((n) => ({
      type: 'overflow',
      action_id: 'o',
      options: times(n, (i) => option({ value: `v${i}` })),
    })),
    error: 'invalid_blocks',
  },
  placeholder: {
    call: inActions((n) => ({ type: 'static_select', action_id: 's', placeholder: plain(x(n)), options: [option()] })),
    error: 'invalid_blocks',
  },
  confirmTitle: {
    call: inActions((n) => button({ confirm: confirm({ title: plain(x(n)) }) })),
    error: 'invalid_blocks',
  },
  confirmText: { call: inActions((n) => button({ confirm: confirm({ text: plain(x(n)) }) })), error: 'invalid_blocks' },
  confirmButton: {
    call: inActions((n) => button({ confirm: confirm({ deny: plain(x(n)) }) })),
    error: 'invalid_blocks',
  },
  inputMaxLength: {
    call: modal((n) => input({ type: 'plain_text_input', max_length: n })),
    error: 'invalid_arguments',
  },
  imageAlt: {
    call: post((n) => [{ type: 'image', image_url: 'https://e.x/i.png', alt_text: x(n) }]),
    error: 'invalid_blocks',
  },
  imageUrl: {
    call: post((n) => [{ type: 'image', image_url: `https://e.x/${x(n - 12)}`, alt_text: 'a' }]),
    error: 'invalid_blocks',
  },
  imageTitle: {
    call: post((n) => [{ type: 'image', image_url: 'https://e.x/i.png', alt_text: 'a', title: plain(x(n)) }]),
    error: 'invalid_blocks',
  },
  viewBytes: {
    call: (n) => web.apiCall('views.publish', { user_id: 'U0ADMIN', view: homeOfBytes(n) }),
    error: 'view_too_large',
  },
  postedText: { call: (n) => web.apiCall('chat.postMessage', { channel: 'C1', text: x(n) }), error: 'msg_too_long' },
  updatedText: { call: (n) => web.apiCall('chat.update', { channel: 'C1', ts, text: x(n) }), error: 'msg_too_long' },
  messageBlockText: {
    call: post((n) =>
      times(Math.ceil(n / 3000), (i) => ({ type: 'section', text: md(x(Math.min(3000, n - i * 3000))) })),
    ),
    error: 'msg_blocks_too_long',
  },
};

async function answer(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    return (error as { data?: { error?: string } }).data?.error ?? String(error);
  }
}

describe("the Slack emulator's own Block Kit limits", () => {
  it('cites a page for every limit', () => {
    for (const [name, limit] of Object.entries(SLACK_LIMITS)) expect(limit.source, name).toMatch(/\S{10,}/);
  });

  it.each(Object.keys(SLACK_LIMITS) as LimitName[])('accepts %s at its limit and refuses one more', async (name) => {
    const { max } = SLACK_LIMITS[name];
    const { call, error } = cases[name];
    expect(await answer(call(max)), `${name} = ${max}`).toBe('ok');
    expect(await answer(call(max + 1)), `${name} = ${max + 1}`).toBe(error);
  });

  it("says where, in Slack's words", async () => {
    let data: { errors?: string[]; response_metadata?: { messages?: string[] } } = {};
    try {
      await cases.sectionText.call(3001);
    } catch (error) {
      data = (error as { data: typeof data }).data;
    }
    expect(data.errors).toEqual(['must be less than 3001 characters [json-pointer:/blocks/0/text/text]']);
    expect(data.response_metadata?.messages).toEqual([
      '[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]',
    ]);
  });
});

describe("the product's validator", () => {
  /** The product holds every message to chat.update's limit, since progress messages are updated. */
  const emulatorName: Partial<Record<keyof typeof LIMITS, LimitName>> = { messageText: 'updatedText' };

  it('has a limit no looser than Slack’s for everything it checks', () => {
    for (const [name, value] of Object.entries(LIMITS) as [keyof typeof LIMITS, number][]) {
      const slack = SLACK_LIMITS[emulatorName[name] ?? (name as LimitName)];
      expect(slack, `${name} is not in the emulator's table`).toBeDefined();
      expect(value, name).toBeLessThanOrEqual(slack.max);
    }
  });
});
