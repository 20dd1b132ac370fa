package store

// SetSearchIndexedMax lowers the count of prefix matches above which the worklist does
// not read them through the prefix indexes, so that a small database tries both plans.
func (s *Store) SetSearchIndexedMax(n int) { s.searchIndexedMax = n }
