import type { ServerResponse } from 'node:http';

/**
 * The small pages an admin's browser sees around the Microsoft sign-in. Self-contained (no scripts, no
 * outside assets), every value HTML-escaped, never cached, and no Referer sent onwards.
 */

export interface PageContent {
  tone: 'success' | 'problem' | 'action';
  title: string;
  /** What happened, in plain words. */
  message: string;
  /** What to do now. */
  next: string;
  /**
   * A button that POSTs to `url` (same origin). `formAction` lists the origins the browser may then be
   * redirected to (CSP `form-action` also governs the redirect that answers the POST).
   */
  button?: { label: string; url: string; formAction: string[] };
}

/** Headers for every response on the sign-in path, pages and redirects alike. */
export const SIGN_IN_HEADERS = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
} as const;

const contentSecurityPolicy = (page: PageContent) =>
  "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; " +
  `form-action ${page.button ? ["'self'", ...page.button.formAction].join(' ') : "'none'"}`;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export function renderPage(page: PageContent): string {
  const accent = { success: '#1a7f37', problem: '#b42318', action: '#2f5bb7' }[page.tone];
  const mark = { success: '&#10003;', problem: '!', action: '&#8594;' }[page.tone];
  const button = page.button
    ? `<form method="post" action="${escapeHtml(page.button.url)}"><button type="submit">${escapeHtml(page.button.label)}</button></form>\n`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(page.title)} · aad-sync</title>
<style>
body{margin:0;font:16px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;background:#f6f7f9;color:#1d1d1f}
main{max-width:34rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.08)}
.mark{display:inline-block;width:2.2rem;height:2.2rem;border-radius:50%;background:${accent};color:#fff;text-align:center;line-height:2.2rem;font-weight:700}
h1{font-size:1.35rem;margin:1rem 0 .5rem}
p{margin:.5rem 0}
.next{margin-top:1.25rem;padding-top:1rem;border-top:1px solid #e5e7eb;font-weight:600}
button{margin-top:1rem;padding:.6rem 1.2rem;font:inherit;font-weight:600;color:#fff;background:${accent};border:0;border-radius:8px;cursor:pointer}
</style>
</head>
<body>
<main>
<span class="mark" aria-hidden="true">${mark}</span>
<h1>${escapeHtml(page.title)}</h1>
<p>${escapeHtml(page.message)}</p>
<p class="next">${escapeHtml(page.next)}</p>
${button}</main>
</body>
</html>
`;
}

export function sendPage(res: ServerResponse, status: number, page: PageContent, extra: Record<string, string> = {}) {
  res.writeHead(status, {
    ...SIGN_IN_HEADERS,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': contentSecurityPolicy(page),
    ...extra,
  });
  res.end(renderPage(page));
}
