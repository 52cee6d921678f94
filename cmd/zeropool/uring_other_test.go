//go:build !linux || zeropool_portable

package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Elsewhere than on Linux, zeropool uring says why it cannot run, and fails.
func TestURingCommandRefusesHere(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, exitFail, run([]string{"uring", "somefile"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "io_uring needs Linux")
	assert.Empty(t, out.String())
}

// Elsewhere than on Linux, zeropool net says why it cannot run, and fails.
func TestNetCommandRefusesHere(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, exitFail, run([]string{"net"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "io_uring needs Linux")
	assert.Empty(t, out.String())
}
