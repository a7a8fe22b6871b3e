//go:build !linux

package shardlogprom_test

import "syscall"

func procAttr() *syscall.SysProcAttr { return nil }
