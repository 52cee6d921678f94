package uring

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func newRing(t *testing.T, entries uint32) *Ring {
	t.Helper()
	if err := Unavailable(); err != nil {
		t.Skip(err)
	}
	r, err := New(entries)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close()) })
	return r
}

func TestNop(t *testing.T) {
	r := newRing(t, 4)
	assert.GreaterOrEqual(t, r.Entries(), 4)
	cqes, err := r.Run(SQE{Op: OpNop, UserData: 7}, SQE{Op: OpNop, UserData: 8})
	require.NoError(t, err)
	require.Len(t, cqes, 2)
	assert.Equal(t, uint64(7), cqes[0].UserData)
	assert.Equal(t, uint64(8), cqes[1].UserData)
	for _, c := range cqes {
		assert.Zero(t, c.Res)
		assert.NoError(t, c.Err())
	}
}

// WRITE then READ move the bytes, checked against what the file holds; more entries than the
// ring has slots go in rounds.
func TestWriteRead(t *testing.T) {
	r := newRing(t, 4)
	path := filepath.Join(t.TempDir(), "data")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	require.NoError(t, err)
	defer f.Close()
	const chunk, n = 4096, 10
	var writes []SQE
	want := make([]byte, chunk*n)
	for i := range want {
		want[i] = byte(i*31 + i>>12)
	}
	for i := range n {
		writes = append(writes, SQE{Op: OpWrite, FD: int(f.Fd()), Off: uint64(i * chunk), Buf: want[i*chunk : (i+1)*chunk]})
	}
	cqes, err := r.Run(writes...)
	require.NoError(t, err)
	for _, c := range cqes {
		require.Equal(t, int32(chunk), c.Res, "%v", c.Err())
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got), "the file holds what WRITE wrote")

	back := make([]byte, len(want))
	var reads []SQE
	for i := range n {
		reads = append(reads, SQE{Op: OpRead, FD: int(f.Fd()), Off: uint64(i * chunk), Buf: back[i*chunk : (i+1)*chunk]})
	}
	cqes, err = r.Run(reads...)
	require.NoError(t, err)
	for _, c := range cqes {
		require.Equal(t, int32(chunk), c.Res, "%v", c.Err())
	}
	assert.True(t, bytes.Equal(want, back), "READ read what the file holds")
}

// A failing entry reports its errno in its completion and does not stop the others.
func TestErrorsInCompletions(t *testing.T) {
	r := newRing(t, 4)
	buf := make([]byte, 16)
	cqes, err := r.Run(
		SQE{Op: OpRead, FD: -1, Buf: buf},
		SQE{Op: OpReadFixed, FD: 0, Buf: buf, BufIndex: 3}, // no buffers registered
		SQE{Op: OpNop},
	)
	require.NoError(t, err)
	assert.ErrorIs(t, cqes[0].Err(), unix.EBADF)
	assert.Error(t, cqes[1].Err(), "READ_FIXED without registered buffers fails")
	assert.NoError(t, cqes[2].Err())
}

func TestSubmitBeyondTheRing(t *testing.T) {
	r := newRing(t, 2)
	nops := make([]SQE, r.Entries()+1)
	assert.Error(t, r.Submit(nops...), "more entries than slots at once")
	require.NoError(t, r.Submit(nops[:1]...))
	_, err := r.Wait(2)
	assert.Error(t, err, "waiting for more completions than entries in flight")
	cqes, err := r.Wait(1)
	require.NoError(t, err)
	assert.Len(t, cqes, 1)
}

func TestUnavailableHere(t *testing.T) {
	// On this project's machines io_uring works; where it does not, the reason must say why.
	if err := Unavailable(); err != nil {
		assert.Contains(t, err.Error(), "io_uring")
		t.Skip(err)
	}
	assert.NoError(t, Unavailable(), "a second call gives the same answer")
}

func TestCloseTwice(t *testing.T) {
	if err := Unavailable(); err != nil {
		t.Skip(err)
	}
	r, err := New(2)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	assert.NoError(t, r.Close(), "a second Close does nothing")
	_, err = New(0)
	assert.ErrorIs(t, err, unix.EINVAL, "a ring of 0 entries")
}
