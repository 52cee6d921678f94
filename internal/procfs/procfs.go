// Package procfs reads the fields of /proc/self/status that the command and the tests look
// at: locked memory, resident sizes, capabilities.
package procfs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

const statusPath = "/proc/self/status"

// StatusField returns the value of the "name:" line of /proc/self/status, trimmed.
func StatusField(name string) (string, error) {
	b, err := os.ReadFile(statusPath)
	if err != nil {
		return "", err
	}
	return ParseStatusField(b, name)
}

// ParseStatusField returns the value of the "name:" line of a status file's contents.
func ParseStatusField(status []byte, name string) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == name {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s: no %s line", statusPath, name)
}

// StatusBytes returns a field of /proc/self/status that the kernel reports in kB ("VmLck",
// "VmRSS", "RssAnon", ...), in bytes.
func StatusBytes(name string) (int64, error) {
	v, err := StatusField(name)
	if err != nil {
		return 0, err
	}
	return ParseKiB(v)
}

// ParseKiB parses a "1234 kB" value into bytes.
func ParseKiB(v string) (int64, error) {
	num, ok := strings.CutSuffix(v, " kB")
	if !ok {
		return 0, fmt.Errorf("%q is not in kB", v)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil {
		return 0, err
	}
	return n << 10, nil
}
