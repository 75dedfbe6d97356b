// Environment variables that point a child's network clients at the egress proxy.
//
// HTTP and SOCKS5 share one port (the proxy sniffs the first byte), so every variable names the
// same address. What reads what:
//   - curl/libcurl (and git over https, which uses libcurl): http_proxy (lower case only, for
//     security), HTTPS_PROXY/https_proxy, ALL_PROXY/all_proxy, NO_PROXY/no_proxy.
//   - pip (requests/urllib3), Python urllib, Go net/http, Ruby, wget: the same names, either case.
//   - npm: its `proxy`/`https-proxy` config defaults to HTTP(S)_PROXY; npm_config_* makes it
//     explicit for npm versions or wrappers that do not read them. yarn berry: YARN_HTTP(S)_PROXY.
//   - Node: http.request and fetch ignore all of these unless NODE_USE_ENV_PROXY=1 (or
//     --use-env-proxy) on a Node that supports it (fetch from 24.0/22.21, http/https later in
//     the 24 line). Node 20 ignores them: use undici's EnvHttpProxyAgent via setGlobalDispatcher,
//     or rely on the spawn engine's transparent capture inside the network namespace.
// ALL_PROXY uses socks5h:// so the client sends the *name* and the proxy resolves it: with plain
// socks5:// the client would resolve locally and the proxy would only see an IP literal, which
// the allowlist does not list.
// NO_PROXY is loopback only: the sandbox's own loopback (its network namespace's `lo`) is
// reachable directly, and nothing else is (no route, or Landlock limits connect to this port),
// so private ranges must go through the proxy rather than fail.
import { formatHostPort } from './host.js';

/** The NO_PROXY list handed to children: the sandbox's own loopback. */
export const NO_PROXY_HOSTS = 'localhost,127.0.0.1,::1';

/** Proxy environment variables (both cases and common tool-specific names) for a proxy at host:port. */
export function proxyEnvFor(host: string, port: number): Record<string, string> {
  const authority = formatHostPort(host, port);
  const http = `http://${authority}`;
  const socks = `socks5h://${authority}`;
  return {
    HTTP_PROXY: http,
    http_proxy: http,
    HTTPS_PROXY: http,
    https_proxy: http,
    ALL_PROXY: socks,
    all_proxy: socks,
    NO_PROXY: NO_PROXY_HOSTS,
    no_proxy: NO_PROXY_HOSTS,
    npm_config_proxy: http,
    npm_config_https_proxy: http,
    npm_config_noproxy: NO_PROXY_HOSTS,
    YARN_HTTP_PROXY: http,
    YARN_HTTPS_PROXY: http,
    NODE_USE_ENV_PROXY: '1',
  };
}
