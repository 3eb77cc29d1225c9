// Preloaded (`node --import`) into the MCP conformance CLI, which has no option for request headers:
// every HTTP request it makes (the SDK's fetch and its raw undici requests alike go through undici's
// global dispatcher) gets `Authorization: Bearer $MCP_REGISTRY_CONFORMANCE_TOKEN`. The token comes from
// the environment, never the command line. Host and Origin are left as each scenario sets them.
import { createRequire } from 'node:module';

const token = process.env.MCP_REGISTRY_CONFORMANCE_TOKEN;
if (!token) throw new Error('MCP_REGISTRY_CONFORMANCE_TOKEN is not set');
// undici as the suite itself resolves it (its dependency), so both share one global dispatcher.
const require = createRequire(process.env.MCP_REGISTRY_CONFORMANCE_PACKAGE + '/package.json');
const { Agent, setGlobalDispatcher } = require('undici');

function withAuthorization(headers) {
  const authorization = `Bearer ${token}`;
  if (headers == null) return { authorization };
  if (Array.isArray(headers)) return [...headers, 'authorization', authorization];
  if (typeof headers[Symbol.iterator] === 'function') {
    return { ...Object.fromEntries(headers), authorization };
  }
  return { ...headers, authorization };
}

setGlobalDispatcher(
  new Agent().compose((dispatch) => (options, handler) =>
    dispatch({ ...options, headers: withAuthorization(options.headers) }, handler)
  )
);
