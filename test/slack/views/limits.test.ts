import { describe, expect, it } from 'vitest';
import { LIMITS, type SurfaceKind, validateSurface } from '../../../src/slack/views/limits.ts';

const text = (n: number) => 'x'.repeat(n);
const plain = (t: string) => ({ type: 'plain_text', text: t });
const md = (t: string) => ({ type: 'mrkdwn', text: t });
const section = (t = 'ok') => ({ type: 'section', text: md(t) });
const button = (extra: Record<string, unknown> = {}) => ({
  type: 'button',
  action_id: 'b',
  text: plain('Go'),
  ...extra,
});
const actions = (...elements: unknown[]) => ({ type: 'actions', elements });
const opt = (t = 'A', v = 'a') => ({ text: plain(t), value: v });
const select = (extra: Record<string, unknown> = {}) => ({
  type: 'static_select',
  action_id: 's',
  options: [opt()],
  ...extra,
});
const input = (element: unknown, extra: Record<string, unknown> = {}) => ({
  type: 'input',
  block_id: 'i',
  label: plain('L'),
  element,
  ...extra,
});
const modal = (extra: Record<string, unknown> = {}) => ({
  type: 'modal',
  title: plain('Title'),
  blocks: [section()],
  ...extra,
});
const message = (blocks: unknown[], extra: Record<string, unknown> = {}) => ({ text: 'fallback', blocks, ...extra });
const confirm = (over: Record<string, unknown> = {}) => ({
  title: plain('Sure?'),
  text: md('Really'),
  confirm: plain('Yes'),
  deny: plain('No'),
  ...over,
});

/** [limit, surface kind, payload just over the limit, path of the violation]. */
const overLimit: [string, SurfaceKind, unknown, string][] = [
  ['message blocks', 'message', message(Array.from({ length: 51 }, () => section())), 'blocks'],
  ['modal blocks', 'modal', modal({ blocks: Array.from({ length: 101 }, () => section()) }), 'blocks'],
  ['home blocks', 'home', { type: 'home', blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })) }, 'blocks'],
  ['message top-level text present', 'message', { blocks: [section()] }, 'text'],
  ['message top-level text not blank', 'message', message([section()], { text: '  ' }), 'text'],
  ['message text length', 'message', message([section()], { text: text(4001) }), 'text'],
  ['cumulative block text', 'message', message(Array.from({ length: 5 }, () => section(text(2900)))), 'blocks'],
  ['modal title', 'modal', modal({ title: plain(text(25)) }), 'title.text'],
  ['modal title is plain text', 'modal', modal({ title: md('Title') }), 'title.type'],
  ['modal submit', 'modal', modal({ submit: plain(text(25)) }), 'submit.text'],
  ['modal close', 'modal', modal({ close: plain(text(25)) }), 'close.text'],
  ['submit required with inputs', 'modal', modal({ blocks: [input(select())] }), 'submit'],
  ['private_metadata', 'modal', modal({ private_metadata: text(3001) }), 'private_metadata'],
  ['home private_metadata', 'home', { type: 'home', blocks: [], private_metadata: text(3001) }, 'private_metadata'],
  ['callback_id', 'modal', modal({ callback_id: text(256) }), 'callback_id'],
  ['external_id', 'modal', modal({ external_id: text(256) }), 'external_id'],
  ['view type', 'modal', { ...modal(), type: 'home' }, 'type'],
  ['view size', 'modal', modal({ blocks: Array.from({ length: 100 }, () => section(text(2990))) }), ''],
  ['block_id', 'message', message([{ ...section(), block_id: text(256) }]), 'blocks[0].block_id'],
  [
    'block_id unique',
    'message',
    message([
      { ...section(), block_id: 'a' },
      { ...section(), block_id: 'a' },
    ]),
    'blocks[1].block_id',
  ],
  ['section text', 'message', message([section(text(3001))]), 'blocks[0].text.text'],
  ['section text not empty', 'message', message([section('')]), 'blocks[0].text.text'],
  ['section needs text or fields', 'message', message([{ type: 'section' }]), 'blocks[0]'],
  [
    'section fields count',
    'message',
    message([{ type: 'section', fields: Array.from({ length: 11 }, () => md('f')) }]),
    'blocks[0].fields',
  ],
  [
    'section field length',
    'message',
    message([{ type: 'section', fields: [md(text(2001))] }]),
    'blocks[0].fields[0].text',
  ],
  ['header text', 'message', message([{ type: 'header', text: plain(text(151)) }]), 'blocks[0].text.text'],
  ['header is plain text', 'message', message([{ type: 'header', text: md('h') }]), 'blocks[0].text.type'],
  [
    'context elements',
    'message',
    message([{ type: 'context', elements: Array.from({ length: 11 }, () => md('c')) }]),
    'blocks[0].elements',
  ],
  ['context not empty', 'message', message([{ type: 'context', elements: [] }]), 'blocks[0].elements'],
  [
    'actions elements',
    'message',
    message([actions(...Array.from({ length: 26 }, (_, i) => button({ action_id: `b${i}` })))]),
    'blocks[0].elements',
  ],
  ['action_id', 'message', message([actions(button({ action_id: text(256) }))]), 'blocks[0].elements[0].action_id'],
  ['action_id unique in block', 'message', message([actions(button(), button())]), 'blocks[0].elements[1].action_id'],
  ['button text', 'message', message([actions(button({ text: plain(text(76)) }))]), 'blocks[0].elements[0].text.text'],
  [
    'button text is plain',
    'message',
    message([actions(button({ text: md('Go') }))]),
    'blocks[0].elements[0].text.type',
  ],
  ['button value', 'message', message([actions(button({ value: text(2001) }))]), 'blocks[0].elements[0].value'],
  [
    'button url',
    'message',
    message([actions(button({ url: `https://x.test/${text(3000)}` }))]),
    'blocks[0].elements[0].url',
  ],
  [
    'accessibility label',
    'message',
    message([actions(button({ accessibility_label: text(76) }))]),
    'blocks[0].elements[0].accessibility_label',
  ],
  [
    'confirm title',
    'message',
    message([actions(button({ confirm: confirm({ title: plain(text(101)) }) }))]),
    'blocks[0].elements[0].confirm.title.text',
  ],
  [
    'confirm text',
    'message',
    message([actions(button({ confirm: confirm({ text: md(text(301)) }) }))]),
    'blocks[0].elements[0].confirm.text.text',
  ],
  [
    'confirm button',
    'message',
    message([actions(button({ confirm: confirm({ confirm: plain(text(31)) }) }))]),
    'blocks[0].elements[0].confirm.confirm.text',
  ],
  [
    'deny button',
    'message',
    message([actions(button({ confirm: confirm({ deny: plain(text(31)) }) }))]),
    'blocks[0].elements[0].confirm.deny.text',
  ],
  [
    'option text',
    'message',
    message([actions(select({ options: [opt(text(76))] }))]),
    'blocks[0].elements[0].options[0].text.text',
  ],
  [
    'option value',
    'message',
    message([actions(select({ options: [opt('A', text(151))] }))]),
    'blocks[0].elements[0].options[0].value',
  ],
  [
    'option value present',
    'message',
    message([actions(select({ options: [{ text: plain('A') }] }))]),
    'blocks[0].elements[0].options[0].value',
  ],
  [
    'option description',
    'message',
    message([actions(select({ options: [{ ...opt(), description: plain(text(76)) }] }))]),
    'blocks[0].elements[0].options[0].description.text',
  ],
  [
    'options count',
    'message',
    message([actions(select({ options: Array.from({ length: 101 }, (_, i) => opt('A', `v${i}`)) }))]),
    'blocks[0].elements[0].options',
  ],
  [
    'static select needs options',
    'message',
    message([actions({ type: 'static_select', action_id: 's' })]),
    'blocks[0].elements[0]',
  ],
  [
    'options xor groups',
    'message',
    message([actions(select({ option_groups: [{ label: plain('G'), options: [opt()] }] }))]),
    'blocks[0].elements[0]',
  ],
  [
    'option groups count',
    'message',
    message([
      actions(
        select({
          options: undefined,
          option_groups: Array.from({ length: 101 }, () => ({ label: plain('G'), options: [opt()] })),
        }),
      ),
    ]),
    'blocks[0].elements[0].option_groups',
  ],
  [
    'option group label',
    'message',
    message([actions(select({ options: undefined, option_groups: [{ label: plain(text(76)), options: [opt()] }] }))]),
    'blocks[0].elements[0].option_groups[0].label.text',
  ],
  [
    'initial option',
    'modal',
    modal({ submit: plain('OK'), blocks: [input(select({ initial_option: opt(text(76)) }))] }),
    'blocks[0].element.initial_option.text.text',
  ],
  [
    'initial options count',
    'modal',
    modal({
      submit: plain('OK'),
      blocks: [
        input({
          type: 'multi_external_select',
          action_id: 'g',
          initial_options: Array.from({ length: 101 }, (_, i) => opt('A', `v${i}`)),
        }),
      ],
    }),
    'blocks[0].element.initial_options',
  ],
  [
    'checkbox options',
    'modal',
    modal({
      submit: plain('OK'),
      blocks: [
        input({ type: 'checkboxes', action_id: 'c', options: Array.from({ length: 11 }, (_, i) => opt('A', `v${i}`)) }),
      ],
    }),
    'blocks[0].element.options',
  ],
  [
    'overflow options',
    'message',
    message([
      actions({ type: 'overflow', action_id: 'o', options: Array.from({ length: 6 }, (_, i) => opt('A', `v${i}`)) }),
    ]),
    'blocks[0].elements[0].options',
  ],
  [
    'placeholder',
    'message',
    message([actions(select({ placeholder: plain(text(151)) }))]),
    'blocks[0].elements[0].placeholder.text',
  ],
  [
    'max_selected_items',
    'modal',
    modal({
      submit: plain('OK'),
      blocks: [input({ type: 'multi_external_select', action_id: 'g', max_selected_items: 0 })],
    }),
    'blocks[0].element.max_selected_items',
  ],
  [
    'input label',
    'modal',
    modal({ submit: plain('OK'), blocks: [input(select(), { label: plain(text(2001)) })] }),
    'blocks[0].label.text',
  ],
  [
    'input hint',
    'modal',
    modal({ submit: plain('OK'), blocks: [input(select(), { hint: plain(text(2001)) })] }),
    'blocks[0].hint.text',
  ],
  [
    'input element',
    'modal',
    modal({ submit: plain('OK'), blocks: [{ type: 'input', label: plain('L') }] }),
    'blocks[0].element',
  ],
  [
    'text input max_length',
    'modal',
    modal({ submit: plain('OK'), blocks: [input({ type: 'plain_text_input', action_id: 't', max_length: 3001 })] }),
    'blocks[0].element.max_length',
  ],
  [
    'image alt text',
    'message',
    message([{ type: 'image', image_url: 'https://x.test/a.png', alt_text: text(2001) }]),
    'blocks[0].alt_text',
  ],
  [
    'image url',
    'message',
    message([{ type: 'image', image_url: `https://x.test/${text(3000)}`, alt_text: 'a' }]),
    'blocks[0].image_url',
  ],
  ['unknown block type', 'message', message([{ type: 'carousel' }]), 'blocks[0].type'],
];

describe('validateSurface', () => {
  it.each(overLimit)('catches %s', (_name, kind, payload, path) => {
    const violations = validateSurface(kind, payload);
    expect(violations.map((v) => v.path)).toContain(path);
  });

  it('accepts each limit exactly at its edge', () => {
    const atEdge = modal({
      title: plain(text(LIMITS.viewTitle)),
      submit: plain(text(LIMITS.viewButton)),
      close: plain(text(LIMITS.viewButton)),
      private_metadata: text(LIMITS.privateMetadata),
      callback_id: text(LIMITS.callbackId),
      blocks: [
        { ...section(text(LIMITS.sectionText)), block_id: text(LIMITS.blockId) },
        { type: 'section', fields: Array.from({ length: LIMITS.sectionFields }, () => md(text(LIMITS.fieldText))) },
        { type: 'header', text: plain(text(LIMITS.headerText)) },
        { type: 'context', elements: Array.from({ length: LIMITS.contextElements }, () => md('c')) },
        actions(
          button({
            action_id: text(LIMITS.actionId),
            text: plain(text(LIMITS.buttonText)),
            value: text(LIMITS.buttonValue),
            url: text(LIMITS.buttonUrl),
          }),
          ...Array.from({ length: LIMITS.actionsElements - 1 }, (_, i) => button({ action_id: `b${i}` })),
        ),
        input(
          select({
            options: Array.from({ length: LIMITS.options }, (_, i) =>
              opt(text(LIMITS.optionText), `${i}${text(LIMITS.optionValue - 3)}`),
            ),
            placeholder: plain(text(LIMITS.placeholder)),
          }),
          { label: plain(text(LIMITS.inputLabel)), hint: plain(text(LIMITS.inputHint)) },
        ),
      ],
    });
    expect(validateSurface('modal', atEdge)).toEqual([]);
  });

  it('counts characters, not UTF-16 units, so emoji and accents do not trip a limit early', () => {
    expect(validateSurface('modal', modal({ title: plain('🔄'.repeat(24)) }))).toEqual([]);
    expect(validateSurface('modal', modal({ title: plain('🔄'.repeat(25)) }))).toHaveLength(1);
  });

  it('refuses something that is not a payload at all', () => {
    expect(validateSurface('message', null)).toEqual([{ path: '', message: 'payload must be an object' }]);
    expect(validateSurface('message', { text: 'x', blocks: 'nope' }).map((v) => v.path)).toEqual(['blocks']);
  });
});
