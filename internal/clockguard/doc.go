// Package clockguard holds one test: that no test of the module reads the calendar
// from the wall clock, so that the suite passes whatever the day it runs.
package clockguard
