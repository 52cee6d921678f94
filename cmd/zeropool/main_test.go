package main

import (
	"bytes"
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCmd runs a command line in process and returns its exit code and output.
func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageListsCommands(t *testing.T) {
	code, out, errOut := runCmd("help")
	assert.Equal(t, exitOK, code)
	assert.Empty(t, errOut)
	for _, c := range commands {
		assert.Contains(t, out, "  "+c.name+" ", "usage lists %s", c.name)
	}
	assert.Contains(t, out, "help")
}

func TestNoArgumentsPrintsUsage(t *testing.T) {
	code, out, errOut := runCmd()
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "Commands:")
}

func TestUnknownCommand(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"help", "frobnicate"}, {"Bench"}} {
		code, _, errOut := runCmd(args...)
		assert.Equal(t, exitUsage, code, "%v", args)
		assert.Contains(t, errOut, "unknown command", "%v", args)
		assert.Contains(t, errOut, "Commands:", "%v", args)
	}
}

func TestHelpForACommandShowsItsFlags(t *testing.T) {
	code, out, _ := runCmd("help", "demo")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "-size")
	assert.Contains(t, out, "-rounds")

	code, _, errOut := runCmd("demo", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, errOut, "-size")
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{"info", "extra"},
		{"info", "-nope"},
		{"demo", "extra"},
		{"demo", "-size", "lots"},
		{"demo", "-size", "0"},
		{"demo", "-rounds", "0"},
		{"demo", "-rounds", "-3"},
	} {
		code, out, errOut := runCmd(args...)
		assert.Equal(t, exitUsage, code, "%v", args)
		assert.Empty(t, out, "%v", args)
		assert.NotEmpty(t, errOut, "%v", args)
	}
}

// Flags may stand before or after the positional arguments; "--" ends the flags.
func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		positional []string
		rounds     int
	}{
		{[]string{"FILE"}, []string{"FILE"}, 3},
		{[]string{"-rounds", "1", "FILE"}, []string{"FILE"}, 1},
		{[]string{"FILE", "-rounds", "1"}, []string{"FILE"}, 1},
		{[]string{"FILE", "-rounds=2", "OTHER"}, []string{"FILE", "OTHER"}, 2},
		{[]string{"-rounds", "4", "--", "-rounds", "5"}, []string{"-rounds", "5"}, 4},
		{[]string{"FILE", "--", "-rounds"}, []string{"FILE", "-rounds"}, 3},
		{nil, nil, 3},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		rounds := fs.Int("rounds", 3, "")
		positional, code, ok := parseInterspersed(fs, tc.args)
		require.True(t, ok, "%q", tc.args)
		assert.Equal(t, exitOK, code)
		assert.Equal(t, tc.positional, positional, "%q", tc.args)
		assert.Equal(t, tc.rounds, *rounds, "%q", tc.args)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Int("rounds", 3, "")
	_, code, ok := parseInterspersed(fs, []string{"FILE", "-rounds", "x"})
	assert.False(t, ok)
	assert.Equal(t, exitUsage, code, "a bad flag after FILE is still a usage error")
	_, code, ok = parseInterspersed(fs, []string{"FILE", "-h"})
	assert.False(t, ok)
	assert.Equal(t, exitOK, code, "help")
}
