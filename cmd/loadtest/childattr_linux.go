package main

import "syscall"

// childAttr has Linux send the service SIGTERM if the tool dies first, so that a crashed
// or killed load test leaves no service running.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
