// The address a user on this machine opens to reach the server listening on HOST:PORT. A wildcard HOST
// (0.0.0.0, ::) is no address to open: loopback is, and it is also what the admin guard lets in without
// ADMIN_TOKEN (src/http/admin-auth.ts).

export function localBaseUrl(host: string, port: number): string {
  const h = host.trim().replace(/^\[(.*)\]$/, "$1");
  let name: string;
  if (h === "" || h === "0.0.0.0") name = "127.0.0.1";
  else if (h === "::" || h === "::0") name = "[::1]";
  else if (h.includes(":")) name = `[${h}]`; // an IPv6 literal
  else name = h;
  return `http://${name}:${port}`;
}
