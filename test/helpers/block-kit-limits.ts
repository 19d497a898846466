/**
 * A stand-in for src/slack/views/limits.ts (`validateSurface`), which the Slack branch provides: the Block
 * Kit limits of shared/reference/slack-bolt.md §2 that the /whois messages can reach. Returns the problems.
 */

type Json = Record<string, unknown>;

const LIMITS = {
  messageBlocks: 50,
  messageText: 4000,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  imageUrl: 3000,
  imageAlt: 2000,
} as const;

function length(text: unknown): number {
  return typeof text === 'string' ? Array.from(text).length : 0;
}

function checkText(problems: string[], where: string, object: unknown, max: number) {
  const text = (object as Json | undefined)?.text;
  if (typeof text !== 'string' || text.length === 0) problems.push(`${where}: text is missing or empty`);
  else if (length(text) > max) problems.push(`${where}: text is ${length(text)} characters (max ${max})`);
}

export function messageLimitProblems(message: { text?: unknown; blocks?: unknown }): string[] {
  const problems: string[] = [];
  if (typeof message.text !== 'string' || message.text.trim() === '') problems.push('top-level text fallback missing');
  else if (length(message.text) > LIMITS.messageText) problems.push('top-level text too long');
  const blocks = (message.blocks ?? []) as Json[];
  if (blocks.length > LIMITS.messageBlocks) problems.push(`${blocks.length} blocks (max ${LIMITS.messageBlocks})`);
  const actionIds = new Set<string>();
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    const where = `block ${i} (${block.type})`;
    if (block.block_id !== undefined) {
      const id = String(block.block_id);
      if (length(id) > LIMITS.blockId) problems.push(`${where}: block_id too long`);
      if (blockIds.has(id)) problems.push(`${where}: duplicate block_id ${id}`);
      blockIds.add(id);
    }
    if (block.type === 'section') {
      if (!block.text && !block.fields) problems.push(`${where}: needs text or fields`);
      if (block.text) checkText(problems, where, block.text, LIMITS.sectionText);
      const fields = (block.fields ?? []) as Json[];
      if (fields.length > LIMITS.fields) problems.push(`${where}: ${fields.length} fields (max ${LIMITS.fields})`);
      if (block.fields && fields.length === 0) problems.push(`${where}: empty fields`);
      for (const [j, f] of fields.entries()) checkText(problems, `${where} field ${j}`, f, LIMITS.fieldText);
      const accessory = block.accessory as Json | undefined;
      if (accessory?.type === 'image') {
        if (length(accessory.image_url) > LIMITS.imageUrl || !accessory.image_url) problems.push(`${where}: image_url`);
        if (length(accessory.alt_text) > LIMITS.imageAlt || !accessory.alt_text) problems.push(`${where}: alt_text`);
      }
    } else if (block.type === 'context') {
      const elements = (block.elements ?? []) as Json[];
      if (elements.length === 0 || elements.length > LIMITS.contextElements) problems.push(`${where}: elements`);
      for (const [j, e] of elements.entries()) checkText(problems, `${where} element ${j}`, e, LIMITS.sectionText);
    } else if (block.type === 'actions') {
      const elements = (block.elements ?? []) as Json[];
      if (elements.length === 0 || elements.length > LIMITS.actionsElements) problems.push(`${where}: elements`);
      for (const e of elements) {
        const id = String(e.action_id ?? '');
        if (!id || length(id) > LIMITS.actionId) problems.push(`${where}: action_id "${id}"`);
        if (actionIds.has(id)) problems.push(`${where}: duplicate action_id ${id}`);
        actionIds.add(id);
        if (e.type === 'button') {
          checkText(problems, `${where} button ${id}`, e.text, LIMITS.buttonText);
          if (length(e.value) > LIMITS.buttonValue) problems.push(`${where}: button value too long`);
        }
      }
    } else {
      problems.push(`${where}: block type not checked here`);
    }
  });
  return problems;
}
