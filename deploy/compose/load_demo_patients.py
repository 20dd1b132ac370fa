"""Loads the demo patients (demo/patients/*.json) into a FHIR server, for the compose demo.

Each file is one patient's Bundle, sent as a transaction whose entries PUT each
resource at Type/id (a transaction's own requests are kept), so loading twice leaves
the same data. The server must answer /metadata first: it is
polled for up to --wait seconds (HAPI FHIR takes a minute or two to start).

Standard library only: it runs in a plain python image.
"""

import argparse
import glob
import json
import os
import sys
import time
import urllib.error
import urllib.request


def as_transaction(bundle):
    """The Bundle as a transaction: each entry keeps its request, or PUTs its resource
    at Type/id (so loading twice leaves the same data)."""
    if bundle.get("type") not in ("collection", "transaction"):
        raise ValueError("a %r Bundle: want collection or transaction" % bundle.get("type"))
    entries = []
    for i, e in enumerate(bundle.get("entry", [])):
        r = e.get("resource") or {}
        rtype, rid = r.get("resourceType"), r.get("id")
        if not rtype or not rid:
            raise ValueError("entry %d has no resourceType or id" % i)
        entry = {"resource": r, "request": e.get("request") or {"method": "PUT", "url": "%s/%s" % (rtype, rid)}}
        # The demo's fullUrls are relative ("Patient/x"), which a transaction does not
        # allow; references resolve by the ids the PUTs keep.
        full = e.get("fullUrl", "")
        if full.startswith(("urn:", "http://", "https://")):
            entry["fullUrl"] = full
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def wait_for(base, seconds, poll):
    deadline = time.monotonic() + seconds
    while True:
        try:
            req = urllib.request.Request(base + "/metadata", headers={"Accept": "application/fhir+json"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit("load: %s/metadata did not answer within %d s" % (base, seconds))
        time.sleep(poll)


def post(base, bundle):
    data = json.dumps(bundle).encode()
    req = urllib.request.Request(base, data=data, method="POST",
                                 headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, err.read()[:500].decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fhir", default=os.environ.get("FHIR_URL", "http://hapi:8080/fhir"), help="FHIR base URL")
    ap.add_argument("--dir", default="/demo", help="directory of the demo Bundles")
    ap.add_argument("--wait", type=int, default=300, help="seconds to wait for the server")
    ap.add_argument("--poll", type=float, default=3, help="seconds between polls of /metadata")
    args = ap.parse_args()
    base = args.fhir.rstrip("/")
    files = sorted(glob.glob(os.path.join(args.dir, "*.json")))
    if not files:
        raise SystemExit("load: no Bundles in %s" % args.dir)
    wait_for(base, args.wait, args.poll)
    failed = 0
    for path in files:
        with open(path) as f:
            tx = as_transaction(json.load(f))
        status, body = post(base, tx)
        name = os.path.basename(path)
        if status != 200:
            failed += 1
            print("load: %s: HTTP %d: %s" % (name, status, body), file=sys.stderr)
            continue
        statuses = [e.get("response", {}).get("status", "") for e in body.get("entry", [])]
        bad = [s for s in statuses if not s.startswith(("200", "201"))]
        if bad:
            failed += 1
            print("load: %s: entries answered %s" % (name, bad), file=sys.stderr)
            continue
        print("load: %s: %d resources" % (name, len(statuses)))
    if failed:
        raise SystemExit("load: %d of %d Bundles failed" % (failed, len(files)))


if __name__ == "__main__":
    main()
