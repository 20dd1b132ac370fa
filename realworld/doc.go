// Package realworld holds a corpus of hand-made patient records in the shapes real EHRs
// send them, kept as acceptance tests with expected outcomes.
//
// Every record in testdata/ is the demo candidate (demo/patients/candidate.json, a
// potentially-eligible relapsed/refractory myeloma patient) with one fact changed and
// coded the way a hospital system writes it: medications as RxNorm branded or clinical
// drugs, brand names, dose-form groups, NDCs, contained or separate Medication resources,
// Medication.ingredient only, Epic multi-system codings and Oracle Health text-only
// entries; allergies to a brand or product; diagnoses in SNOMED CT subtypes, WHO ICD-10,
// China's clinical edition of ICD-10 and OID-form systems; qualitative results as LOINC
// answer codes and plain words; CBC values inside Observation.component and contained
// hasMember Observations; site codes with no mapping.
//
// Beside each <NN-name>.json, <NN-name>.expect.json says what the contract
// (shared/docs/screening-contract.md, "Codes as hospitals send them") requires:
//
//	{"as_of": RFC 3339 instant the record was written for,
//	 "lymphodepletion_date": optional planned lymphodepletion date (YYYY-MM-DD),
//	 "shape": the real-world shape and the published example it follows,
//	 "expect": {criterion id: outcome, or a list of allowed outcomes},
//	 "not": {criterion id: outcome or list of outcomes that must not occur},
//	 "verdict": optional expected verdict}
//
// Only the criteria a case is about are listed: everything else stays as in the
// candidate. The expectations are the contract's, not the current engine's: a case the
// engine does not yet read correctly fails, and that failure is the work to do.
package realworld
