//go:build !linux

package engine

import "errors"

func pinToCPU(int) (int, error) {
	return -1, errors.New("CPU affinity is supported on Linux only")
}
