import { clean, displayWidth, mrkdwn, padEnd, paint, type TextStyle, wrap, wrapItems } from './text.ts';

/**
 * Block Kit as a reader sees it, in a terminal: messages, modals and Home tabs rendered as text for the
 * demo transcript. Headers are bold, fields sit in two columns, context lines are dimmed, buttons read
 * `[ Button ]`, inputs read `Label: value` (the value a person would see in the form).
 */

export type { TextStyle } from './text.ts';

type Json = Record<string, unknown>;

export interface RenderOptions extends TextStyle {
  /** Columns for the content, bars and indentation excluded (default 88). */
  width?: number;
}

export interface SurfaceLike {
  type?: string;
  title?: unknown;
  submit?: unknown;
  close?: unknown;
  blocks?: unknown[];
  /** What the person has entered so far, as Slack keeps it (`view.state.values`). */
  state?: { values?: Record<string, Record<string, unknown>> };
}

export interface MessageLike {
  text?: string;
  blocks?: unknown[];
}

const FIELD_GAP = 3;

const textOf = (value: unknown): string => {
  const raw = typeof value === 'string' ? value : (value as Json | undefined)?.text;
  return typeof raw === 'string' ? clean(raw) : '';
};

/** A text object: mrkdwn is formatted, plain_text is shown as written. */
function text(value: unknown, style: TextStyle): string {
  const object = value as Json | undefined;
  if (!object) return '';
  return object.type === 'mrkdwn' ? mrkdwn(String(object.text ?? ''), style) : textOf(object);
}

const buttonLabel = (element: Json, style: TextStyle) => {
  const link = typeof element.url === 'string' ? ' ↗' : '';
  const label = `[ ${text(element.text, style)}${link} ]`;
  return element.style === 'primary' ? paint(style, 'bold', label) : label;
};

/** What a form element shows: its value, or its placeholder when empty. */
function elementValue(element: Json, state: Json | undefined, style: TextStyle): string {
  const chosen = (option: unknown) => textOf((option as Json | undefined)?.text);
  const list = (options: unknown) => ((options as unknown[] | undefined) ?? []).map(chosen);
  const placeholder = () => paint(style, 'dim', `(${textOf(element.placeholder) || 'empty'})`);
  const channel = (id: unknown) => (typeof id === 'string' ? `#${style.channels?.[id] ?? id}` : '');
  const s = state ?? {};
  switch (element.type) {
    case 'static_select':
    case 'external_select': {
      const option = 'selected_option' in s ? s.selected_option : element.initial_option;
      return option ? `${chosen(option)} ▾` : placeholder();
    }
    case 'multi_static_select':
    case 'multi_external_select': {
      const names = list('selected_options' in s ? s.selected_options : element.initial_options);
      return names.length > 0 ? names.map((n) => `‹${n}›`).join(' ') : placeholder();
    }
    case 'conversations_select':
    case 'channels_select': {
      const id =
        'selected_conversation' in s ? s.selected_conversation : (s.selected_channel ?? element.initial_conversation);
      return id ? `${channel(id)} ▾` : placeholder();
    }
    case 'users_select': {
      const id = 'selected_user' in s ? s.selected_user : element.initial_user;
      return typeof id === 'string' ? `@${style.users?.[id] ?? id} ▾` : placeholder();
    }
    case 'checkboxes':
    case 'radio_buttons': {
      const picked = new Set(
        ((('selected_options' in s ? s.selected_options : element.initial_options) as Json[] | undefined) ?? []).map(
          (o) => o.value,
        ),
      );
      if ('selected_option' in s) picked.add((s.selected_option as Json | undefined)?.value);
      const mark = element.type === 'checkboxes' ? ['☑', '☐'] : ['◉', '○'];
      return ((element.options as Json[] | undefined) ?? [])
        .map((o) => `${picked.has(o.value) ? mark[0] : mark[1]} ${textOf(o.text)}`)
        .join('   ');
    }
    case 'plain_text_input': {
      const value = 'value' in s ? s.value : element.initial_value;
      return typeof value === 'string' && value !== '' ? value : placeholder();
    }
    case 'button':
      return buttonLabel(element, style);
    default:
      return paint(style, 'dim', `(${String(element.type)})`);
  }
}

/** Two columns of fields; each field keeps its own lines (label on the first). */
function fieldColumns(fields: unknown[], width: number, style: TextStyle): string[] {
  const column = Math.floor((width - FIELD_GAP) / 2);
  const cells = fields.map((f) => wrap(text(f, style), column));
  const lines: string[] = [];
  for (let i = 0; i < cells.length; i += 2) {
    const left = cells[i];
    const right = cells[i + 1] ?? [];
    for (let row = 0; row < Math.max(left.length, right.length); row++) {
      const l = left[row] ?? '';
      const r = right[row] ?? '';
      lines.push(r === '' ? l : `${padEnd(l, column)}${' '.repeat(FIELD_GAP)}${r}`);
    }
  }
  return lines;
}

function accessoryLine(accessory: Json | undefined, style: TextStyle): string | null {
  if (!accessory) return null;
  if (accessory.type === 'image') return paint(style, 'dim', `[photo: ${String(accessory.alt_text ?? '')}]`);
  if (accessory.type === 'button') return buttonLabel(accessory, style);
  return elementValue(accessory, undefined, style);
}

function blockLines(
  block: Json,
  options: Required<Pick<RenderOptions, 'width'>> & TextStyle,
  values: Record<string, Record<string, unknown>>,
  errors: Record<string, string>,
): string[] {
  const { width } = options;
  switch (block.type) {
    case 'header':
      return wrap(paint(options, 'bold', text(block.text, options).toUpperCase()), width);
    case 'divider':
      return [paint(options, 'dim', '─'.repeat(Math.min(width, 40)))];
    case 'section': {
      const lines = block.text ? wrap(text(block.text, options), width) : [];
      if (Array.isArray(block.fields)) lines.push(...fieldColumns(block.fields, width, options));
      const accessory = accessoryLine(block.accessory as Json | undefined, options);
      if (accessory) lines.push(accessory);
      return lines;
    }
    case 'context': {
      const parts = ((block.elements as Json[] | undefined) ?? []).map((e) =>
        e.type === 'image' ? '' : text(e, options),
      );
      return wrap(parts.filter(Boolean).join('  '), width).map((l) => paint(options, 'dim', l));
    }
    case 'actions':
      return wrapItems(
        ((block.elements as Json[] | undefined) ?? []).map((e) => elementValue(e, undefined, options)),
        width,
      );
    case 'input': {
      const element = (block.element ?? {}) as Json;
      const blockId = String(block.block_id ?? '');
      const state = values[blockId]?.[String(element.action_id ?? '')] as Json | undefined;
      const label = `${paint(options, 'bold', textOf(block.label))}${block.optional ? paint(options, 'dim', ' (optional)') : ''}`;
      const lines = wrap(`${label}: ${elementValue(element, state, options)}`, width);
      if (errors[blockId]) lines.push(...wrap(paint(options, 'red', `⚠ ${errors[blockId]}`), width));
      else if (block.hint) lines.push(...wrap(paint(options, 'dim', textOf(block.hint)), width));
      return lines;
    }
    case 'image':
      return [paint(options, 'dim', `[image: ${String(block.alt_text ?? '')}]`)];
    case 'rich_text':
      return wrap(richText(block), width);
    default:
      return [paint(options, 'dim', `[${String(block.type)}]`)];
  }
}

function richText(block: Json): string {
  const walk = (node: unknown): string => {
    const n = node as Json;
    if (typeof n.text === 'string') return n.text;
    if (Array.isArray(n.elements)) return n.elements.map(walk).join('');
    return '';
  };
  return walk(block);
}

/** The blocks as lines of text, a blank line between blocks (as Slack spaces them). */
export function renderBlocks(
  blocks: unknown[],
  options: RenderOptions,
  extra: { values?: Record<string, Record<string, unknown>>; errors?: Record<string, string> } = {},
): string[] {
  const resolved = { ...options, width: options.width ?? 88 };
  const lines: string[] = [];
  let previous: Json | undefined;
  for (const block of blocks as Json[]) {
    // A form reads better packed: no blank line between inputs, and a hint said once for a run of inputs.
    const inForm = block.type === 'input' && previous?.type === 'input';
    const repeatedHint = inForm && textOf(block.hint) !== '' && textOf(block.hint) === textOf(previous?.hint);
    const rendered = blockLines(
      repeatedHint ? { ...block, hint: undefined } : block,
      resolved,
      extra.values ?? {},
      extra.errors ?? {},
    );
    previous = block;
    if (rendered.length === 0) continue;
    if (lines.length > 0 && !inForm) lines.push('');
    lines.push(...rendered);
  }
  return lines;
}

function framed(title: string, body: string[], style: TextStyle, footer?: string): string {
  const top = `╭─ ${paint(style, 'bold', title)} `;
  const lines = [top, ...body.map((l) => (l === '' ? '│' : `│ ${l}`))];
  if (footer) lines.push('│', `│ ${footer}`);
  lines.push(`╰${'─'.repeat(Math.max(8, displayWidth(top) - 1))}`);
  return lines.join('\n');
}

/** A message (chat.postMessage, chat.update, respond): its blocks, or its text when it has none. */
export function renderMessage(message: MessageLike, options: RenderOptions): string {
  const blocks = message.blocks ?? [];
  const body =
    blocks.length > 0 ? renderBlocks(blocks, options) : wrap(mrkdwn(message.text ?? '', options), options.width ?? 88);
  return body.map((l) => (l === '' ? '┃' : `┃ ${l}`)).join('\n');
}

/** A modal (title bar, form values, errors under their inputs, Cancel/Submit buttons) or a Home tab. */
export function renderSurface(
  view: SurfaceLike,
  options: RenderOptions,
  extra: { errors?: Record<string, string> } = {},
): string {
  const body = renderBlocks(view.blocks ?? [], options, { values: view.state?.values, errors: extra.errors });
  if (view.type === 'home') return framed('App Home', body, options);
  const buttons = [
    view.close && `[ ${textOf(view.close)} ]`,
    view.submit && paint(options, 'bold', `[ ${textOf(view.submit)} ]`),
  ]
    .filter(Boolean)
    .join(' ');
  return framed(textOf(view.title) || 'Modal', body, options, buttons || undefined);
}
