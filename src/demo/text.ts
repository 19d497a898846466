/**
 * Terminal text for the demo transcript: Slack mrkdwn turned into what a reader would see in Slack
 * (bold, links, mentions, dates, emoji), optional ANSI styling, and wrapping by display width.
 */

export interface TextStyle {
  /** ANSI colours and bold; off when the output is not a terminal (tests, pipes, CI logs). */
  color: boolean;
  /** Slack user id → name, for `<@U…>` mentions. */
  users?: Record<string, string>;
  /** Channel id → name, for `<#C…>` references. */
  channels?: Record<string, string>;
  /** Time zone for `<!date^…>` (Slack uses each reader's own); default: this machine's. */
  timeZone?: string;
  /** "Today" for `{date_pretty}` and friends; default: now. */
  now?: Date;
}

const ANSI = { bold: '\u001b[1m', dim: '\u001b[2m', cyan: '\u001b[36m', green: '\u001b[32m', red: '\u001b[31m' };
const RESET = '\u001b[0m';
const ANSI_PATTERN = /\u001b\[[0-9;]*m/g;

export function paint(style: TextStyle, kind: keyof typeof ANSI, text: string): string {
  return style.color && text !== '' ? `${ANSI[kind]}${text}${RESET}` : text;
}

/** The Slack emoji the product's views use, as the characters Slack shows; unknown names stay `:name:`. */
const EMOJI: Record<string, string> = {
  white_check_mark: '✅',
  x: '❌',
  warning: '⚠️',
  hourglass_flowing_sand: '⏳',
  arrows_counterclockwise: '🔄',
  lock: '🔒',
  large_green_circle: '🟢',
  red_circle: '🔴',
  white_circle: '⚪',
  construction: '🚧',
  pause_button: '⏸️',
  no_entry: '⛔',
  no_entry_sign: '🚫',
  cloud: '☁️',
  gear: '⚙️',
  zap: '⚡',
};

/**
 * Text from Slack payloads carries directory data from Entra ID: control and format characters (escape
 * sequences, bidi overrides) would let a name repaint the reader's terminal, so they go. Line breaks and
 * the joiner inside emoji stay.
 */
export function clean(text: string): string {
  return text.replace(/(?![\n\u200d])[\p{Cc}\p{Cf}]/gu, '');
}

function decodeEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** `<…>` forms: links, mentions, channel references, special mentions and dates. */
function angle(inner: string, style: TextStyle): string {
  const [target, label] = splitOnce(inner, '|');
  if (target.startsWith('@')) {
    const id = target.slice(1);
    return `@${label ?? style.users?.[id] ?? id}`;
  }
  if (target.startsWith('#')) {
    const id = target.slice(1);
    return `#${label ?? style.channels?.[id] ?? id}`;
  }
  if (target.startsWith('!date^')) return slackDateText(target, style) ?? label ?? target;
  if (target.startsWith('!subteam^')) return `@${label ?? 'group'}`;
  if (target.startsWith('!')) return `@${target.slice(1)}`;
  return label && label !== target ? `${label} (${target})` : target;
}

/**
 * `!date^<seconds>^<format>[^<link>]` as Slack renders it for a reader: `{time}`, `{date_short}` and the
 * other tokens of Slack's date formatting, in `style.timeZone`. Null for a malformed one (the fallback shows).
 */
function slackDateText(target: string, style: TextStyle): string | null {
  const [, seconds, format] = target.split('^');
  const epoch = Number(seconds);
  if (!Number.isFinite(epoch) || !format) return null;
  const date = new Date(epoch * 1000);
  const timeZone = style.timeZone;
  const as = (options: Intl.DateTimeFormatOptions, locale = 'en-US') =>
    new Intl.DateTimeFormat(locale, { timeZone, ...options }).format(date);
  const dayKey = (d: Date) => new Intl.DateTimeFormat('en-CA', { timeZone }).format(d);
  const today = style.now ?? new Date();
  const pretty = (fallback: string) => {
    const day = dayKey(date);
    const offset = (days: number) => dayKey(new Date(today.getTime() + days * 86_400_000));
    if (day === offset(0)) return 'today';
    if (day === offset(-1)) return 'yesterday';
    if (day === offset(1)) return 'tomorrow';
    return fallback;
  };
  const tokens: Record<string, () => string> = {
    date_num: () => dayKey(date),
    date: () => as({ dateStyle: 'long' }),
    date_short: () => as({ dateStyle: 'medium' }),
    date_long: () => as({ dateStyle: 'full' }),
    date_pretty: () => pretty(as({ dateStyle: 'long' })),
    date_short_pretty: () => pretty(as({ dateStyle: 'medium' })),
    date_long_pretty: () => pretty(as({ dateStyle: 'full' })),
    time: () => as({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }),
    time_secs: () => as({ hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }),
    // Relative time ("3 minutes ago"; Formatting text for app surfaces, Date formatting).
    ago: () => relativeTime(date.getTime() - today.getTime()),
  };
  return format.replace(/\{(\w+)\}/g, (whole, name: string) => tokens[name]?.() ?? whole);
}

const RELATIVE = new Intl.RelativeTimeFormat('en-US', { numeric: 'always' });

/** "12 seconds ago", "3 minutes ago", "in 2 hours": the largest whole unit of `ms` (negative = past). */
function relativeTime(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return RELATIVE.format(Math.trunc(seconds / size), unit);
  }
  return RELATIVE.format(seconds, 'second');
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

/**
 * mrkdwn → terminal text. Code spans are kept verbatim (with their backticks when uncoloured), `*bold*`
 * is bold, `_italic_` and `~strike~` lose their markers, `> quote` lines get a bar.
 */
export function mrkdwn(text: string, style: TextStyle): string {
  const parts = clean(text).split(/(`[^`\n]+`)/);
  const rendered = parts
    .map((part, i) => {
      if (i % 2 === 1)
        return style.color ? paint(style, 'cyan', decodeEntities(part.slice(1, -1))) : decodeEntities(part);
      return inline(part, style);
    })
    .join('');
  return rendered
    .split('\n')
    .map((line) => (line.startsWith('>') ? `▏ ${line.slice(1).trimStart()}` : line))
    .join('\n');
}

function inline(text: string, style: TextStyle): string {
  return decodeEntities(
    text
      .replace(/<([^<>\n]+)>/g, (_, inner: string) => angle(inner, style))
      .replace(/:([a-z0-9_+-]+):/g, (whole, name: string) => EMOJI[name] ?? whole)
      .replace(
        /(^|[^\w*])\*([^*\n]+)\*(?=$|[^\w*])/g,
        (_, before: string, bold: string) => before + paint(style, 'bold', bold),
      )
      .replace(/(^|[^\w])_([^_\n]+)_(?=$|[^\w])/g, '$1$2')
      .replace(/(^|[^\w])~([^~\n]+)~(?=$|[^\w])/g, '$1$2'),
  );
}

/** Columns a string takes in a terminal: ANSI codes and joiners take none, emoji and East Asian wide characters two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text.replace(ANSI_PATTERN, '')) {
    const code = char.codePointAt(0)!;
    if (code === 0x200d || (code >= 0xfe00 && code <= 0xfe0f) || /\p{Mn}/u.test(char)) continue;
    width += isWide(code, char) ? 2 : 1;
  }
  return width;
}

function isWide(code: number, char: string): boolean {
  if (code >= 0x1f000) return true;
  if (/\p{Emoji_Presentation}/u.test(char)) return true;
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6)
  );
}

export function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/**
 * Breaks `text` into lines of at most `width` columns at spaces (a longer word gets a line of its own),
 * keeping its own line breaks. ANSI styling is carried over line breaks.
 */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    // A bullet or quote keeps its continuation lines under its text.
    const hang = /^(?:\u001b\[[0-9;]*m)*[•▏] /.test(paragraph) ? '  ' : '';
    let line = '';
    for (const word of paragraph.split(' ')) {
      const candidate = line === '' ? word : `${line} ${word}`;
      if (line !== '' && line !== hang && displayWidth(candidate) > width) {
        lines.push(line);
        line = hang + word;
      } else {
        line = candidate;
      }
    }
    lines.push(line);
  }
  return carryStyles(lines);
}

/** Items (buttons) side by side, starting a new line rather than breaking one. */
export function wrapItems(items: string[], width: number): string[] {
  const lines: string[] = [];
  for (const item of items) {
    const last = lines.length - 1;
    if (last >= 0 && displayWidth(`${lines[last]} ${item}`) <= width) lines[last] = `${lines[last]} ${item}`;
    else lines.push(item);
  }
  return lines;
}

/** A style opened on one line and closed on a later one is closed at each line end and reopened on the next. */
function carryStyles(lines: string[]): string[] {
  let open = '';
  return lines.map((line) => {
    const text = open + line;
    const codes = line.match(ANSI_PATTERN) ?? [];
    for (const code of codes) open = code === RESET ? '' : open + code;
    return open ? `${text}${RESET}` : text;
  });
}
