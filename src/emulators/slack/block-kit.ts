/**
 * Slack's Block Kit limits as the emulator enforces them: its own table, written from Slack's reference pages
 * (not from the product's validator, so a wrong limit in the product cannot pass both sides), and a checker that
 * answers as Slack does: one `[ERROR] … [json-pointer:/…]` line per problem, e.g. chat.postMessage answering
 * `invalid_blocks` with "must be less than 3001 characters [json-pointer:/blocks/0/text/text]" and views.open
 * answering `invalid_arguments` with "must be less than 25 characters [json-pointer:/view/title/text]".
 */

/** A limit and the page that states it. Page titles are those of docs.slack.dev / api.slack.com. */
export interface SlackLimit {
  max: number;
  source: string;
}

const BLOCKS_PAGE = 'Blocks reference, docs.slack.dev/reference/block-kit/blocks';
const MODAL_PAGE = 'Modal views reference ("View object"), docs.slack.dev/reference/views/modal-views';
const SECTION = 'Section block, docs.slack.dev/reference/block-kit/blocks/section-block';
const BUTTON = 'Button element, docs.slack.dev/reference/block-kit/block-elements/button-element';
const OPTION = 'Option object, docs.slack.dev/reference/block-kit/composition-objects/option-object';
const CONFIRM =
  'Confirmation dialog object, docs.slack.dev/reference/block-kit/composition-objects/confirmation-dialog-object';
const SELECT = 'Select menu element, docs.slack.dev/reference/block-kit/block-elements/select-menu-element';
const IMAGE = 'Image block, docs.slack.dev/reference/block-kit/blocks/image-block';
const INPUT = 'Input block, docs.slack.dev/reference/block-kit/blocks/input-block';
const TEXT_OBJECT = 'Text object, docs.slack.dev/reference/block-kit/composition-objects/text-object';

export const SLACK_LIMITS = {
  messageBlocks: { max: 50, source: `${BLOCKS_PAGE}: "up to 50 blocks in each message"` },
  viewBlocks: { max: 100, source: `${BLOCKS_PAGE}: "100 blocks in modals or Home tabs"` },
  viewTitle: { max: 24, source: `${MODAL_PAGE}: title "Max length of 24 characters"` },
  viewButton: { max: 24, source: `${MODAL_PAGE}: submit and close "Max length of 24 characters"` },
  privateMetadata: { max: 3000, source: `${MODAL_PAGE}: private_metadata "Max length of 3000 characters"` },
  callbackId: { max: 255, source: `${MODAL_PAGE}: callback_id "Max length of 255 characters"` },
  externalId: { max: 255, source: 'views.update method, docs.slack.dev/reference/methods/views.update: external_id' },
  blockId: { max: 255, source: `${SECTION}: block_id "Maximum length for this field is 255 characters"` },
  actionId: { max: 255, source: `${BUTTON}: action_id "Maximum length … is 255 characters"` },
  textObject: { max: 3000, source: `${TEXT_OBJECT}: text "The maximum length is 3000 characters"` },
  sectionText: { max: 3000, source: `${SECTION}: text "Maximum length for the text in this field is 3000 characters"` },
  sectionFields: { max: 10, source: `${SECTION}: fields "Maximum number of items is 10"` },
  fieldText: { max: 2000, source: `${SECTION}: fields "Maximum length for the text in each item is 2000 characters"` },
  headerText: {
    max: 150,
    source: 'Header block, docs.slack.dev/reference/block-kit/blocks/header-block: 150 characters',
  },
  contextElements: {
    max: 10,
    source: 'Context block, docs.slack.dev/reference/block-kit/blocks/context-block: 10 elements',
  },
  actionsElements: {
    max: 25,
    source: 'Actions block, docs.slack.dev/reference/block-kit/blocks/actions-block: 25 elements',
  },
  inputLabel: { max: 2000, source: `${INPUT}: label "Maximum length … is 2000 characters"` },
  inputHint: { max: 2000, source: `${INPUT}: hint "Maximum length … is 2000 characters"` },
  buttonText: { max: 75, source: `${BUTTON}: text "Maximum length … is 75 characters"` },
  buttonValue: { max: 2000, source: `${BUTTON}: value "Maximum length … is 2000 characters"` },
  buttonUrl: { max: 3000, source: `${BUTTON}: url "Maximum length … is 3000 characters"` },
  accessibilityLabel: { max: 75, source: `${BUTTON}: accessibility_label "Maximum length … is 75 characters"` },
  optionText: { max: 75, source: `${OPTION}: text "Maximum length … is 75 characters"` },
  optionValue: { max: 150, source: `${OPTION}: value "Maximum length … is 150 characters"` },
  optionDescription: { max: 75, source: `${OPTION}: description "Maximum length … is 75 characters"` },
  optionUrl: { max: 3000, source: `${OPTION}: url "Maximum length … is 3000 characters"` },
  options: { max: 100, source: `${SELECT}: options "Maximum number of options is 100"` },
  optionGroups: { max: 100, source: `${SELECT}: option_groups "Maximum number of option groups is 100"` },
  optionGroupLabel: {
    max: 75,
    source: 'Option group object, docs.slack.dev/reference/block-kit/composition-objects/option-group-object: label 75',
  },
  checkboxOptions: {
    max: 10,
    source: 'Checkboxes / Radio button group elements, docs.slack.dev/reference/block-kit/block-elements: 10 options',
  },
  overflowOptions: {
    max: 5,
    source: 'Overflow menu element, docs.slack.dev/reference/block-kit/block-elements/overflow-menu-element: 5 options',
  },
  placeholder: { max: 150, source: `${SELECT}: placeholder "Maximum length … is 150 characters"` },
  confirmTitle: { max: 100, source: `${CONFIRM}: title "Maximum length … is 100 characters"` },
  confirmText: { max: 300, source: `${CONFIRM}: text "Maximum length … is 300 characters"` },
  confirmButton: { max: 30, source: `${CONFIRM}: confirm and deny "Maximum length … is 30 characters"` },
  inputMaxLength: {
    max: 3000,
    source: 'Plain-text input element, docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element',
  },
  imageAlt: { max: 2000, source: `${IMAGE}: alt_text "Maximum length … is 2000 characters"` },
  imageUrl: { max: 3000, source: `${IMAGE}: image_url "Maximum length … is 3000 characters"` },
  imageTitle: { max: 2000, source: `${IMAGE}: title "Maximum length … is 2000 characters"` },
  viewBytes: { max: 250 * 1024, source: 'views.open / views.update / views.publish methods: view_too_large' },
  postedText: {
    max: 40_000,
    source: 'chat.postMessage method, docs.slack.dev/reference/methods/chat.postMessage: text truncated past 40,000',
  },
  updatedText: { max: 4000, source: 'chat.update method, docs.slack.dev/reference/methods/chat.update: msg_too_long' },
  messageBlockText: {
    max: 12_000,
    source:
      'msg_blocks_too_long, not on a reference page: Slack staff in slackapi/bolt-js#2509 ("12,000 text characters")',
  },
} as const satisfies Record<string, SlackLimit>;

export type LimitName = keyof typeof SLACK_LIMITS;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Slack counts characters, not UTF-16 units. */
const chars = (v: unknown) => (typeof v === 'string' ? [...v].length : 0);

/** What Slack found wrong: the line it prints, and the JSON pointer it names. */
export interface SlackProblem {
  pointer: string;
  message: string;
}

class Walk {
  readonly problems: SlackProblem[] = [];
  textTotal = 0;

  private fail(pointer: string, message: string) {
    this.problems.push({ pointer, message });
  }

  string(pointer: string, value: unknown, limit: LimitName) {
    const max = SLACK_LIMITS[limit].max;
    if (chars(value) > max) this.fail(pointer, `must be less than ${max + 1} characters`);
  }

  list(pointer: string, value: unknown, limit: LimitName, each?: (pointer: string, item: unknown) => void) {
    if (value === undefined) return;
    if (!Array.isArray(value)) return this.fail(pointer, 'must be an array');
    if (value.length > SLACK_LIMITS[limit].max)
      this.fail(pointer, `no more than ${SLACK_LIMITS[limit].max} items allowed`);
    value.forEach((item, i) => {
      each?.(`${pointer}/${i}`, item);
    });
  }

  /** A text object; `plain` where Slack accepts only plain_text. */
  text(pointer: string, value: unknown, limit: LimitName, plain = false) {
    if (!isObject(value) || typeof value.text !== 'string') return this.fail(pointer, 'must provide a text object');
    if (!(plain ? ['plain_text'] : ['plain_text', 'mrkdwn']).includes(value.type as string)) {
      this.fail(`${pointer}/type`, `unsupported type: ${String(value.type)}`);
    }
    if (value.text.length === 0) this.fail(`${pointer}/text`, 'must be more than 0 characters');
    this.string(`${pointer}/text`, value.text, limit);
    this.textTotal += chars(value.text);
  }

  optionalText(pointer: string, value: unknown, limit: LimitName, plain = false) {
    if (value !== undefined) this.text(pointer, value, limit, plain);
  }

  option = (pointer: string, value: unknown) => {
    if (!isObject(value)) return this.fail(pointer, 'must be an option object');
    this.text(`${pointer}/text`, value.text, 'optionText');
    this.string(`${pointer}/value`, value.value, 'optionValue');
    this.optionalText(`${pointer}/description`, value.description, 'optionDescription');
    this.string(`${pointer}/url`, value.url, 'optionUrl');
  };

  element = (pointer: string, el: unknown) => {
    if (!isObject(el)) return this.fail(pointer, 'must be an element object');
    this.string(`${pointer}/action_id`, el.action_id, 'actionId');
    this.optionalText(`${pointer}/placeholder`, el.placeholder, 'placeholder', true);
    if (isObject(el.confirm)) {
      this.text(`${pointer}/confirm/title`, el.confirm.title, 'confirmTitle', true);
      this.text(`${pointer}/confirm/text`, el.confirm.text, 'confirmText');
      this.text(`${pointer}/confirm/confirm`, el.confirm.confirm, 'confirmButton', true);
      this.text(`${pointer}/confirm/deny`, el.confirm.deny, 'confirmButton', true);
    }
    if (el.initial_option !== undefined) this.option(`${pointer}/initial_option`, el.initial_option);
    this.list(`${pointer}/initial_options`, el.initial_options, 'options', this.option);
    switch (el.type) {
      case 'button':
        this.text(`${pointer}/text`, el.text, 'buttonText', true);
        this.string(`${pointer}/value`, el.value, 'buttonValue');
        this.string(`${pointer}/url`, el.url, 'buttonUrl');
        this.string(`${pointer}/accessibility_label`, el.accessibility_label, 'accessibilityLabel');
        break;
      case 'static_select':
      case 'multi_static_select':
        this.list(`${pointer}/options`, el.options, 'options', this.option);
        this.list(`${pointer}/option_groups`, el.option_groups, 'optionGroups', (p, group) => {
          if (!isObject(group)) return this.fail(p, 'must be an option group object');
          this.text(`${p}/label`, group.label, 'optionGroupLabel', true);
          this.list(`${p}/options`, group.options, 'options', this.option);
        });
        break;
      case 'checkboxes':
      case 'radio_buttons':
        this.list(`${pointer}/options`, el.options, 'checkboxOptions', this.option);
        break;
      case 'overflow':
        this.list(`${pointer}/options`, el.options, 'overflowOptions', this.option);
        break;
      case 'plain_text_input':
        if (typeof el.max_length === 'number' && el.max_length > SLACK_LIMITS.inputMaxLength.max) {
          this.fail(`${pointer}/max_length`, `must be less than or equal to ${SLACK_LIMITS.inputMaxLength.max}`);
        }
        break;
      case 'image':
        this.string(`${pointer}/alt_text`, el.alt_text, 'imageAlt');
        this.string(`${pointer}/image_url`, el.image_url, 'imageUrl');
        break;
    }
  };

  block = (pointer: string, block: unknown) => {
    if (!isObject(block)) return this.fail(pointer, 'must be a block object');
    this.string(`${pointer}/block_id`, block.block_id, 'blockId');
    switch (block.type) {
      case 'section':
        if (block.text === undefined && block.fields === undefined) this.fail(pointer, 'must provide text or fields');
        this.optionalText(`${pointer}/text`, block.text, 'sectionText');
        this.list(`${pointer}/fields`, block.fields, 'sectionFields', (p, f) => this.text(p, f, 'fieldText'));
        if (block.accessory !== undefined) this.element(`${pointer}/accessory`, block.accessory);
        return;
      case 'header':
        return this.text(`${pointer}/text`, block.text, 'headerText', true);
      case 'context':
        return this.list(`${pointer}/elements`, block.elements, 'contextElements', (p, e) =>
          isObject(e) && e.type === 'image' ? this.element(p, e) : this.text(p, e, 'textObject'),
        );
      case 'actions':
        return this.list(`${pointer}/elements`, block.elements, 'actionsElements', this.element);
      case 'input':
        this.text(`${pointer}/label`, block.label, 'inputLabel', true);
        this.optionalText(`${pointer}/hint`, block.hint, 'inputHint', true);
        return this.element(`${pointer}/element`, block.element);
      case 'image':
        this.string(`${pointer}/alt_text`, block.alt_text, 'imageAlt');
        this.string(`${pointer}/image_url`, block.image_url, 'imageUrl');
        return this.optionalText(`${pointer}/title`, block.title, 'imageTitle', true);
      case 'divider':
        return;
      default:
        this.fail(`${pointer}/type`, `unsupported type: ${String(block.type)}`);
    }
  };
}

const lines = (problems: SlackProblem[]) => problems.map((p) => `[ERROR] ${p.message} [json-pointer:${p.pointer}]`);

/** A message's blocks as chat.postMessage / chat.update check them: Slack's error code and lines, or null. */
export function refuseMessageBlocks(blocks: unknown[]): { error: string; messages: string[] } | null {
  const walk = new Walk();
  walk.list('/blocks', blocks, 'messageBlocks', walk.block);
  if (walk.problems.length > 0) return { error: 'invalid_blocks', messages: lines(walk.problems) };
  if (walk.textTotal > SLACK_LIMITS.messageBlockText.max) return { error: 'msg_blocks_too_long', messages: [] };
  return null;
}

/** A modal or Home tab view as views.open / push / update / publish check it. */
export function refuseView(view: Json, type: 'modal' | 'home'): { error: string; messages: string[] } | null {
  const walk = new Walk();
  if (view.type !== type) walk.problems.push({ pointer: '/view/type', message: `must be ${type}` });
  walk.list('/view/blocks', view.blocks ?? [], 'viewBlocks', walk.block);
  walk.string('/view/private_metadata', view.private_metadata, 'privateMetadata');
  walk.string('/view/callback_id', view.callback_id, 'callbackId');
  walk.string('/view/external_id', view.external_id, 'externalId');
  if (view.type === 'modal') {
    walk.text('/view/title', view.title, 'viewTitle', true);
    walk.optionalText('/view/submit', view.submit, 'viewButton', true);
    walk.optionalText('/view/close', view.close, 'viewButton', true);
    const inputs = Array.isArray(view.blocks) && view.blocks.some((b) => isObject(b) && b.type === 'input');
    if (inputs && view.submit === undefined)
      walk.problems.push({ pointer: '/view', message: 'must define submit to use input block' });
  }
  if (walk.problems.length > 0) return { error: 'invalid_arguments', messages: lines(walk.problems) };
  if (Buffer.byteLength(JSON.stringify(view)) > SLACK_LIMITS.viewBytes.max)
    return { error: 'view_too_large', messages: [] };
  return null;
}
