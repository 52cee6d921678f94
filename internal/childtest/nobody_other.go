//go:build !unix

package childtest

import "os/exec"

// runAsNobody is never called here: without uids, os.Geteuid is -1 and no child runs as
// another user.
func runAsNobody(*exec.Cmd) {}
