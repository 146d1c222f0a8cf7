import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';

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
