package rawcodec_test

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/mem"

	"github.com/zeropool-go/zeropool/contrib/grpcpool/rawcodec"
)

func TestRoundTrips(t *testing.T) {
	var c rawcodec.Codec
	assert.Equal(t, rawcodec.Name, c.Name())
	msg := []byte("0123456789abcdef")
	data, err := c.Marshal(&msg)
	require.NoError(t, err)
	assert.Equal(t, msg, data.Materialize(), "a *[]byte is sent as it is")

	got := make([]byte, 0, 4) // too small: grown
	require.NoError(t, c.Unmarshal(data, &got))
	assert.Equal(t, msg, got)

	var p rawcodec.Payload
	require.NoError(t, c.Unmarshal(data, &p))
	assert.Equal(t, msg, p.Data.Materialize(), "a Payload keeps gRPC's buffers")
	again, err := c.Marshal(&p)
	require.NoError(t, err)
	assert.Equal(t, len(msg), again.Len())

	_, err = c.Marshal("no")
	assert.Error(t, err)
	assert.Error(t, c.Unmarshal(data, new(int)))
}

func TestEcho(t *testing.T) {
	pool := mem.NewTieredBufferPool(64)
	req := []byte("........the rest")
	out, err := rawcodec.Echo(pool, &rawcodec.Payload{Data: mem.BufferSlice{mem.SliceBuffer(req)}})
	require.NoError(t, err)
	b := out.Data.Materialize()
	assert.Equal(t, uint64(len(req)), binary.LittleEndian.Uint64(b), "the first 8 bytes are the length")
	assert.Equal(t, req[8:], b[8:])
	out.Data.Free()

	_, err = rawcodec.Echo(pool, &rawcodec.Payload{Data: mem.BufferSlice{mem.SliceBuffer([]byte("short"))}})
	assert.Error(t, err, "fewer than 8 bytes")
}
