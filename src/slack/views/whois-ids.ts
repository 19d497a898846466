/** Action ids of the /whois messages (to be folded into src/slack/ids.ts). */
export const WHOIS_ACTIONS = {
  /** Shows another person's card in place of this one; `value` is the profile id. Suffixed `:<n>`, unique per block. */
  showPerson: 'whois:show_person',
  /** Posts the card to the channel for everyone; `value` is the profile id. */
  share: 'whois:share',
} as const;

/** Matches every `showPerson` button, whatever its suffix. */
export const SHOW_PERSON_ACTION = /^whois:show_person(:[a-z0-9]+)?$/;

export const WHOIS_BLOCKS = {
  card: 'whois_card',
  details: 'whois_details',
  cardActions: 'whois_card_actions',
  others: 'whois_others',
  suggestions: 'whois_suggestions',
} as const;
