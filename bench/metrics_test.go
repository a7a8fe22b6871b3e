package bench

import (
	"testing"
	"time"
)

// reportDelivery reports what became of the attempted events once the
// subject has delivered: delivered/attempted, counted at the destination,
// and unaccounted/attempted, the events neither delivered nor reported
// lost by the logger (negative when it reports more loss than there
// was). unaccounted is 0 for every logger whose loss report is exact.
func reportDelivery(b *testing.B, s *subject, attempted int64) {
	delivered := s.delivered()
	b.ReportMetric(float64(delivered)/float64(attempted), "delivered/attempted")
	b.ReportMetric(float64(attempted-delivered-s.lost())/float64(attempted), "unaccounted/attempted")
	// The exact count: a ratio prints four digits, which hide a loss of
	// one event in ten thousand.
	b.ReportMetric(float64(attempted-delivered), "undelivered-events")
}

// requireAllDelivered fails the benchmark unless every one of attempted
// events was delivered and nothing was reported lost.
func requireAllDelivered(b *testing.B, s *subject, attempted int64) {
	b.Helper()
	if got, lost := s.delivered(), s.lost(); got != attempted || lost != 0 {
		b.Fatalf("delivered %d of %d events; %d reported lost", got, attempted, lost)
	}
}

// reportWrites reports the delivered events per Write call the logger
// made to the destination (events/write): each would be a system call on
// a real file, which the destination here does not charge for.
func reportWrites(b *testing.B, s *subject) {
	if w := s.out.Writes(); w > 0 {
		b.ReportMetric(float64(s.delivered())/float64(w), "events/write")
	}
}

// perDelivered reports d per delivered event under unit, if any was
// delivered.
func perDelivered(b *testing.B, s *subject, d time.Duration, unit string) {
	if n := s.delivered(); n > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(n), unit)
	}
}
