// Command zeropool shows what the zeropool buffer pool does on this machine.
//
//	zeropool info                          this machine's facts and the pool's defaults
//	zeropool demo [-size 512MiB] [-rounds 20]
//	                                       get → touch every page → put, pool against make([]byte)
//	zeropool bench [-time 1s] [-run regexp]
//	                                       the headline workloads, the pool against its references
//	zeropool uring [-size 1MiB] [-depth 8] [-rounds 3] FILE
//	                                       read FILE with O_DIRECT through io_uring: registered pooled buffers against heap buffers
//	                                       (flags may also follow FILE)
//	zeropool net [-conns 4] [-size 16KiB] [-bytes 256MiB]
//	                                       a TCP echo over 127.0.0.1: io_uring, BufRing and SEND_ZC against net.Conn
//	zeropool help [command]                this text, or a command's flags
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes: 0 success, 1 the command failed, 2 the command line was wrong.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// command is one subcommand. run gets the arguments after the command's name and writes its
// result to stdout, progress and errors to stderr, so that tests can call it directly.
type command struct {
	name    string
	args    string // synopsis of the arguments, for usage
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands in the order usage shows them. A new subcommand is one more
// entry here and a file of its own.
var commands = []command{
	{"info", "", "print this machine's facts (CPUs, limits, pinning, backends) and the pool's defaults", runInfo},
	{"demo", "[-size 512MiB] [-rounds 20]", "the headline workload: get → touch every page → put, pool against make([]byte)", runDemo},
	{"bench", "[-time 1s] [-run regexp]", "the headline workloads measured on this machine, with a final table", runBench},
	{"uring", "[-size 1MiB] [-depth 8] [-rounds 3] FILE", "read FILE with O_DIRECT through io_uring: READ_FIXED into registered pooled buffers against heap buffers", runURing},
	{"net", "[-conns 4] [-size 16KiB] [-bytes 256MiB] [-time 10s] [-rounds 3]", "a TCP echo over 127.0.0.1: io_uring with a pooled BufRing and SEND_ZC against net.Conn with heap buffers", runNet},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line (without the program name) and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		return runHelp(rest, stdout, stderr)
	}
	if c := lookup(name); c != nil {
		return c.run(rest, stdout, stderr)
	}
	fmt.Fprintf(stderr, "zeropool: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

// parseArgs parses a command's flags and refuses positional arguments. When the command should
// stop (it printed its help, or the command line was wrong) ok is false and code is its exit
// code.
func parseArgs(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "zeropool %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage, false
	}
	return exitOK, true
}

// parseInterspersed parses a command's flags wherever they stand among its positional
// arguments, before or after them ("zeropool uring FILE -rounds 1" as "zeropool uring -rounds
// 1 FILE"), and returns the positional ones in order; everything after "--" is positional.
// The flag package alone stops at the first positional argument. When the command should
// stop (it printed its help, or a flag was wrong) ok is false and code is its exit code.
func parseInterspersed(fs *flag.FlagSet, args []string) (positional []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, exitOK, true
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), exitOK, true
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// runHelp prints the usage, or with a command name that command's flags (by running it with
// -h, so the flag set stays the one source of truth).
func runHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return exitOK
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "zeropool: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	c.run([]string{"-h"}, stdout, stdout)
	return exitOK
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("zeropool: a buffer pool whose buffers live outside the Go heap.\n\n")
	b.WriteString("Usage:\n  zeropool <command> [arguments]\n\nCommands:\n")
	width := len("help")
	for _, c := range commands {
		width = max(width, len(c.name))
	}
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, c.name, c.summary)
		if c.args != "" {
			fmt.Fprintf(&b, "  %-*s  usage: zeropool %s %s\n", width, "", c.name, c.args)
		}
	}
	fmt.Fprintf(&b, "  %-*s  %s\n", width, "help", "this text; \"zeropool help <command>\" shows a command's flags")
	io.WriteString(w, b.String())
}
