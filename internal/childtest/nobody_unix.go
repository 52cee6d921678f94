//go:build unix

package childtest

import (
	"os/exec"
	"syscall"
)

// runAsNobody makes cmd run with uid and gid Nobody.
func runAsNobody(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: Nobody, Gid: Nobody}}
}
