// Package batch screens a population: every patient of a FHIR Bulk Data export (NDJSON),
// of a directory of Bundle files, or of a list of patient ids fetched from a FHIR server,
// with one verdict document per patient, a CSV summary and a funnel.
//
// # Order
//
// Patients are screened and written in increasing patient id (byte order), whatever the
// input. That one order is what makes the output deterministic, lets an interrupted run
// resume after the last id it wrote, and lets shards be merged by a k-way merge into
// exactly what one unsharded run writes.
//
// # Grouping NDJSON by patient in bounded memory
//
// An export holds one file per resource type; a patient's resources are spread over all
// of them. They are brought together by an external merge sort keyed by patient id:
//
//  1. One pass reads every line. A validator with json.Valid's exact rules checks it, and
//     a member walk reads its resourceType, id and subject/patient reference, and for
//     medication resources the medicationReference. The key is the Patient's own id, or
//     the id in "Patient/<id>" (relative, absolute or versioned, as fhirbundle matches
//     it). Resources without a patient that no criterion reads (Organization,
//     Practitioner) belong to no one's record. A line that cannot be read (malformed,
//     cut short, over the line limit, a record-type resource whose patient cannot be
//     told) is reported by file and line and never just dropped (unreadable.go): it
//     becomes an unreadable entry in its patient's record when a salvage walk of its
//     complete leading members can tell whose it is, and otherwise in every patient's
//     record, so the criteria it might have decided are unknown, not pass. An
//     OperationOutcome line (a Bulk Data error file copied along) with any issue above
//     severity information stops the run: the export may be incomplete. A Medication id
//     given twice with different content makes every reference to it unreadable; two
//     different Patient resources with one id leave that patient unscreened. The pass is
//     a pipeline (scanpipe.go): one goroutine cuts the
//     files into chunks of lines, a worker per core checks and reads them, and one
//     goroutine applies the chunks in input order, so problems, Medications and the sort
//     see exactly what a sequential pass gives them.
//  2. Resources whose content no criterion reads (a type no criterion reads, or a clean
//     resource whose codes are placed and none relevant, counting an Observation's
//     component codes, and that contains no hasMember Observation) are replaced by a stub
//     of type, id, patient reference, the codes fhirbundle decides relevance on and a
//     digest of the line: fhirbundle reads it exactly as the resource (counted in
//     resources_seen, placed and irrelevant, told from another copy of the same id), and
//     the sort carries a few hundred bytes instead of kilobytes. A resource whose codes
//     cannot be placed is relevant (it may be a finding) and is kept whole.
//  3. Records (key, file, line, payload) go into an arena of at most half the memory
//     budget (Config.MemoryBudget, default 64 MiB, the index counted too). A full arena
//     is sorted by (key, file, line) and written to a temporary run file by a goroutine
//     of its own while the other half fills. At the end the runs are merged (at most 64
//     at a time; more are merged in passes first); with nothing spilled, the arena is
//     read directly.
//  4. The merged stream yields each patient's lines together, in file and line order. A
//     group becomes entries for fhirbundle.Reader.ReadResources, which reads them as
//     ReadBundle reads a Bundle and marks every record type complete: an export is the
//     patient's full record, as a Bundle file is. A group without a Patient resource is
//     reported and not screened.
//
// Memory is the arena, one read buffer per merged run, and the patients in flight (a
// few per worker); none of it grows with the input. Disk use is about the input's size
// (less, for the stubs). Medication resources, which belong to no patient, go to a side
// file with an in-memory index of their offsets (tens of bytes each), from which a
// group takes the Medications its medication resources reference.
//
// A Bundle file is one patient's record: the pass finds its Patient's id and sorts the
// file's name under it; the file is read again, with ReadBundle, when the patient is
// screened. An id list is sorted the same way, and each record is fetched through a
// screening.Source on a worker.
//
// # Output and resume
//
// Dir appends results.ndjson in id order, flushed and fsync'd every 256 documents or 2
// seconds. run.json records the protocol, settings, shard and inputs. A resumed run
// checks them, cuts results.ndjson back to its last complete line (a torn last line is
// dropped and its patient screened again) and skips every id up to that line's. The
// summary and the funnel are rebuilt from results.ndjson at the end (Finish), so they
// are the same however often the run was interrupted. A patient that could not be
// screened (no Patient resource, fetch failed) is reported, not written, and not
// retried by a resume.
//
// # Shards
//
// Shard i/n screens the patients whose id's FNV-1a hash is i modulo n; every shard
// reads all the input and drops other shards' patients in the first pass. MergeDirs
// checks that the shards are one complete split and merges their results by id.
package batch
