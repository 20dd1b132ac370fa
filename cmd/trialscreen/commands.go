package main

// commands describes every subcommand once: its usage line and what it does. The
// program's usage (trialscreen --help, and after a usage error), each command's own
// --help and the help test all read this table, so a command cannot be left out of one.
var commands = []command{
	{name: "screen", args: "(--bundle FILE | --demo NAME | --patient ID) [flags]",
		summary: "screen one patient and print the verdict (--demo list names the demo patients; --patient reads TRIALSCREEN_FHIR_URL)"},
	{name: "serve", args: "[--listen HOST:PORT] [--metrics-listen HOST:PORT]",
		summary: "run the REST and CDS Hooks service (demo patients unless TRIALSCREEN_FHIR_URL is set; /metrics on --metrics-listen only)",
		about: "Configuration is read from TRIALSCREEN_* environment variables (docs/operators.md lists\n" +
			"them all); the flags override TRIALSCREEN_LISTEN and TRIALSCREEN_METRICS_LISTEN."},
	{name: "cds-demo", args: "PATIENT [--url URL]",
		summary: "call a demo-mode service's CDS Hooks patient-view as the demo EHR and print the card",
		about: "PATIENT is a demo patient's name or FHIR id (candidate or demo-candidate; trialscreen screen\n" +
			"--demo list names them). It signs a CDS Hooks JWT with the demo EHR's key, which ships with\n" +
			"the demo data and which only a service in demo mode (no TRIALSCREEN_FHIR_URL) trusts, sends\n" +
			"every prefetch key the service's discovery asks for, filled from the patient's demo record,\n" +
			"and prints the card. --url must be the service's public URL (TRIALSCREEN_PUBLIC_URL): the\n" +
			"token's audience is built from it."},
	{name: "batch", args: "--out DIR|- [flags] (INPUT... | --ids FILE | --export TARGET)",
		summary: "screen many patients from NDJSON / Bundle files or directories, a list of ids or a Bulk Data export"},
	{name: "batch merge", args: "--out DIR SHARD_DIR...",
		summary: "merge the output directories of a sharded batch run"},
	{name: "protocol check", args: "FILE",
		summary: "validate a protocol file and name every problem in it (with the site's terminology when configured)"},
	{name: "db migrate", args: "",
		summary: "apply the store's schema (PostgreSQL at TRIALSCREEN_DATABASE_URL, else SQLite under TRIALSCREEN_DATA_DIR; serve also migrates at start)"},
	{name: "audit verify", args: "",
		summary: "walk the audit records' hash chain in the store; exit 1 if it is broken"},
	{name: "audit export", args: "[--since RFC3339]",
		summary: "print the audit records as FHIR AuditEvent NDJSON"},
	{name: "terminology import-rxnorm", args: "RXNCONSO.RRF RXNREL.RRF [-o FILE] [--version NAME] [--rxnsat RXNSAT.RRF]",
		summary: "build the drug ingredient index from NLM's RxNorm release",
		about: `Reads the rrf/ files of RxNorm_full_MMDDYYYY.zip: every RxNorm ingredient, brand, component,
clinical and branded drug, dose form, group and pack (and, with --rxnsat, RxNorm's NDCs) with
the RxCUIs of the ingredients it contains. Only SAB=RXNORM rows are read; suppressed (SUPPRESS
O, Y, E) rows are skipped. Writes the drug table format to FILE; point TRIALSCREEN_DRUG_INDEX
at it. --version names the release (default: read from an RxNorm_full_MMDDYYYY path).`},
	{name: "terminology report", args: "[--format table|json] [--protocol FILE] [--tmp DIR] DIR_OR_FILE...",
		summary: "list the codes in FHIR data that the engine cannot place, most patients first",
		about: `Reads FHIR Bundles (.json) and NDJSON exports (.ndjson, .jsonl, optionally .gz) and lists the
codes, in the resource types the protocol reads, that the engine cannot place (unknown code
systems, drug codes the drug table does not know, local codes without a site mapping,
records with no code), with how many patients carry each, most patients first: what a site
maps before go-live. It uses the site's terminology (TRIALSCREEN_DRUG_INDEX,
TRIALSCREEN_SITE_CONCEPTMAPS, TRIALSCREEN_SYSTEM_ALIASES) as screening does, so a code
mapped there is no longer listed.`},
}

// siteTermsHelp ends the program's usage: these variables apply to several commands.
const siteTermsHelp = `
A site's terminology (serve, screen, batch, protocol check, terminology report):
  TRIALSCREEN_DRUG_INDEX        a drug table from terminology import-rxnorm, merged over the shipped one
  TRIALSCREEN_SITE_CONCEPTMAPS  FHIR R4 ConceptMap JSON files, comma-separated, or directories of them:
                                the site's local codes -> standard codes
  TRIALSCREEN_SYSTEM_ALIASES    a file of lines "alias-uri canonical-uri" (e.g. the site's URI for its
                                ICD-10 edition -> http://hl7.org/fhir/sid/icd-10)
`

// commandNamed is the table's entry for name ("audit export"); it panics on a name
// the table lacks, a programming error the help test catches.
func commandNamed(name string) command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	panic("trialscreen: no command " + name + " in the commands table")
}
