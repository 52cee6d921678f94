// Package rawcodec is a gRPC codec of raw bytes, so that a service can be defined by hand
// without generated code: for tests and benchmarks of buffer pools. A client sends a *[]byte
// and receives into a *[]byte it reuses; a server keeps a received message in the buffers
// gRPC read it into (a *Payload, no copy) and answers with a Payload built on a buffer of its
// pool, which gRPC puts back once the answer is written.
package rawcodec

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/grpc/mem"
)

// Name is the codec's name, its content subtype (grpc.CallContentSubtype) once registered
// with encoding.RegisterCodecV2.
const Name = "zeropool-raw"

// Payload is a message held in gRPC's buffers. Its holder frees Data when done with it.
type Payload struct{ Data mem.BufferSlice }

// Codec marshals *[]byte and *Payload.
type Codec struct{}

// Name returns Name.
func (Codec) Name() string { return Name }

// Marshal returns the message's bytes without a copy: a *[]byte as one buffer of gRPC's own
// (never put back), a *Payload's buffers as they are (gRPC frees them once written).
func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	switch m := v.(type) {
	case *[]byte:
		return mem.BufferSlice{mem.SliceBuffer(*m)}, nil
	case *Payload:
		return m.Data, nil
	}
	return nil, fmt.Errorf("rawcodec: cannot marshal %T", v)
}

// Unmarshal copies the message into a *[]byte (grown when too small), or keeps it in gRPC's
// buffers for a *Payload, taking a reference that the Payload's holder frees.
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	switch m := v.(type) {
	case *[]byte:
		n := data.Len()
		if cap(*m) < n {
			*m = make([]byte, n)
		}
		*m = (*m)[:n]
		data.CopyTo(*m)
		return nil
	case *Payload:
		data.Ref() // gRPC frees data when Unmarshal returns
		m.Data = data
		return nil
	}
	return fmt.Errorf("rawcodec: cannot unmarshal into %T", v)
}

// Echo is a handler for tests: it answers in with its bytes, the first 8 replaced by in's
// length (little-endian), in a buffer of bp, so that a client can check both. It frees in.
func Echo(bp mem.BufferPool, in *Payload) (*Payload, error) {
	defer in.Data.Free()
	n := in.Data.Len()
	if n < 8 {
		return nil, fmt.Errorf("echo: %d bytes, want at least 8", n)
	}
	out := bp.Get(n)
	in.Data.CopyTo(*out)
	binary.LittleEndian.PutUint64(*out, uint64(n))
	return &Payload{Data: mem.BufferSlice{mem.NewBuffer(out, bp)}}, nil
}
