/**
 * The admin's browser in the demo: follows redirects one hop at a time (so the transcript can show each)
 * and keeps cookies per origin, as the sign-in needs (the app binds the flow to a cookie it sets).
 */

export interface BrowserHop {
  method: 'GET' | 'POST';
  url: string;
  status: number;
  /** The next address when the answer is a redirect. */
  location: string | null;
  /** The page, for the last hop. */
  text: string;
}

const MAX_HOPS = 10;

export class DemoBrowser {
  private readonly jar = new Map<string, Map<string, string>>();

  /**
   * Opens `url` and follows redirects; a page with a button (the sign-in link's page) gets its button
   * pressed once. Returns every hop, the page last.
   */
  async open(url: string): Promise<BrowserHop[]> {
    const hops: BrowserHop[] = [];
    let next: string | null = url;
    let method: 'GET' | 'POST' = 'GET';
    let pressed = false;
    while (next) {
      if (hops.length === MAX_HOPS) throw new Error(`the sign-in redirected more than ${MAX_HOPS} times`);
      const hop = await this.request(method, next);
      hops.push(hop);
      const button: RegExpExecArray | null =
        hop.status === 200 && !pressed ? /<form method="post" action="([^"]+)">/.exec(hop.text) : null;
      pressed ||= button !== null;
      method = button ? 'POST' : 'GET';
      next = button ? new URL(button[1].replace(/&amp;/g, '&'), next).toString() : hop.location;
    }
    return hops;
  }

  /** One GET, no redirect followed (the caller may change where the next hop goes). */
  async get(url: string): Promise<BrowserHop> {
    return this.request('GET', url);
  }

  private async request(method: 'GET' | 'POST', url: string): Promise<BrowserHop> {
    const origin = new URL(url).origin;
    const cookies = [...(this.jar.get(origin) ?? new Map())].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, { method, redirect: 'manual', headers: cookies ? { cookie: cookies } : {} });
    for (const line of response.headers.getSetCookie()) this.keep(origin, line);
    const location = response.headers.get('location');
    const redirect = response.status >= 300 && response.status < 400 && location;
    return {
      method,
      url,
      status: response.status,
      location: redirect ? new URL(location, url).toString() : null,
      text: await response.text(),
    };
  }

  private keep(origin: string, line: string): void {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const at = pair.indexOf('=');
    const cookies = this.jar.get(origin) ?? new Map<string, string>();
    this.jar.set(origin, cookies);
    if (attributes.some((a) => /^max-age=0$/i.test(a))) cookies.delete(pair.slice(0, at));
    else cookies.set(pair.slice(0, at), pair.slice(at + 1));
  }
}

/** The words of a small HTML page: its heading, a dash, then its paragraphs. */
export function pageText(html: string): string {
  const words = (fragment: string) =>
    fragment
      .replace(/<[^>]*>/g, ' ')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&')
      .replace(/\s+/g, ' ')
      .trim();
  const heading = /<h1\b[^>]*>([\s\S]*?)<\/h1>/i.exec(html)?.[1];
  const paragraphs = [...html.matchAll(/<p\b[^>]*>([\s\S]*?)<\/p>/gi)].map((m) => words(m[1]));
  if (!heading && paragraphs.length === 0) return words(html);
  return [heading && words(heading), paragraphs.join(' ')].filter(Boolean).join(' — ');
}
