import type { EmulatedView, FormInput, SlackReply } from '../emulators/slack/index.ts';
import { formValues } from '../emulators/slack/index.ts';
import type { DemoStack } from './stack.ts';

/** Reading back from the Slack emulator what the app did, and checking that the app accepted a request. */

/** The app answered a Slack request as Slack expects (200); anything else stops the demo, saying what. */
export function accepted<T extends SlackReply>(reply: T, what: string): T {
  if (reply.status !== 200) throw new Error(`${what}: the app answered ${reply.status} ${reply.text.slice(0, 200)}`);
  return reply;
}

/** The modal `id` while it shows the step `callbackId`, else null. */
export function viewIf(stack: DemoStack, id: string, callbackId: string): EmulatedView | null {
  const view = stack.slack.view(id);
  return view?.callback_id === callbackId ? view : null;
}

/** The modal as it looks with `inputs` filled in (Slack keeps them on screen when it shows errors). */
export function withValues(view: EmulatedView, inputs: Record<string, FormInput>): EmulatedView {
  return { ...view, state: { values: formValues(view, inputs) } };
}

/** What the app posted to a response URL (its answers to a slash command). */
export function responsesTo(stack: DemoStack, responseUrl: string) {
  return stack.slack
    .responses()
    .filter((r) => responseUrl.endsWith(`/${r.id}`))
    .map((r) => r.body as { text?: string; blocks?: unknown[] });
}
