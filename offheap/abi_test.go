package offheap

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"math/bits"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The C side of the ABI lives in csrc/zeropool.h; these tests read it so that the Go and C
// declarations cannot drift apart unnoticed in any build mode, cgo or not.

func readHeader(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../csrc/zeropool.h")
	require.NoError(t, err)
	return string(data)
}

// TestMapSpecLayout checks mapSpec against fixed numbers and against the header's static
// assertions, which the C compiler checks against struct zp_map_spec.
func TestMapSpecLayout(t *testing.T) {
	var s mapSpec
	const size = 56
	offsets := map[string]uintptr{ // C field name: Go offset
		"size":     unsafe.Offsetof(s.size),
		"align":    unsafe.Offsetof(s.align),
		"flags":    unsafe.Offsetof(s.flags),
		"result":   unsafe.Offsetof(s.result),
		"base":     unsafe.Offsetof(s.base),
		"total":    unsafe.Offsetof(s.total),
		"addr":     unsafe.Offsetof(s.addr),
		"lock_err": unsafe.Offsetof(s.lockErr),
	}
	fixed := map[string]uintptr{"size": 0, "align": 8, "flags": 16, "result": 20, "base": 24,
		"total": 32, "addr": 40, "lock_err": 48}
	assert.Equal(t, uintptr(size), unsafe.Sizeof(s))
	assert.Equal(t, fixed, offsets)
	assert.Equal(t, uintptr(4), unsafe.Sizeof(s.flags))
	assert.Equal(t, uintptr(4), unsafe.Sizeof(s.result))
	assert.Equal(t, uintptr(8), unsafe.Sizeof(s.lockErr))

	hdr := readHeader(t)
	m := regexp.MustCompile(`STATIC_ASSERT\(sizeof\(struct zp_map_spec\) == (\d+)`).FindStringSubmatch(hdr)
	require.NotNil(t, m, "size assertion in the header")
	assert.Equal(t, strconv.Itoa(size), m[1], "struct zp_map_spec size")
	all := regexp.MustCompile(`STATIC_ASSERT\(offsetof\(struct zp_map_spec, (\w+)\) == (\d+)`).FindAllStringSubmatch(hdr, -1)
	require.Len(t, all, len(offsets), "one offset assertion per field")
	for _, a := range all {
		off, ok := offsets[a[1]]
		if assert.True(t, ok, "C field %s has no Go counterpart", a[1]) {
			assert.Equal(t, strconv.Itoa(int(off)), a[2], "offset of %s", a[1])
		}
	}
}

// headerDefines evaluates the header's #define ZP_* lines of the forms it uses: a decimal
// number, (1u << n) and ((1u << n) - 1).
func headerDefines(t *testing.T) map[string]uint64 {
	t.Helper()
	defs := map[string]uint64{}
	line := regexp.MustCompile(`(?m)^#define (ZP_\w+)\s+(.+?)\s*(?:/\*.*)?$`)
	shift := regexp.MustCompile(`^\(1u << (\d+)\)$`)
	mask := regexp.MustCompile(`^\(\(1u << (\d+)\) - 1\)$`)
	for _, m := range line.FindAllStringSubmatch(readHeader(t), -1) {
		name, expr := m[1], m[2]
		if n, err := strconv.ParseUint(expr, 10, 64); err == nil {
			defs[name] = n
		} else if s := shift.FindStringSubmatch(expr); s != nil {
			n, _ := strconv.Atoi(s[1])
			defs[name] = 1 << n
		} else if s := mask.FindStringSubmatch(expr); s != nil {
			n, _ := strconv.Atoi(s[1])
			defs[name] = 1<<n - 1
		}
	}
	return defs
}

// specConstants type-checks spec.go on its own (it imports nothing) and returns its constants
// whose comment names a C counterpart ("// ZP_NAME..."): C name -> Go name and value.
func specConstants(t *testing.T) map[string]struct {
	goName string
	value  uint64
} {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "spec.go", nil, parser.ParseComments)
	require.NoError(t, err)
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	_, err = (&types.Config{}).Check("offheap", fset, []*ast.File{f}, info)
	require.NoError(t, err)
	cName := regexp.MustCompile(`^//\s*(ZP_\w+)`)
	out := map[string]struct {
		goName string
		value  uint64
	}{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if vs.Comment == nil {
				continue
			}
			m := cName.FindStringSubmatch(vs.Comment.List[0].Text)
			if m == nil {
				continue
			}
			require.Len(t, vs.Names, 1, "one constant per C name")
			c := info.Defs[vs.Names[0]].(*types.Const)
			v, ok := constant.Uint64Val(c.Val())
			require.True(t, ok, "%s is a non-negative integer", c.Name())
			_, dup := out[m[1]]
			require.False(t, dup, "%s is named by two constants", m[1])
			out[m[1]] = struct {
				goName string
				value  uint64
			}{c.Name(), v}
		}
	}
	return out
}

// TestFlagsMatchHeader: every #define ZP_* of the header is a constant of spec.go (named in
// its comment) of the same value, and every constant that names one has it. A flag, a result
// bit or the ABI version is declared in those two files only; this is what keeps them one.
func TestFlagsMatchHeader(t *testing.T) {
	defs := headerDefines(t)
	consts := specConstants(t)
	// Spot checks that the reading itself works.
	require.Equal(t, "specNoDump", consts["ZP_NODUMP"].goName)
	require.Equal(t, uint64(specAllFlags), consts["ZP_ALL_FLAGS"].value)
	require.Equal(t, uint64(abiVersion), consts["ZP_ABI_VERSION"].value)
	for cname, c := range consts {
		got, ok := defs[cname]
		if assert.True(t, ok, "%s (%s in spec.go) is defined in the header", cname, c.goName) {
			assert.Equal(t, c.value, got, "%s = %s", cname, c.goName)
		}
	}
	for name := range defs {
		if _, known := consts[name]; !known && name != "ZP_STATIC_ASSERT" {
			t.Errorf("%s in the header has no constant in spec.go that names it", name)
		}
	}
	// Every flag is in the set of all flags, and no two share a bit.
	var seen uint64
	for cname, c := range consts {
		if strings.HasPrefix(c.goName, "spec") && c.goName != "specAllFlags" {
			assert.Equal(t, 1, bits.OnesCount64(c.value), "%s is one bit", cname)
			assert.Zero(t, seen&c.value, "%s shares a bit", cname)
			assert.Equal(t, c.value, c.value&specAllFlags, "%s is in ZP_ALL_FLAGS", cname)
			seen |= c.value
		}
	}
	assert.Equal(t, uint64(specAllFlags), seen, "ZP_ALL_FLAGS is every flag")
}
