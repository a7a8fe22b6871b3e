//go:build !shardlog_hooks

package budget

func hookFix() {}
