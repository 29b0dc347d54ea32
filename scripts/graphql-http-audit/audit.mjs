#!/usr/bin/env node
// GraphQL-over-HTTP conformance audit of the billing GraphQL endpoint.
//
// Usage: node audit.mjs [URL]
//   URL              GraphQL endpoint (default: $AUDIT_URL, else http://127.0.0.1:8080/graphql)
//   AUDIT_TOKEN      optional bearer token, sent as "Authorization: Bearer <token>"
//                    on every request of every audit
//   AUDIT_TIMEOUT_MS per-request timeout in milliseconds (default 10000)
//
// Runs every audit of graphql-http's serverAudits one after the other and
// prints one line per audit: PASS, FAIL (a MUST audit failed) or WARN (a
// SHOULD/MAY audit failed), with the audit id, its name and the reason.
// Exits 1 if any MUST audit failed (or could not run), 2 on bad usage.
// The last line is "N passed, M failed" for the MUST audits.
import { serverAudits } from 'graphql-http';

const DEFAULT_URL = 'http://127.0.0.1:8080/graphql';

const url = process.argv[2] || process.env.AUDIT_URL || DEFAULT_URL;
try {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
} catch {
  console.error(`audit: invalid URL ${JSON.stringify(url)} (want e.g. ${DEFAULT_URL})`);
  process.exit(2);
}

const timeoutMs = Number(process.env.AUDIT_TIMEOUT_MS || 10000);
if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
  console.error(`audit: invalid AUDIT_TIMEOUT_MS ${JSON.stringify(process.env.AUDIT_TIMEOUT_MS)}`);
  process.exit(2);
}

const token = (process.env.AUDIT_TOKEN || '').trim();
const authorization = token === '' ? '' : /^bearer\s/i.test(token) ? token : `Bearer ${token}`;

// fetchFn wraps the global fetch: adds the Authorization header (whatever
// form the audit passed its headers in) and a per-request timeout.
function fetchFn(input, init = {}) {
  const headers = new Headers(input instanceof Request ? input.headers : undefined);
  new Headers(init.headers).forEach((value, key) => headers.set(key, value));
  if (authorization) headers.set('authorization', authorization);
  return fetch(input, {
    ...init,
    headers,
    signal: init.signal ?? AbortSignal.timeout(timeoutMs),
  });
}

// Keeps a reason on one line.
const oneLine = (s) => String(s).replace(/\s*\n\s*/g, ' ').trim();

function level(name) {
  if (name.startsWith('MUST')) return 'MUST';
  if (name.startsWith('SHOULD')) return 'SHOULD';
  return 'MAY';
}

console.log(`Auditing ${url}${authorization ? ' (with Authorization header)' : ''}`);

const counts = {
  MUST: { passed: 0, failed: 0 },
  SHOULD: { passed: 0, failed: 0 },
  MAY: { passed: 0, failed: 0 },
};

for (const audit of serverAudits({ url, fetchFn })) {
  const lvl = level(audit.name);
  let result;
  try {
    result = await audit.fn();
  } catch (err) {
    // graphql-http throws (instead of returning a failed result) only on
    // fatal problems such as a refused connection or a timeout.
    const cause = err?.cause?.message ? ` (${err.cause.message})` : '';
    result = { id: audit.id, name: audit.name, status: 'fatal', reason: `${err?.message ?? err}${cause}` };
  }
  if (result.status === 'ok') {
    counts[lvl].passed++;
    console.log(`PASS ${result.id} ${result.name}`);
    continue;
  }
  counts[lvl].failed++;
  const label = lvl === 'MUST' ? 'FAIL' : 'WARN';
  const status = result.response ? ` [HTTP ${result.response.status}]` : '';
  console.log(`${label} ${result.id} ${result.name}: ${oneLine(result.reason)}${status}`);
}

const opt = {
  passed: counts.SHOULD.passed + counts.MAY.passed,
  failed: counts.SHOULD.failed + counts.MAY.failed,
};
console.log('');
console.log(
  `SHOULD/MAY audits (informational): ${opt.passed} ok, ${opt.failed} not ok ` +
    `(SHOULD ${counts.SHOULD.passed} ok/${counts.SHOULD.failed} not ok, ` +
    `MAY ${counts.MAY.passed} ok/${counts.MAY.failed} not ok)`,
);
console.log(`${counts.MUST.passed} passed, ${counts.MUST.failed} failed`);
process.exit(counts.MUST.failed > 0 ? 1 : 0);
