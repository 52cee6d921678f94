package grpcpool_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"

	"github.com/zeropool-go/zeropool/contrib/grpcpool"
	"github.com/zeropool-go/zeropool/contrib/grpcpool/rawcodec"
	"github.com/zeropool-go/zeropool/pool"
)

// A service defined by hand, with package rawcodec's codec of raw bytes, so that no generated
// code is needed.

const echoMethod = "/zeropool.test.Echo/Echo"

// echoServer answers each request with its bytes, the first 8 replaced by the request's
// length, from a buffer of bp.
type echoServer struct{ bp mem.BufferPool }

func (s *echoServer) echo(in *rawcodec.Payload) (*rawcodec.Payload, error) {
	return rawcodec.Echo(s.bp, in)
}

var echoDesc = grpc.ServiceDesc{
	ServiceName: "zeropool.test.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(rawcodec.Payload)
			if err := dec(in); err != nil {
				return nil, err
			}
			return srv.(*echoServer).echo(in)
		},
	}},
}

const maxMsg = 128 << 20

// startEcho serves echoDesc on a loopback port with the buffer pool bp (nil: grpc's own) and
// returns a client connection using cbp (nil: grpc's own), and a function that closes the
// connection and stops the server (called at the end of the test if the test does not).
func startEcho(t *testing.T, bp, cbp mem.BufferPool) (*grpc.ClientConn, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sopts := []grpc.ServerOption{
		grpc.ForceServerCodecV2(rawcodec.Codec{}), grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg),
	}
	srvPool := bp
	if bp != nil {
		sopts = append(sopts, experimental.BufferPool(bp))
	} else {
		srvPool = mem.DefaultBufferPool()
	}
	srv := grpc.NewServer(sopts...)
	srv.RegisterService(&echoDesc, &echoServer{bp: srvPool})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	dopts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawcodec.Codec{}),
			grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)),
	}
	if cbp != nil {
		dopts = append(dopts, experimental.WithBufferPool(cbp))
	}
	conn, err := grpc.NewClient(ln.Addr().String(), dopts...)
	require.NoError(t, err)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			assert.NoError(t, conn.Close())
			srv.Stop()
			assert.NoError(t, <-served)
		})
	}
	t.Cleanup(stop)
	return conn, stop
}

// A real gRPC service on loopback exchanges 64 MiB messages both ways with grpcpool on both
// sides: the data arrive intact, the pools reuse their buffers from one RPC to the next, and
// once the client and server are gone no buffer is left out.
func TestLoopbackService64MiB(t *testing.T) {
	const size, rpcs = 64 << 20, 3
	serverPool := newPool(t, pool.Config{})
	clientPool := newPool(t, pool.Config{})
	conn, stop := startEcho(t, grpcpool.New(serverPool), grpcpool.New(clientPool))

	req := make([]byte, size)
	rng := rand.New(rand.NewPCG(7, 9))
	for i := 0; i < len(req); i += 8 {
		binary.LittleEndian.PutUint64(req[i:], rng.Uint64())
	}
	var resp []byte
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range rpcs {
		req[100] = byte(i) // each request differs
		require.NoError(t, conn.Invoke(ctx, echoMethod, &req, &resp), "RPC %d", i)
		require.Len(t, resp, size)
		assert.Equal(t, uint64(size), binary.LittleEndian.Uint64(resp), "RPC %d: the server's mark", i)
		assert.True(t, bytes.Equal(req[8:], resp[8:]), "RPC %d: the payload came back changed", i)
	}

	// Tear down before reading the final counts: every buffer gRPC held is freed by then.
	stop()
	for name, p := range map[string]*pool.BufferPool{"server": serverPool, "client": clientPool} {
		s := p.Stats()
		t.Logf("%s pool: %v", name, s)
		assert.GreaterOrEqual(t, s.Gets, uint64(rpcs*size/(16<<10)), "%s: one Get per 16 KiB DATA frame at least", name)
		assert.Positive(t, s.Hits, "%s: buffers were reused", name)
		assert.Greater(t, s.HitRate(), 0.5, "%s: most Gets found a buffer used before", name)
		assert.Zero(t, s.Rejected, "%s: refused Puts", name)
		assert.Zero(t, s.InUse, "%s: buffers left out after shutdown", name)
	}
}
