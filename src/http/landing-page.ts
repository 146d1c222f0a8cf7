import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { GRAPHQL_PATH } from './graphql-ws';

/**
 * Whether a request may get Apollo's landing page: a GET to the GraphQL path (or under it, where
 * Apollo is mounted too) that accepts HTML (Apollo answers one that prefers HTML with the page,
 * any other with GraphQL). Erring towards "yes" costs nothing: the landing page's CSP only leaves
 * out the fetch restrictions Apollo's page sets itself, and GraphQL answers are JSON.
 */
export function isLandingPageRequest(req: IncomingMessage & { path?: string }): boolean {
  const path = req.path ?? new URL(req.url ?? '/', 'http://localhost').pathname;
  return req.method === 'GET' && (path === GRAPHQL_PATH || path.startsWith(`${GRAPHQL_PATH}/`)) && (req.headers.accept ?? '').includes('text/html');
}

/**
 * The Content-Security-Policy header of Apollo Sandbox's landing page: no fetch directives.
 * Apollo's page carries its own CSP in a `<meta http-equiv>` tag, made per request with the nonce
 * of its inline script and style, allowing its CDN (scripts, styles, images, the manifest), the
 * Sandbox's frame and Google Fonts; a header that restricted fetches too would be enforced beside
 * it and break the Sandbox whenever Apollo's page changes. The header adds what a `<meta>` CSP
 * cannot say or Apollo's leaves out: no framing by other sites, no `<base>` or form pointing
 * elsewhere, no plugins.
 */
export const LANDING_PAGE_CSP: Readonly<Record<string, string[]>> = {
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'self'"],
  'object-src': ["'none'"],
};

/**
 * What `GET /graphql` shows when Apollo Sandbox cannot load. Apollo's page loads the Sandbox from
 * Apollo's CDN; offline (or behind a proxy that blocks it) that page only said "cannot be
 * loaded". This keeps the Sandbox and puts somewhere to go beneath it: the web page, a curl
 * command for this very server, and where the schema is. No inline styles: Apollo's page allows
 * only its own nonce'd styles and scripts.
 */
function fallbackHtml(nonce: string | undefined): string {
  const example = `curl -s <span id="sift-endpoint">http://localhost:4000/graphql</span> -H 'content-type: application/json' \\\n  -d '{"query":"{ predict(text: \\"A gorgeous, witty film.\\") { label score cached } }"}'`;
  // With Apollo's nonce, a script can put this server's own address into the example, and a style
  // can lift the Sandbox's frame off the page while it is empty: that transparent, full-screen
  // layer would otherwise catch every click meant for the links beneath it.
  const extras = nonce
    ? `<style nonce="${nonce}">#embeddableSandbox:empty { display: none; } .fallback { font-family: system-ui, sans-serif; max-width: 52rem; line-height: 1.5; } .fallback pre { white-space: pre-wrap; }</style>` +
      `<script nonce="${nonce}">document.getElementById('sift-endpoint').textContent = location.origin + location.pathname;</script>`
    : '';
  return `<div class="fallback">
  <h1>Sift's GraphQL API</h1>
  <p>Apollo Sandbox, the query explorer, loads from Apollo's CDN, and this browser cannot reach it (is it offline?).</p>
  <p>Meanwhile, <a href="/">open Sift's web page</a> to label text and run batches, or ask from a terminal:</p>
  <pre>${example}</pre>
  <p>Any GraphQL client works with this URL: queries over HTTP POST, subscriptions over graphql-ws on the same path. The schema is <code>schema/schema.graphql</code> in the Sift folder.</p>
</div>${extras}`;
}

/** Apollo's page with Sift's fallback in place of its own (or first in the body, should Apollo's change). */
function withFallback(html: string): string {
  const nonce = /nonce="([0-9a-f]+)"/.exec(html)?.[1];
  const apolloFallback = /<div class="fallback">[\s\S]*?<\/div>/;
  return apolloFallback.test(html) ? html.replace(apolloFallback, fallbackHtml(nonce)) : html.replace('<body>', `<body>${fallbackHtml(nonce)}`);
}

/** Apollo's Sandbox landing page, with Sift's fallback in place of Apollo's "cannot be loaded". */
export function landingPagePlugin(): ApolloServerPlugin {
  const apollo = ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false });
  return {
    async serverWillStart(context) {
      const listener = await apollo.serverWillStart?.(context);
      const render = listener?.renderLandingPage;
      if (!listener || !render) return listener;
      return {
        ...listener,
        async renderLandingPage() {
          const page = await render.call(listener);
          // Apollo renders the page per request (each with a nonce of its own): so does this.
          return { html: async () => withFallback(typeof page.html === 'string' ? page.html : await page.html()) };
        },
      };
    },
  };
}
