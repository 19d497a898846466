import type { types } from '@slack/bolt';

/**
 * Small typed Block Kit builders and text helpers shared by every view. Type-only import of Bolt:
 * views stay pure functions of plain data with no runtime dependency on Slack libraries.
 */

export type KnownBlock = types.KnownBlock;
export type ModalView = types.ModalView;
export type HomeView = types.HomeView;
export type Button = types.Button;
export type PlainTextOption = types.PlainTextOption;
export type PlainTextElement = types.PlainTextElement;
export type MrkdwnElement = types.MrkdwnElement;
export type ConfirmationDialog = types.ConfirmationDialog;
export type InputBlock = types.InputBlock;
export type SectionBlock = types.SectionBlock;

/** A message body as `chat.postMessage`, `chat.update` and `respond()` take it. */
export interface MessagePayload {
  /** Notification and screen-reader text; Slack shows it where blocks cannot be shown. */
  text: string;
  blocks: KnownBlock[];
}

export const plain = (text: string): PlainTextElement => ({ type: 'plain_text', text, emoji: true });
export const mrkdwn = (text: string): MrkdwnElement => ({ type: 'mrkdwn', text });

export const header = (text: string): KnownBlock => ({ type: 'header', text: plain(truncate(text, 150)) });
export const divider = (): KnownBlock => ({ type: 'divider' });

export function section(text: string, accessory?: Button): KnownBlock {
  return { type: 'section', text: mrkdwn(truncate(text, 3000)), ...(accessory ? { accessory } : {}) };
}

/** A section of two-column fields; empty values are dropped and at most 10 fields are kept (Slack's limit). */
export function fields(pairs: [label: string, value: string][]): KnownBlock {
  return {
    type: 'section',
    fields: pairs.slice(0, 10).map(([label, value]) => mrkdwn(truncate(`*${label}*\n${value}`, 2000))),
  };
}

export function context(...texts: string[]): KnownBlock {
  return { type: 'context', elements: texts.slice(0, 10).map((t) => mrkdwn(truncate(t, 3000))) };
}

export function actions(blockId: string, elements: Button[]): KnownBlock {
  return { type: 'actions', block_id: blockId, elements: elements.slice(0, 25) };
}

export interface ButtonSpec {
  text: string;
  actionId: string;
  value?: string;
  url?: string;
  style?: 'primary' | 'danger';
  confirm?: ConfirmationDialog;
}

export function button(spec: ButtonSpec): Button {
  return {
    type: 'button',
    text: plain(truncate(spec.text, 75)),
    action_id: spec.actionId,
    ...(spec.value !== undefined ? { value: spec.value } : {}),
    ...(spec.url !== undefined ? { url: spec.url } : {}),
    ...(spec.style ? { style: spec.style } : {}),
    ...(spec.confirm ? { confirm: spec.confirm } : {}),
  };
}

export function confirmDialog(title: string, text: string, confirm: string, style?: 'primary' | 'danger') {
  return {
    title: plain(truncate(title, 100)),
    text: mrkdwn(truncate(text, 300)),
    confirm: plain(truncate(confirm, 30)),
    deny: plain('Cancel'),
    ...(style ? { style } : {}),
  } satisfies ConfirmationDialog;
}

export function option(text: string, value: string, description?: string): PlainTextOption {
  return {
    text: plain(truncate(text, 75)),
    value,
    ...(description ? { description: plain(truncate(description, 75)) } : {}),
  };
}

export function modal(spec: {
  callbackId: string;
  title: string;
  blocks: KnownBlock[];
  submit?: string;
  close?: string;
  privateMetadata?: string;
  notifyOnClose?: boolean;
}): ModalView {
  return {
    type: 'modal',
    callback_id: spec.callbackId,
    title: plain(truncate(spec.title, 24)),
    blocks: spec.blocks,
    ...(spec.submit ? { submit: plain(truncate(spec.submit, 24)) } : {}),
    close: plain(truncate(spec.close ?? 'Close', 24)),
    ...(spec.privateMetadata ? { private_metadata: spec.privateMetadata } : {}),
    ...(spec.notifyOnClose ? { notify_on_close: true } : {}),
  };
}

/** Cuts `text` to `max` characters, ending with an ellipsis when something was cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  return `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * The one escaping rule for data (directory values from Entra, error messages that quote them, what
 * people typed): `&`, `<` and `>` are escaped wherever Slack parses markup — mrkdwn objects and a
 * message's top-level `text` — so they cannot form mentions (`<!everyone>`) or links with a false label.
 * plain_text (buttons, headers, options, alt text) is shown literally and is never escaped.
 */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const numberFormat = new Intl.NumberFormat('en-US');
export const count = (n: number) => numberFormat.format(n);

/** "1 person", "2,000 people". */
export function people(n: number): string {
  return `${count(n)} ${n === 1 ? 'person' : 'people'}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

const utc = new Intl.DateTimeFormat('en-GB', {
  dateStyle: 'medium',
  timeStyle: 'short',
  timeZone: 'UTC',
});

/**
 * A date Slack renders in each reader's own time zone. `format` uses Slack's tokens; the fallback
 * (UTC) is what clients that cannot render it, and notifications, show.
 */
export function slackDate(date: Date, format = '{date_short_pretty} at {time}'): string {
  const seconds = Math.floor(date.getTime() / 1000);
  return `<!date^${seconds}^${format}|${utc.format(date)} UTC>`;
}

/** "0.4 s", "45 s", "3 min 5 s", "1 h 2 min". */
export function duration(ms: number): string {
  if (ms < 9_950) return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}

/** A text progress bar such as `▰▰▰▰▱▱▱▱▱▱ 40%`. */
export function progressBar(done: number, total: number, width = 10): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(ratio * width);
  return `${'▰'.repeat(filled)}${'▱'.repeat(width - filled)} ${Math.floor(ratio * 100)}%`;
}

/** "a, b and c"; long lists end with "and N more". */
export function list(items: string[], max = items.length): string {
  const shown = items.slice(0, max);
  const rest = items.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${count(rest)} more`;
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

export const userMention = (userId: string) => `<@${userId}>`;
export const channelMention = (channelId: string) => `<#${channelId}>`;
