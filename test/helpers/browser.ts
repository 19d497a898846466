/**
 * A browser for sign-in tests: follows nothing by itself (each hop is a step the test can inspect) and
 * keeps the cookies the app sets, sending them back on later requests to the same origin and path.
 */

export interface Hop {
  status: number;
  headers: Headers;
  location: string | null;
  text: string;
}

interface StoredCookie {
  origin: string;
  path: string;
  value: string;
}

export class TestBrowser {
  private readonly cookies = new Map<string, StoredCookie>();

  async get(url: string): Promise<Hop> {
    return this.request('GET', url);
  }

  async post(url: string): Promise<Hop> {
    return this.request('POST', url);
  }

  /**
   * What an admin does with a sign-in link: opens it, then presses the page's button (a POST form).
   * Returns the answer to the button, or the page itself when it has no button (a refused link).
   */
  async open(url: string): Promise<Hop> {
    const page = await this.get(url);
    const action = page.status === 200 ? /<form method="post" action="([^"]+)">/.exec(page.text)?.[1] : undefined;
    return action ? this.post(new URL(action.replace(/&amp;/g, '&'), url).toString()) : page;
  }

  private async request(method: 'GET' | 'POST', url: string): Promise<Hop> {
    const target = new URL(url);
    const header = [...this.cookies.entries()]
      .filter(([, c]) => c.origin === target.origin && target.pathname.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
    const response = await fetch(url, { method, redirect: 'manual', headers: header ? { cookie: header } : {} });
    for (const line of response.headers.getSetCookie()) this.store(target, line);
    const location = response.headers.get('location');
    return {
      status: response.status,
      headers: response.headers,
      location: location ? new URL(location, url).toString() : null,
      text: await response.text(),
    };
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name)?.value;
  }

  setCookie(origin: string, name: string, value: string, path = '/'): void {
    this.cookies.set(name, { origin, path, value });
  }

  private store(target: URL, line: string): void {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const at = pair.indexOf('=');
    const name = pair.slice(0, at);
    const attribute = (key: string) =>
      attributes.find((a) => a.toLowerCase().startsWith(`${key.toLowerCase()}=`))?.slice(key.length + 1);
    if (attribute('Max-Age') === '0') {
      this.cookies.delete(name);
      return;
    }
    this.cookies.set(name, { origin: target.origin, path: attribute('Path') ?? '/', value: pair.slice(at + 1) });
  }
}
