// The icon browsers ask for at /favicon.ico on every console page. A few hundred bytes of SVG (every current
// browser takes SVG there when the Content-Type says so), held in the code, so the compiled binary serves it too.
const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
  '<rect width="32" height="32" rx="7" fill="#0b7a5c"/>' +
  '<path d="M8 13v6M12 10v12M16 7v18M20 11v10M24 14v4" stroke="#fff" stroke-width="2.5" stroke-linecap="round"/>' +
  "</svg>";

/** For Bun.serve's `routes`: a static response, sent as is for every request. */
export const FAVICON = new Response(SVG, {
  headers: { "content-type": "image/svg+xml", "cache-control": "public, max-age=86400" },
});
