package ring

// cacheLine is the distance kept between words written by different
// parties. 128 bytes rather than 64: Intel's spatial prefetcher fetches
// cache lines in adjacent pairs, so two words 64 bytes apart still
// interfere; 128 keeps them in different pairs (folly and crossbeam pad to
// 128 on x86-64 for the same reason).
const cacheLine = 128

// pad separates groups of fields that different goroutines write.
type pad [cacheLine]byte
