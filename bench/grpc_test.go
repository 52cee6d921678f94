package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/zeropool-go/zeropool/contrib/grpcpool"
	"github.com/zeropool-go/zeropool/contrib/grpcpool/rawcodec"
	wl "github.com/zeropool-go/zeropool/internal/workloads"
	"github.com/zeropool-go/zeropool/pool"
)

// gRPC: one unary RPC on loopback that carries a 64 MiB message each way, between a client
// and a server of the same process, both given the same kind of buffer pool:
//
//   - impl=grpc-default: grpc's own (mem.DefaultBufferPool, sync.Pools on the Go heap);
//   - impl=zeropool: grpcpool.New over a pool.BufferPool (experimental.BufferPool on the server,
//     experimental.WithBufferPool on the client).
//
// gRPC takes a buffer from that pool for every 16 KiB DATA frame it receives (4096 per 64 MiB
// message) and frees them once the message is decoded. Two codecs:
//
//   - codec=raw: the message is bytes; the server keeps the request in gRPC's buffers (no copy)
//     and answers from a buffer of its pool that gRPC puts back once sent; the client decodes
//     into a slice it reuses. What is left on the heap is what the pool costs.
//   - codec=proto: wrapperspb.BytesValue through grpc's proto codec, as most services are
//     written: proto.Unmarshal copies each message into a fresh heap slice, and the codec's own
//     buffers come from mem.DefaultBufferPool whatever the pool (only the frames change).
//
// Metrics: ns/op and MB/s (both directions: 128 MiB per op), B/op and allocs/op of the whole
// process (client and server), and GCs/op, collections per RPC.

const grpcSize = 64 * mib

const (
	implGRPCDefault = "grpc-default"
	echoRawMethod   = "/zeropool.bench.Echo/Raw"
	echoProtoMethod = "/zeropool.bench.Echo/Proto"
	grpcMaxMsg      = 128 * mib
)

func init() { encoding.RegisterCodecV2(rawcodec.Codec{}) }

// echoServer answers each request with its bytes, the first 8 replaced by the request's
// length: the client checks both.
type echoServer struct{ bp mem.BufferPool }

func (s *echoServer) raw(in *rawcodec.Payload) (*rawcodec.Payload, error) {
	return rawcodec.Echo(s.bp, in)
}

func (s *echoServer) proto(in *wrapperspb.BytesValue) (*wrapperspb.BytesValue, error) {
	if len(in.Value) < 8 {
		return nil, fmt.Errorf("echo: %d bytes, want at least 8", len(in.Value))
	}
	binary.LittleEndian.PutUint64(in.Value, uint64(len(in.Value)))
	return in, nil
}

// echoDesc is the service, defined by hand: no generated code.
var echoDesc = grpc.ServiceDesc{
	ServiceName: "zeropool.bench.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Raw", Handler: func(srv any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(rawcodec.Payload)
			if err := dec(in); err != nil {
				return nil, err
			}
			return srv.(*echoServer).raw(in)
		}},
		{MethodName: "Proto", Handler: func(srv any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.BytesValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			return srv.(*echoServer).proto(in)
		}},
	},
}

// echoConn is a client connection to an echo server on loopback, both with one buffer pool.
type echoConn struct {
	conn *grpc.ClientConn
	stop func() error
}

// startEcho serves echoDesc on 127.0.0.1 with bp (nil: grpc's default pool) on both ends.
func startEcho(bp mem.BufferPool) (*echoConn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sopts := []grpc.ServerOption{grpc.MaxRecvMsgSize(grpcMaxMsg), grpc.MaxSendMsgSize(grpcMaxMsg)}
	dopts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(grpcMaxMsg), grpc.MaxCallSendMsgSize(grpcMaxMsg)),
	}
	handlerPool := mem.DefaultBufferPool()
	if bp != nil {
		sopts = append(sopts, experimental.BufferPool(bp))
		dopts = append(dopts, experimental.WithBufferPool(bp))
		handlerPool = bp
	}
	srv := grpc.NewServer(sopts...)
	srv.RegisterService(&echoDesc, &echoServer{bp: handlerPool})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), dopts...)
	if err != nil {
		srv.Stop()
		return nil, err
	}
	return &echoConn{conn: conn, stop: func() error {
		err := conn.Close()
		srv.Stop()
		if serr := <-served; err == nil {
			err = serr
		}
		return err
	}}, nil
}

// echoClient makes one RPC of a codec and checks the answer.
type echoClient interface {
	call(ctx context.Context, c *grpc.ClientConn) error
}

// rawClient sends req and receives into resp, reused from one call to the next.
type rawClient struct{ req, resp []byte }

func (r *rawClient) call(ctx context.Context, c *grpc.ClientConn) error {
	if err := c.Invoke(ctx, echoRawMethod, &r.req, &r.resp, grpc.CallContentSubtype(rawcodec.Name)); err != nil {
		return err
	}
	return checkEcho(r.req, r.resp)
}

// protoClient sends a BytesValue and receives a new one each call, as generated code does.
type protoClient struct{ req *wrapperspb.BytesValue }

func (p *protoClient) call(ctx context.Context, c *grpc.ClientConn) error {
	resp := new(wrapperspb.BytesValue)
	if err := c.Invoke(ctx, echoProtoMethod, p.req, resp); err != nil {
		return err
	}
	return checkEcho(p.req.Value, resp.Value)
}

// checkEcho checks the server's mark and the bytes after it (the first and last 4 KiB: a full
// compare would cost as much as the RPC; the tests compare everything).
func checkEcho(req, resp []byte) error {
	if len(resp) != len(req) {
		return fmt.Errorf("echo: %d bytes back for %d", len(resp), len(req))
	}
	if got := binary.LittleEndian.Uint64(resp); got != uint64(len(req)) {
		return fmt.Errorf("echo: mark %d, want %d", got, len(req))
	}
	for _, r := range [][2]int{{8, min(4*kib, len(req))}, {max(8, len(req)-4*kib), len(req)}} {
		if string(req[r[0]:r[1]]) != string(resp[r[0]:r[1]]) {
			return fmt.Errorf("echo: bytes %d to %d differ", r[0], r[1])
		}
	}
	return nil
}

func newEchoClient(codec string, size int) echoClient {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if codec == "proto" {
		return &protoClient{req: &wrapperspb.BytesValue{Value: data}}
	}
	return &rawClient{req: data}
}

// grpcImpls are the buffer pools compared: grpc's default, and grpcpool over a fresh pool.
var grpcImpls = []struct {
	name     string
	zeropool bool
}{{implGRPCDefault, false}, {implZeropool, true}}

// startImpl starts an echo server and client with the impl's buffer pool; p is the pool
// behind grpcpool (nil for grpc's default), closed by the caller after ec.stop.
func startImpl(zeropool bool) (ec *echoConn, p *pool.BufferPool, err error) {
	var bp mem.BufferPool
	if zeropool {
		p = pool.New()
		bp = grpcpool.New(p)
	}
	if ec, err = startEcho(bp); err != nil && p != nil {
		_ = p.Close()
	}
	return ec, p, err
}

// closePool closes the pool of an impl, if it has one.
func closePool(p *pool.BufferPool) error {
	if p == nil {
		return nil
	}
	return p.Close()
}

func BenchmarkGRPC(b *testing.B) {
	for _, codec := range []string{"raw", "proto"} {
		for _, im := range grpcImpls {
			b.Run(fmt.Sprintf("size=%s/codec=%s/impl=%s", wl.SizeName(grpcSize), codec, im.name), func(b *testing.B) {
				ec, p, err := startImpl(im.zeropool)
				if err != nil {
					b.Fatal(err)
				}
				defer func() { must(b, closePool(p)) }()
				defer func() { must(b, ec.stop()) }()
				client := newEchoClient(codec, grpcSize)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				defer cancel()
				must(b, client.call(ctx, ec.conn)) // warm: connection, windows, pools
				settle()
				b.Cleanup(settle)
				b.SetBytes(2 * grpcSize)
				b.ReportAllocs()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for b.Loop() {
					if err := client.call(ctx, ec.conn); err != nil {
						b.Fatal(err)
					}
				}
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.NumGC-before.NumGC)/float64(b.N), "GCs/op")
			})
		}
	}
}

// The benchmark's service works with every impl and codec: the echo comes back whole (all of
// it compared here), and grpcpool leaves no buffer out once client and server are gone. A
// sanity check with 1 MiB messages, no timing.
func TestGRPCEcho(t *testing.T) {
	for _, codec := range []string{"raw", "proto"} {
		for _, im := range grpcImpls {
			t.Run(codec+"/"+im.name, func(t *testing.T) {
				ec, p, err := startImpl(im.zeropool)
				if err != nil {
					t.Fatal(err)
				}
				client := newEchoClient(codec, 1*mib)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				for range 2 {
					if err := client.call(ctx, ec.conn); err != nil {
						t.Fatal(err)
					}
				}
				if c, ok := client.(*rawClient); ok && string(c.req[8:]) != string(c.resp[8:]) {
					t.Error("the raw echo differs from the request")
				}
				if err := ec.stop(); err != nil {
					t.Error(err)
				}
				if p != nil {
					if s := p.Stats(); s.InUse != 0 || s.Hits == 0 || s.Rejected != 0 {
						t.Errorf("grpcpool's pool after the RPCs: %v", s)
					}
				}
				if err := closePool(p); err != nil {
					t.Error(err)
				}
			})
		}
	}
}
