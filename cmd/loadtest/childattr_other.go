//go:build !linux

package main

import "syscall"

// childAttr: only Linux can tie the child's life to the tool's; elsewhere stop it by hand
// if the tool dies (the tool measures CPU from /proc, so it is for Linux anyway).
func childAttr() *syscall.SysProcAttr { return nil }
