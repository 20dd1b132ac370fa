package screening

// decideVerdict applies the contract's verdict rules: any fail makes the patient
// ineligible; otherwise any unknown means insufficient data; otherwise the patient is
// potentially eligible and the review items go to the coordinator.
func decideVerdict(results []Result) (Verdict, Counts) {
	var c Counts
	for _, r := range results {
		switch r.Outcome {
		case Pass:
			c.Pass++
		case Fail:
			c.Fail++
		case Unknown:
			c.Unknown++
		case Review:
			c.Review++
		default:
			// An outcome outside the closed set is a bug; never let it read as eligible.
			c.Unknown++
		}
	}
	switch {
	case c.Fail > 0:
		return Ineligible, c
	case c.Unknown > 0:
		return InsufficientData, c
	}
	return PotentiallyEligible, c
}
