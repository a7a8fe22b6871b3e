//go:build !linux

package sinks_test

import "syscall"

func procAttr() *syscall.SysProcAttr { return nil }
