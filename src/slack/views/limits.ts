/**
 * Slack's Block Kit limits as a table, and a validator that walks a message, modal or Home tab and
 * lists every limit it breaks. Slack rejects such payloads at send time (`invalid_blocks`,
 * `invalid_arguments`, `view_too_large`), so tests render every view and expect no violations.
 * Sources: reference/slack-bolt.md §2.
 */

export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  /** `chat.update` refuses longer text with `msg_too_long`; progress messages are updated, so hold every message to it. */
  messageText: 4000,
  /** Undocumented cumulative block text per message (`msg_blocks_too_long` at roughly 12–13k). */
  messageBlockText: 12_000,
  viewTitle: 24,
  viewButton: 24,
  privateMetadata: 3000,
  callbackId: 255,
  externalId: 255,
  viewBytes: 250 * 1024,
  blockId: 255,
  actionId: 255,
  textObject: 3000,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  inputLabel: 2000,
  inputHint: 2000,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  accessibilityLabel: 75,
  optionText: 75,
  optionValue: 150,
  optionDescription: 75,
  options: 100,
  optionGroups: 100,
  optionGroupLabel: 75,
  checkboxOptions: 10,
  overflowOptions: 5,
  placeholder: 150,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  inputMaxLength: 3000,
  imageAlt: 2000,
  imageUrl: 3000,
} as const;

export type SurfaceKind = 'message' | 'modal' | 'home';

export interface Violation {
  /** JSON path of the offending value, e.g. `blocks[3].elements[0].text.text`. */
  path: string;
  message: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const length = (v: unknown) => (typeof v === 'string' ? [...v].length : 0);

class Checker {
  readonly violations: Violation[] = [];
  blockText = 0;

  add(path: string, message: string) {
    this.violations.push({ path, message });
  }

  max(path: string, value: unknown, limit: number, what: string) {
    const n = length(value);
    if (n > limit) this.add(path, `${what} is ${n} characters; the limit is ${limit}`);
  }

  /** A text object: `plain_text` or `mrkdwn` (when allowed), 1…`limit` characters. */
  text(path: string, value: unknown, limit: number, what: string, plainOnly = false) {
    if (!isObject(value)) {
      this.add(path, `${what} must be a text object`);
      return;
    }
    const allowed = plainOnly ? ['plain_text'] : ['plain_text', 'mrkdwn'];
    if (!allowed.includes(value.type as string)) this.add(`${path}.type`, `${what} must be ${allowed.join(' or ')}`);
    if (typeof value.text !== 'string' || value.text.length === 0)
      this.add(`${path}.text`, `${what} must not be empty`);
    this.max(`${path}.text`, value.text, Math.min(limit, LIMITS.textObject), what);
    this.blockText += length(value.text);
  }

  count(path: string, items: unknown, limit: number, what: string, min = 0) {
    const n = Array.isArray(items) ? items.length : 0;
    if (n > limit) this.add(path, `${what}: ${n} items; the limit is ${limit}`);
    if (n < min) this.add(path, `${what}: needs at least ${min}`);
  }

  confirm(path: string, value: unknown) {
    if (!isObject(value)) return;
    this.text(`${path}.title`, value.title, LIMITS.confirmTitle, 'confirm title', true);
    this.text(`${path}.text`, value.text, LIMITS.confirmText, 'confirm text');
    this.text(`${path}.confirm`, value.confirm, LIMITS.confirmButton, 'confirm button', true);
    this.text(`${path}.deny`, value.deny, LIMITS.confirmButton, 'deny button', true);
  }

  option(path: string, value: unknown) {
    if (!isObject(value)) {
      this.add(path, 'option must be an object');
      return;
    }
    this.text(`${path}.text`, value.text, LIMITS.optionText, 'option text');
    if (typeof value.value !== 'string' || value.value === '') this.add(`${path}.value`, 'option value is required');
    this.max(`${path}.value`, value.value, LIMITS.optionValue, 'option value');
    if (value.description !== undefined) {
      this.text(`${path}.description`, value.description, LIMITS.optionDescription, 'option description');
    }
    this.max(`${path}.url`, value.url, LIMITS.buttonUrl, 'option url');
  }

  options(path: string, value: unknown, limit: number) {
    if (value === undefined) return;
    this.count(path, value, limit, 'options');
    if (Array.isArray(value)) {
      value.forEach((o, i) => {
        this.option(`${path}[${i}]`, o);
      });
    }
  }

  element(path: string, el: unknown, actionIds: Set<string>) {
    if (!isObject(el)) {
      this.add(path, 'element must be an object');
      return;
    }
    if (typeof el.action_id === 'string') {
      this.max(`${path}.action_id`, el.action_id, LIMITS.actionId, 'action_id');
      if (actionIds.has(el.action_id))
        this.add(`${path}.action_id`, `action_id "${el.action_id}" repeats in its block`);
      actionIds.add(el.action_id);
    }
    if (el.placeholder !== undefined)
      this.text(`${path}.placeholder`, el.placeholder, LIMITS.placeholder, 'placeholder', true);
    this.confirm(`${path}.confirm`, el.confirm);
    switch (el.type) {
      case 'button':
        this.text(`${path}.text`, el.text, LIMITS.buttonText, 'button text', true);
        this.max(`${path}.value`, el.value, LIMITS.buttonValue, 'button value');
        this.max(`${path}.url`, el.url, LIMITS.buttonUrl, 'button url');
        this.max(
          `${path}.accessibility_label`,
          el.accessibility_label,
          LIMITS.accessibilityLabel,
          'accessibility label',
        );
        break;
      case 'static_select':
      case 'multi_static_select':
        if (el.options === undefined && el.option_groups === undefined) this.add(path, 'a static select needs options');
        if (el.options !== undefined && el.option_groups !== undefined) {
          this.add(path, 'a static select takes options or option_groups, not both');
        }
        this.options(`${path}.options`, el.options, LIMITS.options);
        if (el.option_groups !== undefined) {
          this.count(`${path}.option_groups`, el.option_groups, LIMITS.optionGroups, 'option groups');
          (el.option_groups as unknown[]).forEach((g, i) => {
            if (!isObject(g)) return;
            this.text(
              `${path}.option_groups[${i}].label`,
              g.label,
              LIMITS.optionGroupLabel,
              'option group label',
              true,
            );
            this.options(`${path}.option_groups[${i}].options`, g.options, LIMITS.options);
          });
        }
        this.initialOptions(path, el);
        break;
      case 'external_select':
      case 'multi_external_select':
        this.initialOptions(path, el);
        break;
      case 'checkboxes':
      case 'radio_buttons':
        this.count(`${path}.options`, el.options, LIMITS.checkboxOptions, 'options', 1);
        this.options(`${path}.options`, el.options, LIMITS.checkboxOptions);
        this.initialOptions(path, el);
        break;
      case 'overflow':
        this.count(`${path}.options`, el.options, LIMITS.overflowOptions, 'overflow options', 2);
        this.options(`${path}.options`, el.options, LIMITS.overflowOptions);
        break;
      case 'plain_text_input':
        if (typeof el.max_length === 'number' && el.max_length > LIMITS.inputMaxLength) {
          this.add(`${path}.max_length`, `max_length is ${el.max_length}; the limit is ${LIMITS.inputMaxLength}`);
        }
        break;
      case 'image':
        this.max(`${path}.alt_text`, el.alt_text, LIMITS.imageAlt, 'image alt text');
        this.max(`${path}.image_url`, el.image_url, LIMITS.imageUrl, 'image url');
        break;
    }
    if (typeof el.max_selected_items === 'number' && el.max_selected_items < 1) {
      this.add(`${path}.max_selected_items`, 'max_selected_items must be at least 1');
    }
  }

  initialOptions(path: string, el: Json) {
    if (el.initial_option !== undefined) this.option(`${path}.initial_option`, el.initial_option);
    if (el.initial_options !== undefined) this.options(`${path}.initial_options`, el.initial_options, LIMITS.options);
  }

  block(path: string, block: unknown, blockIds: Set<string>) {
    if (!isObject(block)) {
      this.add(path, 'block must be an object');
      return;
    }
    if (typeof block.block_id === 'string') {
      this.max(`${path}.block_id`, block.block_id, LIMITS.blockId, 'block_id');
      if (blockIds.has(block.block_id)) this.add(`${path}.block_id`, `block_id "${block.block_id}" is used twice`);
      blockIds.add(block.block_id);
    }
    const actionIds = new Set<string>();
    switch (block.type) {
      case 'section':
        if (block.text === undefined && block.fields === undefined) this.add(path, 'a section needs text or fields');
        if (block.text !== undefined) this.text(`${path}.text`, block.text, LIMITS.sectionText, 'section text');
        if (block.fields !== undefined) {
          this.count(`${path}.fields`, block.fields, LIMITS.sectionFields, 'section fields');
          (block.fields as unknown[]).forEach((f, i) => {
            this.text(`${path}.fields[${i}]`, f, LIMITS.fieldText, 'section field');
          });
        }
        if (block.accessory !== undefined) this.element(`${path}.accessory`, block.accessory, actionIds);
        break;
      case 'header':
        this.text(`${path}.text`, block.text, LIMITS.headerText, 'header text', true);
        break;
      case 'context':
        this.count(`${path}.elements`, block.elements, LIMITS.contextElements, 'context elements', 1);
        ((block.elements as unknown[]) ?? []).forEach((e, i) => {
          if (isObject(e) && e.type === 'image') this.element(`${path}.elements[${i}]`, e, actionIds);
          else this.text(`${path}.elements[${i}]`, e, LIMITS.textObject, 'context text');
        });
        break;
      case 'actions':
        this.count(`${path}.elements`, block.elements, LIMITS.actionsElements, 'actions elements', 1);
        ((block.elements as unknown[]) ?? []).forEach((e, i) => {
          this.element(`${path}.elements[${i}]`, e, actionIds);
        });
        break;
      case 'input':
        this.text(`${path}.label`, block.label, LIMITS.inputLabel, 'input label', true);
        if (block.hint !== undefined) this.text(`${path}.hint`, block.hint, LIMITS.inputHint, 'input hint', true);
        if (!isObject(block.element)) this.add(`${path}.element`, 'an input block needs an element');
        else this.element(`${path}.element`, block.element, actionIds);
        break;
      case 'image':
        this.max(`${path}.alt_text`, block.alt_text, LIMITS.imageAlt, 'image alt text');
        this.max(`${path}.image_url`, block.image_url, LIMITS.imageUrl, 'image url');
        if (block.title !== undefined) this.text(`${path}.title`, block.title, LIMITS.imageAlt, 'image title', true);
        break;
      case 'divider':
        break;
      default:
        this.add(`${path}.type`, `block type "${String(block.type)}" is not one this validator knows`);
    }
  }

  blocks(blocks: unknown, limit: number) {
    if (!Array.isArray(blocks)) {
      this.add('blocks', 'blocks must be an array');
      return;
    }
    this.count('blocks', blocks, limit, 'blocks');
    const blockIds = new Set<string>();
    blocks.forEach((b, i) => {
      this.block(`blocks[${i}]`, b, blockIds);
    });
  }
}

/** Every Slack limit `payload` breaks when sent as a message, a modal view or a Home tab view. */
export function validateSurface(kind: SurfaceKind, payload: unknown): Violation[] {
  const c = new Checker();
  if (!isObject(payload)) return [{ path: '', message: 'payload must be an object' }];

  if (kind === 'message') {
    if (typeof payload.text !== 'string' || payload.text.trim() === '') {
      c.add('text', 'a message needs top-level text for notifications and screen readers');
    }
    c.max('text', payload.text, LIMITS.messageText, 'message text');
    c.blocks(payload.blocks, LIMITS.messageBlocks);
    if (c.blockText > LIMITS.messageBlockText) {
      c.add(
        'blocks',
        `blocks hold ${c.blockText} characters of text; Slack refuses more than about ${LIMITS.messageBlockText}`,
      );
    }
    return c.violations;
  }

  if (payload.type !== kind) c.add('type', `a ${kind} view must have type "${kind}"`);
  c.blocks(payload.blocks, LIMITS.viewBlocks);
  c.max('private_metadata', payload.private_metadata, LIMITS.privateMetadata, 'private_metadata');
  c.max('callback_id', payload.callback_id, LIMITS.callbackId, 'callback_id');
  c.max('external_id', payload.external_id, LIMITS.externalId, 'external_id');
  if (kind === 'modal') {
    c.text('title', payload.title, LIMITS.viewTitle, 'modal title', true);
    if (payload.submit !== undefined) c.text('submit', payload.submit, LIMITS.viewButton, 'submit button', true);
    if (payload.close !== undefined) c.text('close', payload.close, LIMITS.viewButton, 'close button', true);
    const hasInput = Array.isArray(payload.blocks) && payload.blocks.some((b) => isObject(b) && b.type === 'input');
    if (hasInput && payload.submit === undefined) c.add('submit', 'a modal with input blocks needs a submit button');
  }
  const bytes = Buffer.byteLength(JSON.stringify(payload));
  if (bytes > LIMITS.viewBytes) c.add('', `the view is ${bytes} bytes; Slack allows ${LIMITS.viewBytes}`);
  return c.violations;
}
