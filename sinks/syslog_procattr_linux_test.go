package sinks_test

import "syscall"

// procAttr has the kernel kill the child if the test binary dies without
// running its cleanups (a -timeout panic, a signal).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
