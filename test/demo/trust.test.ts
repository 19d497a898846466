import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pageText } from '../../src/demo/browser.ts';
import { fileToTrust } from '../../src/demo/trust.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'aad-sync-trust-'));
const cert = path.join(dir, 'cert.pem');
const corporate = path.join(dir, 'corporate.pem');
writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nEMULATOR\n-----END CERTIFICATE-----\n');
writeFileSync(corporate, '-----BEGIN CERTIFICATE-----\nCORPORATE\n-----END CERTIFICATE-----\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trusting the emulator before talking to it', () => {
  it('runs again with the certificate when nothing is trusted yet, and not once it is', () => {
    expect(fileToTrust(cert, undefined)).toBe(cert);
    expect(fileToTrust(cert, cert)).toBeNull();
    expect(fileToTrust(cert, path.relative(process.cwd(), cert))).toBeNull();
  });

  it('keeps certificates the user already trusts, in a bundle with the emulator’s', () => {
    const bundle = fileToTrust(cert, corporate);
    expect(bundle).toBe(path.join(dir, 'trust-bundle.pem'));
    const text = readFileSync(bundle!, 'utf8');
    expect(text).toContain('CORPORATE');
    expect(text).toContain('EMULATOR');
    expect(fileToTrust(cert, bundle!)).toBeNull();
  });
});

describe('the words of a page', () => {
  it('reads the heading and paragraphs, decoded, without markup', () => {
    const html =
      '<html><head><title>x</title><style>p{}</style></head><body><h1>Signed in</h1>' +
      '<p>As <b>adele@contoso.com</b> &amp; co.</p>\n<p class="next">Return to &quot;Slack&quot;</p></body></html>';
    expect(pageText(html)).toBe('Signed in — As adele@contoso.com & co. Return to "Slack"');
    expect(pageText('plain <i>text</i>')).toBe('plain text');
  });
});
