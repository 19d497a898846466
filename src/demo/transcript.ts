import { type MessageLike, renderMessage, renderSurface, type SurfaceLike } from './render.ts';
import { paint, type TextStyle } from './text.ts';

/**
 * The demo's narration: numbered steps, who does what, and every Slack surface the app produced,
 * rendered as text and indented under the action that caused it.
 */

const INDENT = '  ';
const RULE_WIDTH = 72;

export class Transcript {
  constructor(
    private readonly out: NodeJS.WritableStream,
    readonly style: TextStyle,
  ) {}

  private write(text: string): void {
    this.out.write(`${text}\n`);
  }

  private indented(text: string): void {
    this.write(
      text
        .split('\n')
        .map((l) => INDENT + l)
        .join('\n'),
    );
  }

  title(text: string): void {
    this.write(paint(this.style, 'bold', text));
  }

  step(number: number, title: string): void {
    const head = `━━ ${number}. ${title} `;
    this.write('');
    this.write(paint(this.style, 'bold', head + '━'.repeat(Math.max(3, RULE_WIDTH - head.length))));
  }

  /** Someone does something in Slack or in the browser. */
  act(text: string): void {
    this.write(`${paint(this.style, 'green', '▶')} ${text}`);
  }

  /** What happened, in a sentence. */
  note(text: string): void {
    this.indented(paint(this.style, 'dim', text));
  }

  line(text = ''): void {
    this.write(text);
  }

  surface(view: SurfaceLike, errors?: Record<string, string>): void {
    this.indented(renderSurface(view, this.style, { errors }));
  }

  message(message: MessageLike): void {
    this.indented(renderMessage(message, this.style));
  }
}
