//go:build linux

package engine

import (
	"fmt"
	"syscall"
	"unsafe"
)

// pinToCPU binds the calling OS thread to the n-th CPU (modulo the count)
// of the CPUs this process may run on, so a cgroup or taskset restriction
// is respected. The caller must hold runtime.LockOSThread and must not
// unlock it afterwards: a thread with a narrowed affinity must not return
// to the runtime's pool (Go ends a locked thread when its goroutine exits).
func pinToCPU(n int) (int, error) {
	var mask [16]uint64 // 1024 CPUs
	size := unsafe.Sizeof(mask)
	if _, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, size, uintptr(unsafe.Pointer(&mask))); errno != 0 {
		return -1, fmt.Errorf("sched_getaffinity: %w", errno)
	}
	var allowed []int
	for w, bits := range mask {
		for b := 0; b < 64; b++ {
			if bits&(1<<b) != 0 {
				allowed = append(allowed, w*64+b)
			}
		}
	}
	if len(allowed) == 0 {
		return -1, fmt.Errorf("sched_getaffinity: no CPU allowed")
	}
	cpu := allowed[n%len(allowed)]
	var one [16]uint64
	one[cpu/64] = 1 << (cpu % 64)
	if _, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, size, uintptr(unsafe.Pointer(&one))); errno != 0 {
		return -1, fmt.Errorf("sched_setaffinity(cpu %d): %w", cpu, errno)
	}
	return cpu, nil
}
