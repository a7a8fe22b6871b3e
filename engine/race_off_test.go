//go:build !race

package engine_test

// stallRate: see race_on_test.go.
const stallRate = 200_000
